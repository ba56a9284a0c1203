"""Span edges: a short answer never starts or stops inside a token, and keeps what a value needs.

The reader predicts word-piece spans; these rules move its edges to whole words ("U.S." stays
whole, "$4.2" keeps its sign), strip punctuation that is not part of the answer, and extend a
number by its scale word or unit ("$4.2 million", "12 percent") and a month by its day or year
("March 2027", "March 20, 2027"). They are rules of English text, not of any document.
"""
from __future__ import annotations

import re

MONTHS = frozenset("january february march april may june july august september october november december "
                   "jan feb mar apr jun jul aug sep sept oct nov dec".split())
SCALE_WORDS = frozenset("hundred thousand million billion trillion percent per cent %".split())
_OPENERS = "\"“‘'([{«"
_CLOSERS = "\"”’')]}»"
_TRAILING = ",.;:!?" + _CLOSERS
_ABBREVIATION = re.compile(r"(?:\b[^\W\d_]\.){2,}$|\b[A-Z]\.$|\b(?:Jr|Sr|Inc|Co|Ltd|St|Dr|Mr|Mrs|Ms)\.$")
_POSSESSIVE = re.compile(r"['’]s$")
_YEAR_OR_DAY = re.compile(r"\s+(?:\d{1,2}(?:st|nd|rd|th)?(?:,\s+\d{4})?|\d{4})\b")
_SCALE_AFTER = re.compile(r"\s+(hundred|thousand|million|billion|trillion|percent|per cent)\b", re.IGNORECASE)
_CAPITALISED = re.compile(r"[A-Z\u00C0-\u00DE][\w’'\u00C0-\u024F-]*(?:\.(?=\S))?(?:[\w’'-]*\.?)?")
_PARTICLES = frozenset("de del da dos van von la le al bin of".split())


def _apart(ch: str) -> bool:
    """Whitespace, or an em dash, which sets words apart without spaces ("Productions—with")."""
    return ch.isspace() or ch in "—―"


def _whole_words(text: str, a: int, b: int) -> tuple[int, int]:
    while a > 0 and not _apart(text[a - 1]):
        a -= 1
    while b < len(text) and not _apart(text[b]):
        b += 1
    return a, b


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and (text[a] in _OPENERS or text[a] in ",;:"):
        a += 1
    while b > a:
        piece = text[a:b]
        if piece[-1] == "." and _ABBREVIATION.search(piece):
            break
        if piece[-1] in _TRAILING and not (piece[-1] in _CLOSERS and _balanced_closer(piece)):
            b -= 1
            continue
        m = _POSSESSIVE.search(piece)
        if m and b - a > 2:
            b -= 2
            continue
        break
    return a, b


def _balanced_closer(piece: str) -> bool:
    """A closing bracket or quote that closes one opened inside the span stays."""
    pairs = {")": "(", "]": "[", "}": "{", "”": "“", "»": "«"}
    opener = pairs.get(piece[-1])
    return bool(opener) and piece.count(opener) >= piece.count(piece[-1])


def _extend(text: str, a: int, b: int) -> tuple[int, int]:
    last = re.findall(r"[^\W_]+|%", text[a:b])
    if not last:
        return a, b
    tail = last[-1].lower()
    if tail in MONTHS:
        m = _YEAR_OR_DAY.match(text, b)
        if m:
            b = m.end()
    elif re.fullmatch(r"\d{1,2}(?:st|nd|rd|th)?", tail) and len(last) > 1 and last[-2].lower() in MONTHS:
        m = re.compile(r",?\s+\d{4}\b").match(text, b)
        if m:
            b = m.end()
    elif re.fullmatch(r"\d[\d,.]*|\d[\d,.]*[a-z]*", tail) or tail in ("hundred", "thousand", "dozen"):
        m = _SCALE_AFTER.match(text, b)
        if m:
            b = m.end()
    return a, b


def _one_line(text: str, a: int, b: int) -> tuple[int, int]:
    """A short answer never runs across a line break (a headline into the body, one paragraph into
    the next): keep its longest line."""
    if "\n" not in text[a:b]:
        return a, b
    pieces = [(m.start() + a, m.end() + a) for m in re.finditer(r"[^\n]+", text[a:b])]
    return max(pieces, key=lambda p: len(text[p[0]:p[1]].strip()), default=(a, a))


def snap(text: str, a: int, b: int) -> tuple[int, int]:
    """The span ``[a, b)`` of ``text`` moved to whole words and trimmed; ``(a, a)`` when nothing is left."""
    a, b = _one_line(text, a, b)
    if a >= b:
        return a, a
    a, b = _whole_words(text, a, b)
    a, b = _trim(text, a, b)
    if a >= b:
        return a, a
    return _extend(text, a, b)


_COUNT_WORDS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
                "dozen hundred").split()
_COUNT = (r"(?:\d[\d,]*(?:\.\d+)?|(?:" + "|".join(_COUNT_WORDS) + r")(?:[- ](?:" + "|".join(_COUNT_WORDS[:9])
          + r"))?)(?:\s+(?:hundred|thousand|million|billion|trillion))?")
# "9 of its 52", "four of the 31", "3 out of 10", "two of these five": a part, then the whole it is
# counted from. The words between are English determiners, not any document's words.
_PART_OF_WHOLE = re.compile(rf"({_COUNT})\s+(?:out\s+)?of\s+(?:(?:its|the|their|his|her|our|your|my|these|those|"
                            rf"all|all\s+the)\s+)?{_COUNT}\b", re.IGNORECASE)


def first_count(text: str, a: int, b: int) -> tuple[int, int]:
    """For a question that asks how many: a span ``[a, b)`` that counts a part of a whole ("9 of
    its 52 routes") is cut to the part's count ("9"), the number asked for; any other span is
    returned as it is."""
    m = _PART_OF_WHOLE.match(text, a, b)
    return (a, m.end(1)) if m else (a, b)


def opens_sentence(text: str, at: int) -> bool:
    """Whether the word at ``at`` opens a sentence (or a quotation or a clause after a colon), so
    that its capital says nothing about it being a name."""
    before = text[:at].rstrip()
    return not before or before.endswith((".", "?", "!", "“", "\"", ":"))


def names(text: str) -> list[tuple[int, int]]:
    """Runs of capitalised words ("Ana María Núñez", "Port of Spain") as offsets, less a word that
    is capitalised only because it starts a sentence; a generic stand-in for named entities."""
    out: list[tuple[int, int]] = []
    run: list[tuple[int, int]] = []

    def close() -> None:
        if run:
            x, y = _trim(text, run[0][0], run[-1][1])
            if y - x >= 2:
                out.append((x, y))
            run.clear()

    for m in _CAPITALISED.finditer(text):
        x, y = m.span()
        starts_sentence = opens_sentence(text, x)
        gap = text[run[-1][1]:x] if run else ""
        joined = run and (gap == " " or (gap.strip() in _PARTICLES and gap.count(" ") == 2)) \
            and not (text[run[-1][1] - 1] == "." and not _ABBREVIATION.search(text[run[-1][0]:run[-1][1]]))
        if not joined:
            close()
            if starts_sentence:
                continue
        run.append((x, y))
    close()
    return out
