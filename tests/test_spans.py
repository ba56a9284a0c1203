import pytest

from qa.spans import names, snap

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
