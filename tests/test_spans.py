import pytest

from qa.spans import first_count, names, snap

TEXT = ('The U.S. paid $4.2 million in March 2027, said the minister’s aide (the "boss"), and '
        "12 percent of 1,200 voters agreed on May 20, 2027.")


def span(part: str, cut_start: int = 0, cut_end: int = 0) -> tuple[int, int]:
    """Offsets of ``part`` in TEXT, optionally shrunk so they fall inside a word."""
    a = TEXT.index(part)
    return a + cut_start, a + len(part) - cut_end


@pytest.mark.parametrize("part,cuts,expected", [
    ("U.S.", (0, 2), "U.S."),  # an abbreviation stays whole
    ("$4.2", (1, 0), "$4.2 million"),  # the sign is kept and the scale word added
    ("March", (0, 2), "March 2027"),  # a month keeps its year
    ("May 20", (0, 0), "May 20, 2027"),  # ... and its day and year
    ("aide (the", (0, 0), "aide (the"),
    ("minister’s", (0, 0), "minister"),  # a possessive ending is dropped
    ("12", (0, 0), "12 percent"),
    ("1,200", (0, 1), "1,200"),
    ('"boss"),', (0, 0), "boss"),  # surrounding quotes and punctuation go
])
def test_snap_keeps_whole_tokens(part, cuts, expected):
    a, b = snap(TEXT, *span(part, *cuts))
    assert TEXT[a:b] == expected


def test_snap_of_punctuation_only_is_empty():
    a = TEXT.index("(")
    start, end = snap(TEXT, a, a + 1)
    assert TEXT[start - 1:start + 4] != "" and (start, end) != (a, a + 1)
    assert snap(". , ;", 0, 1) == (0, 0)


def test_a_span_never_crosses_a_line_break():
    text = "Bridge Vote Delayed\n\nThe council met on Monday."
    a, b = snap(text, text.index("Vote"), len(text) - 1)
    assert text[a:b] == "The council met on Monday"


def test_an_em_dash_parts_words_and_an_en_dash_range_stays_whole():
    text = "It was made by Eon Productions—with a partner—in 1990–2000."
    for part, expected in (("Eon Productions", "Eon Productions"), ("partner", "partner"), ("1990", "1990–2000")):
        a = text.index(part)
        start, end = snap(text, a, a + len(part))
        assert text[start:end] == expected


def test_names_skip_the_sentence_start():
    text = "Yesterday Ana María López met the mayor of Port Town. She left."
    found = [text[a:b] for a, b in names(text)]
    assert found == ["Ana María López", "Port Town"]


@pytest.mark.parametrize("text,expected", [
    ("9 of its 52", "9"),  # issue 30: "how many routes will be cut" answered "9 of its 52"
    ("9 of its 52 routes", "9"),
    ("nine of the 47 soldiers", "nine"),
    ("3 out of 10", "3"),
    ("two of these five", "two"),
    ("forty-two of all the 100", "forty-two"),
    ("1.2 million of the 3 million voters", "1.2 million"),
    ("9 of 52", "9"),
    ("9 of its routes", "9 of its routes"),  # no whole counted: left as it is
    ("47", "47"),
    ("Nine women", "Nine women"),
    ("the 9 of its 52", "the 9 of its 52"),  # only a span that opens with the count
    ("", ""),
])
def test_first_count_keeps_the_part_of_a_whole(text, expected):
    a, b = first_count(text, 0, len(text))
    assert text[a:b] == expected and a == 0


def test_first_count_reads_only_inside_the_span():
    text = "The agency will cut 9 of its 52 routes."
    a = text.index("9")
    assert first_count(text, a, a + 1) == (a, a + 1)  # "9" alone stays "9"
    b = text.index("52") + 2
    assert text[slice(*first_count(text, a, b))] == "9"
