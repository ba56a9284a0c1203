"""What a question asks for, from its question word alone: the kind of answer (a number, a
person, a date, ...) and its content words. Nothing here is fitted to any documents; the reader
decides what answers, this only labels the answer for follow-ups and value comparison."""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from .index.tokenize import tokenize, words


class Kind(enum.Enum):
    NUMBER = "number"
    PERSON = "person"
    ORGANIZATION = "organization"
    PLACE = "place"
    DATE = "date"
    QUOTE = "quote"
    REASON = "reason"
    MANNER = "manner"
    OTHER = "other"


AUXILIARIES = frozenset("""
is are was were be been being do does did have has had will would can could should may might must
""".split())

_WH = re.compile(r"\b(how many|how much|how old|how long|how|who|whom|whose|when|where|why|which|what)\b")
# English words that name the kind of answer after "what"/"which" ("what year", "in which city").
_KIND_NOUNS = {
    Kind.DATE: "year years date day month century decade time era",
    Kind.NUMBER: "number percentage percent amount total age",
    Kind.PLACE: "place city country town state region location continent",
    Kind.ORGANIZATION: "company companies firm organization organisation agency corporation business party "
                       "team union newspaper network bank airline brand club",
}
_NOUN_KIND = {w: kind for kind, ws in _KIND_NOUNS.items() for w in ws.split()}
_QUESTION_WORDS = frozenset("many much old long kind sort type name".split())


@dataclass(frozen=True)
class Question:
    text: str
    kind: Kind
    wh: str  # the question word(s) found, "" when none
    keywords: tuple[str, ...]  # stemmed content words (the BM25 tokenizer minus question words)

    @property
    def wants_value(self) -> bool:
        return self.kind in (Kind.NUMBER, Kind.PERSON, Kind.ORGANIZATION, Kind.PLACE, Kind.DATE)


def _kind(wh: str, after: list[str]) -> Kind:
    if wh in ("how many", "how much", "how old", "how long"):
        return Kind.NUMBER
    if wh in ("who", "whom", "whose"):
        return Kind.PERSON
    simple = {"when": Kind.DATE, "where": Kind.PLACE, "why": Kind.REASON, "how": Kind.MANNER}
    if wh in simple:
        return simple[wh]
    for w in after[:2]:
        if w in _NOUN_KIND:
            return _NOUN_KIND[w]
    return Kind.OTHER


def analyze(text: str) -> Question:
    tokens = words(text)
    low = " ".join(tokens)
    m = _WH.search(low)
    wh = m.group(1) if m else ""
    after = low[m.end():].split() if m else []
    question_stems = set(tokenize(" ".join(_QUESTION_WORDS)))
    keywords = tuple(t for t in tokenize(text) if t not in question_stems)
    return Question(text=text, kind=_kind(wh, after), wh=wh, keywords=keywords)
