"""The BM25 tokenizer: a pure function of the text, its settings recorded in the index manifest.

Lowercase, accents folded ("Müller" -> "muller"), curly apostrophes unified, split into
word tokens, a short English stop-word list dropped, then Snowball (Porter 2) stems.
"""
from __future__ import annotations

import functools
import re
import unicodedata

import snowballstemmer

TOKENIZER_VERSION = 1

STOPWORDS = frozenset("""
a an and are as at be been being but by did do does doing for from had has have having he her hers
him his how i if in into is it its itself me my of on or our ours she so than that the their theirs
them then there these they this those to too was we were what when where which while who whom why
will with would you your yours s t about also any can could just may might must shall should
""".split())

_ACRONYM = re.compile(r"\b(?:[^\W\d_]\.){2,}")
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


def settings() -> dict:
    return {"version": TOKENIZER_VERSION, "lowercase": True, "fold_accents": True,
            "stopwords": "qa-english-small", "stemmer": "snowball-english"}


def fold(text: str) -> str:
    """Lowercase and strip combining accents; the result has no fixed offset relation to ``text``."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


@functools.lru_cache(maxsize=1)
def _stemmer():
    return snowballstemmer.stemmer("english")


# Answering tokenizes the same words, spans and sentences over and over (every word around every
# candidate span); short texts are memoized. Long ones (whole passages at index time) are not,
# which bounds the two caches to about 20 MB between them.
CACHED_LEN = 320
CACHE_SIZE = 1 << 13


def words(text: str) -> list[str]:
    """Folded word tokens, stop words kept, possessive ’s removed."""
    return list(_cached_words(text) if len(text) <= CACHED_LEN else _words(text))


def tokenize(text: str) -> list[str]:
    """BM25 tokens: folded, stop words removed, stemmed."""
    return list(_cached_tokens(text) if len(text) <= CACHED_LEN else _tokens(text))


def _words(text: str) -> tuple[str, ...]:
    out = []
    folded = _ACRONYM.sub(lambda m: m.group().replace(".", ""), fold(text))  # U.S. -> us
    for m in _TOKEN.finditer(folded):
        w = m.group().replace("’", "'")
        if w.endswith("'s"):
            w = w[:-2]
        out.append(w)
    return tuple(out)


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_stem(w) for w in _words(text) if w not in STOPWORDS)


_cached_words = functools.lru_cache(maxsize=CACHE_SIZE)(_words)
_cached_tokens = functools.lru_cache(maxsize=CACHE_SIZE)(_tokens)
