"""Whether a span has the shape of the answer its question asks for: a number for "how many",
a date for "when", a name for "who" or "which company", and for "how many X" the count of X rather
than another number of the sentence. Plain English grammar, nothing fitted to any documents; the
answerability model weighs this evidence (``qa.scoring``, group ``type``) and the ablation in the
model card says what it is worth."""
from __future__ import annotations

import re

from .index.tokenize import STOPWORDS, fold, tokenize, words
from .question import Kind, analyze
from .spans import MONTHS
from .values import number_value

_DATE_WORDS = frozenset("""
century centuries decade decades year years ago today yesterday tomorrow morning evening night
spring summer autumn fall winter week weeks weekend monday tuesday wednesday thursday friday saturday
sunday bc ad bce ce era age
""".split())
# Words after "how many" that are not the counted thing: auxiliaries and pronouns end the phrase.
_PHRASE_END = frozenset("is are was were be been do does did have has had will would can could should may "
                        "might must they we you he she it i there of in on at to".split())
# What may follow a number before the counted noun ("31 Danish sailors", "9 of its 52 routes").
_NEAR = 4


def fits(kind: Kind, span: str) -> bool | None:
    """Whether ``span`` has the shape ``kind`` asks for; None when the kind expects no shape."""
    if kind is Kind.NUMBER:
        return number_value(span) is not None
    if kind is Kind.DATE:
        low = words(span)
        return any(w.isdigit() or w in MONTHS or w in _DATE_WORDS for w in low) or number_value(span) is not None
    if kind in (Kind.PERSON, Kind.ORGANIZATION, Kind.PLACE):
        return any(w[:1].isupper() and fold(w).lower() not in STOPWORDS for w in re.findall(r"[\w'’.-]+", span))
    return None


def counted(question: str) -> tuple[str, ...]:
    """The stems of the words naming what a "how many ..." question counts (empty for any other
    question): "How many Danish sailors were rescued?" counts ("danish", "sailor")."""
    low = words(question)
    for i in range(len(low) - 1):
        if low[i] == "how" and low[i + 1] == "many":
            phrase = []
            for w in low[i + 2:]:
                if w in _PHRASE_END:
                    break
                phrase.append(w)
            return tuple(tokenize(" ".join(phrase)))
    return ()


def names_count(question: str, span: str, after: str) -> bool | None:
    """Whether the count ``span`` is of what the question counts: one of its words is in the span
    or among the few words right after it. None when the question counts nothing."""
    nouns = counted(question)
    if not nouns:
        return None
    near = set(tokenize(span)) | set(tokenize(" ".join(words(after)[:_NEAR])))
    return any(n in near for n in nouns)


def type_features(question: str, span: str, after: str) -> dict[str, float]:
    """``type_mismatch``: 1 when the question asks for a shape the span lacks; ``count_mismatch``:
    1 when a "how many X" answer is not followed by X (both 0 when there is nothing to check)."""
    fit = fits(analyze(question).kind, span)
    count = names_count(question, span, after)
    return {"type_mismatch": float(fit is False), "count_mismatch": float(count is False)}
