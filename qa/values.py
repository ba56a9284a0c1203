"""When two short answers give the same value: numbers by value ("nine" = "9", "1,200" = "1200"),
names by a match that survives spelling variants and accents ("Ana Nunez" = "Anna Núñez"), other
text by its words. Used to cite every document that agrees and to flag those that differ."""
from __future__ import annotations

import re
from difflib import SequenceMatcher

from .spans import MONTHS
from .index.tokenize import STOPWORDS, fold, words

_UNITS = {w: i + 1 for i, w in enumerate("one two three four five six seven eight nine ten eleven twelve "
                                         "thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 10 ** 6, "billion": 10 ** 9, "trillion": 10 ** 12}
_VAGUE = {"dozen": 12, "dozens": 24, "hundreds": 100, "thousands": 1_000, "millions": 10 ** 6}
NAME_TOKEN_SIMILARITY = 0.7  # set by design: "katy"~"katie" is 0.67, "jon"~"john" 0.86, "maria"~"mario" 0.8; the first letters must match too


def number_value(text: str) -> float | None:
    """The first quantity the text states, or None."""
    low = fold(text).replace("-", " ")
    m = re.search(r"(\d[\d,]*(?:\.\d+)?)\s*(hundred|thousand|million|billion|trillion)?", low)
    if m:
        value = float(m.group(1).replace(",", ""))
        return value * _SCALES.get(m.group(2) or "", 1)
    if "tens of thousands" in low:
        return 10_000.0
    if "hundreds of thousands" in low:
        return 100_000.0
    total, current, seen = 0.0, 0.0, False
    for w in low.split():
        if w in _UNITS:
            current += _UNITS[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w in _SCALES and (current or seen):
            current = max(current, 1) * _SCALES[w]
            total, current = total + current, 0.0
        elif w in _VAGUE and not (current or total):
            return float(_VAGUE[w])
        else:
            if current or total:
                break
            continue
        seen = True
    return total + current if seen else None


def _tokens(text: str) -> list[str]:
    return [w for w in words(fold(text)) if w not in STOPWORDS]


def _similar(x: str, y: str) -> bool:
    return x == y or (x[0] == y[0] and SequenceMatcher(None, x, y).ratio() >= NAME_TOKEN_SIMILARITY)


def _covered(small: list[str], big: list[str]) -> bool:
    return all(any(_similar(s, b) for b in big) for s in small)


def _date_parts(text: str) -> tuple[str, ...]:
    return tuple(w for w in words(fold(text)) if w in MONTHS or w.isdigit())


def same_value(a: str, b: str) -> bool:
    pa, pb = _date_parts(a), _date_parts(b)
    if any(w in MONTHS for w in pa + pb):
        return pa == pb or (set(pa) <= set(pb) or set(pb) <= set(pa)) and \
            {w for w in pa if w in MONTHS} == {w for w in pb if w in MONTHS}
    va, vb = number_value(a), number_value(b)
    if va is not None and vb is not None:
        return va == vb
    if (va is None) != (vb is None) and re.search(r"\d", a + b):
        return False
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return fold(a).strip() == fold(b).strip()
    small, big = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    return _covered(small, big)
