"""What a question asks for: its answer type, its focus and its content words. Rules, no model."""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from .tokenize import STOPWORDS, tokenize, words


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

ORG_NOUNS = frozenset("""
agency agencies organization organisation body ministry ministries department military army force forces
institution company group party government newspaper outlet office service bureau embassy union
""".split())
PLACE_NOUNS = frozenset("""
place country countries city cities town capital square plaza street region site area location
venue building residence state states continent island
""".split())
PERSON_NOUNS = frozenset("""
person people man woman leader president minister official head director spokesman spokeswoman
protester photographer name
""".split())
DATE_NOUNS = frozenset("day date month year time week weekday".split())
SAY_VERBS = frozenset("say said says call called describe described phrase phrased word words "
                      "quote quoted tell told".split())

_WH = re.compile(r"\b(how many|how much|how old|how long|how|who|whom|whose|when|where|why|which|what)\b")


@dataclass(frozen=True)
class Question:
    text: str
    kind: Kind
    wh: str  # the question word(s) found, "" when none
    focus: tuple[str, ...]  # stemmed words of what is counted/named ("how many Cuban soldiers")
    head: str  # the surface noun the answer should be ("soldiers", "square", "agency"), "" if none
    keywords: tuple[str, ...]  # stemmed content words (the BM25 tokenizer minus question words)
    role: str = ""  # for "the name of the X": the role the named person must hold

    @property
    def wants_value(self) -> bool:
        return self.kind in (Kind.NUMBER, Kind.PERSON, Kind.ORGANIZATION, Kind.PLACE, Kind.DATE)


IRREGULAR_PAST = frozenset("""
took got made gave went came saw said died lost held left won fell ran met led brought kept told found
began broke fled rose sent spent stood struck thought
""".split())


def _after(tokens: list[str], start: int) -> list[str]:
    """The noun phrase after position ``start``: words up to an auxiliary, preposition or verb."""
    out = []
    for w in tokens[start:start + 4]:
        if w in AUXILIARIES or w in ("of", "in", "at", "on", "from", "to", "by", "for", "with") \
                or w in IRREGULAR_PAST or (w.endswith("ed") and len(w) > 4):
            break
        out.append(w)
    return out


def _classify_noun(noun_words: list[str]) -> Kind | None:
    for w in noun_words:
        if w in ORG_NOUNS:
            return Kind.ORGANIZATION
        if w in PLACE_NOUNS:
            return Kind.PLACE
        if w in DATE_NOUNS:
            return Kind.DATE
        if w in PERSON_NOUNS:
            return Kind.PERSON
    return None


def analyze(text: str) -> Question:
    low = " ".join(words(text))
    tokens = low.split()
    m = _WH.search(low)
    wh = m.group(1) if m else ""
    kind = Kind.OTHER
    focus: list[str] = []
    role = ""
    if wh in ("how many", "how much"):
        kind = Kind.NUMBER
        start = len(low[:m.end()].split())
        focus = _after(tokens, start)
    elif wh in ("how old", "how long") or re.search(r"\b(what|which) (number|figure|total|age|"
                                                    r"percentage|share|round figure)\b", low):
        kind = Kind.NUMBER
    elif wh in ("who", "whom", "whose"):
        kind = Kind.PERSON
    elif wh == "when":
        kind = Kind.DATE
    elif wh == "where":
        kind = Kind.PLACE
    elif wh == "why":
        kind = Kind.REASON
    elif wh in ("which", "what"):
        start = len(low[:m.end()].split())
        noun = _after(tokens, start)
        if noun[:1] == ["kind"] or noun[:1] == ["sort"] or noun[:1] == ["type"]:
            kind = Kind.OTHER
        else:
            kind = _classify_noun(noun[-2:] or noun) or Kind.OTHER
            if kind is Kind.OTHER and re.search(r"\b(reason|cause|purpose)\b", low):
                kind = Kind.REASON
            named = re.search(r"\bname of (?:the |a |an )?(?:[\w’']+['’]s )?((?:[\w-]+ ){0,3}?[\w-]+)"
                              r"(?: (?:who|that|which|of|in|at|to|did|does|is|was)\b|$)", low)
            if kind is Kind.OTHER and named:
                kind = Kind.PERSON
                noun = named.group(1).split()
                role = noun[-1]
        focus = [w for w in noun if w not in STOPWORDS]
    elif wh == "how":
        kind = Kind.MANNER
    if kind in (Kind.OTHER, Kind.MANNER) and (set(tokens) & SAY_VERBS or "according to" in low):
        kind = Kind.QUOTE
    if wh in ("what", "which") and kind is Kind.OTHER and re.search(
            r"\b(in|on|at|from) (which|what)\b", low):
        noun = _after(tokens, tokens.index("which" if "which" in tokens else "what") + 1)
        kind = _classify_noun(noun) or Kind.OTHER
    question_words = {"many", "much", "old", "long", "kind", "sort", "type", "name", "exactly"}
    question_stems = set(tokenize(" ".join(question_words)))
    keywords = [t for t in tokenize(text) if t not in question_stems]
    focus_words = [w for w in focus if w not in question_words and w not in STOPWORDS]
    focus_stems = tuple(t for t in tokenize(" ".join(focus_words)))
    if kind is Kind.NUMBER and not focus_words:
        # "how many of them were women?" / "how many were Cuban?": the word after the verb
        m2 = re.search(r"\bhow many\b.*?\b(?:were|was|are|is)\s+(\w+)", low)
        if m2 and not m2.group(1).endswith("ed"):
            focus_words = [m2.group(1)]
            focus_stems = tuple(tokenize(m2.group(1)))
    return Question(text=text, kind=kind, wh=wh, focus=focus_stems, head=focus_words[-1] if focus_words else "",
                    keywords=tuple(keywords), role=role)
