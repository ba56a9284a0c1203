"""BM25 over pre-tokenized passages with rank-bm25 (Okapi BM25, k1=1.5, b=0.75)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

K1 = 1.5
B = 0.75
EPSILON = 0.25


class BM25Index:
    """Scores every passage for a tokenized query. Built from stored tokens, so loading never re-tokenizes."""

    def __init__(self, corpus_tokens: Sequence[Sequence[str]]):
        from rank_bm25 import BM25Okapi

        import math
        from collections import Counter

        self.size = len(corpus_tokens)
        df = Counter(t for tokens in corpus_tokens for t in set(tokens))
        # Always-positive idf (as in Lucene's BM25): weights question words for answer scoring.
        self._idf = {t: math.log(1 + (self.size - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        self._unseen_idf = math.log(1 + (self.size + 0.5) / 0.5)
        # rank-bm25 divides by the corpus size; an empty corpus gets no model and scores nothing.
        self._bm25 = BM25Okapi([list(t) for t in corpus_tokens], k1=K1, b=B, epsilon=EPSILON) \
            if self.size else None

    def idf(self, token: str) -> float:
        """Inverse document frequency over passages; unseen tokens get the highest weight."""
        return self._idf.get(token, self._unseen_idf)

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        if self._bm25 is None or not query_tokens:
            return np.zeros(self.size, dtype=np.float64)
        return np.asarray(self._bm25.get_scores(list(query_tokens)), dtype=np.float64)

    def top(self, query_tokens: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and scores of the k best passages with a positive score, best first."""
        s = self.scores(query_tokens)
        order = np.argsort(-s, kind="stable")[:k]
        order = order[s[order] > 0]
        return order, s[order]
