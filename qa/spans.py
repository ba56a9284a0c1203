"""Candidate short answers inside a sentence: numbers, dates, names, places, quotes, clauses.

Each finder returns ``(start, end)`` offsets relative to the text it was given, never a copy,
so the short answer is always a verbatim substring of its quote.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from .question import Kind

NUMBER_WORDS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
                "hundred thousand million billion dozen dozens hundreds thousands millions").split()
_NUM_WORD = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_MODIFIER = (r"(?:(?:nearly|almost|about|around|approximately|roughly|some|over|under|at least|at most|"
             r"up to|more than|fewer than|less than|as many as|an estimated|a total of)\s+)?")
NUMBER = re.compile(
    rf"(?i)\b{_MODIFIER}(?:tens of thousands|hundreds of thousands|"
    rf"\d[\d,]*(?:\.\d+)?(?:-year-old|%| percent)?|(?:{_NUM_WORD})(?:[- ](?:{_NUM_WORD}))*)\b")

MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|December|"
          "Jan\\.|Feb\\.|Mar\\.|Apr\\.|Jun\\.|Jul\\.|Aug\\.|Sept?\\.|Oct\\.|Nov\\.|Dec\\.")
WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
DATE = re.compile(
    rf"\b(?:(?:{WEEKDAYS}),?\s+)?(?:{MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\b\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b"
    rf"|\b(?:{WEEKDAYS})\b"
    rf"|\b(?:earlier|later|last|next|this) (?:this |last |next )?(?:week|month|year|weekend)\b"
    rf"|\b(?:{MONTHS.replace(chr(92) + '.', '')})(?:\s+\d{{4}})?\b(?!\s+\d)"
    rf"|\b(?:19|20)\d{{2}}\b"
    rf"|\bthe early hours of (?:{MONTHS})\s+\d{{1,2}}")

# A run of capitalised words, allowing lowercase particles and hyphens inside names.
_CAP = r"[A-Z\u00C0-\u00DE][\w’'\u00C0-\u024F.-]*"
NAME = re.compile(rf"{_CAP}(?:\s+(?:(?:de|del|da|dos|van|von|la|le|al|bin|of the|of)\s+)?{_CAP})*")
TITLES = frozenset("""
president minister director secretary general interim defense defence interior foreign prime chief
deputy vice senator governor mayor dr mr mrs ms prof the a an us u.s. cuban venezuelan american
former acting head leader official officials agency u.s u.s. us
""".split())
ROLE_TITLES = frozenset("""
president minister director secretary general governor mayor senator chief leader commander spokesman
spokeswoman ambassador king queen prime dr mr mrs ms prof
""".split())
CALENDAR = frozenset("""
monday tuesday wednesday thursday friday saturday sunday january february march april may june july
august september october november december jan feb mar apr jun jul aug sep sept oct nov dec
""".split())
ORG_WORDS = frozenset("ministry forces agency embassy press department army government office council "
                      "party bureau service navy union institute news".split())

PLACE_PREP = re.compile(r"(?i)\b(?:in|at|from|to|outside|across from|near|toward|towards|into|inside|"
                        r"on)\s+(?:the\s+)?")
QUOTED = re.compile(r"“([^“”]+)”|\"([^\"]+)\"|‘([^‘’]{3,})’")
REASON = re.compile(r"(?i)\b(?:because(?: of)?|due to|since|in order to|so that|as|to|amid|after|"
                    r"for)\s+[^,;.:”]+")
MANNER = re.compile(r"(?i)\b(?:via|by|with|using|through|in)\s+[^,;.:”]+")
CLAUSE = re.compile(r"[^,;:—–]+")


def _numbers(text: str) -> list[tuple[int, int]]:
    dates = [m.span() for m in DATE.finditer(text)]
    out = []
    for m in NUMBER.finditer(text):
        if any(a <= m.start() < b for a, b in dates):
            continue
        out.append(m.span())
    return out


def _dates(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in DATE.finditer(text)]


def _trim_title(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop leading titles ("Interior Minister Diosdado Cabello" -> "Diosdado Cabello")."""
    parts = list(re.finditer(r"\S+", text[start:end]))
    i = 0
    while i < len(parts) - 1 and (parts[i].group().lower().strip(".,") in TITLES
                                  or parts[i].group().endswith(("’s", "'s"))
                                  or (parts[i].group().isupper() and len(parts[i].group()) <= 5)):
        i += 1
    return start + parts[i].start(), end


def _trim_common(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop capitalised common words and particles at the start ("Members of Cuba" -> "Cuba")."""
    parts = list(re.finditer(r"\S+", text[start:end]))
    i = 0
    while i < len(parts) - 1 and (parts[i].group().lower() in _COMMON_STARTS
                                  or parts[i].group().lower() in ("of", "the", "de", "of the")):
        i += 1
    return start + parts[i].start(), end


def _names(text: str, *, titles: bool = True) -> list[tuple[int, int]]:
    """Capitalised names; with ``titles`` the leading role words are cut ("Minister X" -> "X")."""
    out = []
    for m in NAME.finditer(text):
        a, b = m.span()
        while b > a and text[b - 1] in ".’'-":
            b -= 1
        if text[b - 2:b] in ("’s", "'s"):
            b -= 2
        a, b = _trim_common(text, a, b)
        a, b = _trim_title(text, a, b) if titles else _trim_possessive(text, a, b)
        word = text[a:b]
        if b - a < 2 or word.lower().strip(".") in TITLES or word.lower().strip(".") in CALENDAR:
            continue
        out.append((a, b))
    return out


_COMMON_STARTS = frozenset("""
the a an in on at it this that these those there he she they we i his her their its our after before
when while as among members many some most officials soldiers revising nine cuba's
""".split())


def _people(text: str) -> list[tuple[int, int]]:
    return [(a, b) for a, b in _names(text) if not (set(text[a:b].lower().split()) & ORG_WORDS)
            and not text[a:b].isupper()]


def _trim_possessive(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop a leading possessive ("Venezuela’s Defense Ministry" -> "Defense Ministry")."""
    parts = list(re.finditer(r"\S+", text[start:end]))
    i = 0
    while i < len(parts) - 1 and parts[i].group().endswith(("’s", "'s")):
        i += 1
    return start + parts[i].start(), end


def _orgs(text: str) -> list[tuple[int, int]]:
    # Organisations keep their descriptive words: "Defense Ministry", not "Ministry"; acronyms
    # inside longer names count too ("CIA" in "CIA Director John Ratcliffe").
    names = _names(text, titles=False)
    out = [(a, b) for a, b in names if set(text[a:b].lower().split()) & ORG_WORDS
           or (text[a:b].isupper() and len(text[a:b]) >= 2)]
    for a, b in names:
        out += [(a + m.start(), a + m.end()) for m in re.finditer(r"\b[A-Z]{2,5}\b", text[a:b])
                if text[a:b] != m.group()]
    return out


def _places(text: str) -> list[tuple[int, int]]:
    out = []
    for m in PLACE_PREP.finditer(text):
        rest = text[m.end():]
        name = NAME.match(rest)
        if name:
            out.append((m.end(), m.end() + name.end()))
            continue
        phrase = re.match(r"(?:their|his|her|its|a|an)\s+[a-z]+(?:\s+(?:in|of)\s+" + _CAP + ")?", rest)
        if phrase:
            out.append((m.end(), m.end() + phrase.end()))
    return out


def _quotes(text: str) -> list[tuple[int, int]]:
    out = []
    for m in QUOTED.finditer(text):
        g = next(i for i in (1, 2, 3) if m.group(i) is not None)
        a, b = m.span(g)
        while b > a and text[b - 1] in ",.;: ":
            b -= 1
        out.append((a, b))
    return out


def _clauses(pattern: re.Pattern) -> Callable[[str], list[tuple[int, int]]]:
    def find(text: str) -> list[tuple[int, int]]:
        return [(m.start(), m.end() - (len(m.group()) - len(m.group().rstrip()))) for m in pattern.finditer(text)
                if len(m.group().split()) >= 2]
    return find


def clauses(text: str) -> list[tuple[int, int]]:
    """Comma/semicolon/dash separated clauses, stripped."""
    out = []
    for m in CLAUSE.finditer(text):
        a, b = m.span()
        while a < b and text[a] in " “\"‘(":
            a += 1
        while b > a and text[b - 1] in " .”\"’)?!":
            b -= 1
        if len(text[a:b].split()) >= 2:
            out.append((a, b))
    return out


FINDERS: dict[Kind, Callable[[str], list[tuple[int, int]]]] = {
    Kind.NUMBER: _numbers,
    Kind.DATE: _dates,
    Kind.PERSON: _people,
    Kind.ORGANIZATION: _orgs,
    Kind.PLACE: _places,
    Kind.QUOTE: lambda t: _quotes(t) + clauses(t),
    Kind.REASON: _clauses(REASON),
    Kind.MANNER: _clauses(MANNER),
    Kind.OTHER: clauses,
}


def candidates(kind: Kind, text: str, *, people_only: bool = False) -> list[tuple[int, int]]:
    """Spans of ``text`` that could answer a question of ``kind``, in text order, de-duplicated."""
    found = FINDERS[kind](text)
    if kind is Kind.PERSON and not people_only:
        found += _orgs(text)  # "who" may be answered by an organisation
    seen, out = set(), []
    for a, b in sorted(found):
        while b > a and text[b - 1] in " .,;:!?”’\"')":
            b -= 1
        if (a, b) not in seen and b > a:
            seen.add((a, b))
            out.append((a, b))
    return out
