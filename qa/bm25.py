"""BM25 over pre-tokenized passages: rank-bm25's Okapi BM25 (k1=1.5, b=0.75, idf floored at
0.25 x the mean idf), served from a sparse term x passage matrix.

rank-bm25 stays the definition of the scores: its model gives the idf of every term, the passage
lengths and their mean. Each term's contribution to each passage that holds it is computed once,
into a ``scipy.sparse`` CSR matrix; a query's scores are then the sum of its terms' rows (a term
asked twice counts twice, as in ``BM25Okapi.get_scores``), with no Python loop over passages.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

K1 = 1.5
B = 0.75
EPSILON = 0.25


def term_matrix(corpus_tokens: Sequence[Sequence[str]]) -> tuple[dict[str, int], sparse.csr_matrix]:
    """rank-bm25's per-term scores as a (terms x passages) CSR matrix, and the term -> row map."""
    from rank_bm25 import BM25Okapi

    n = len(corpus_tokens)
    if not n:  # rank-bm25 divides by the corpus size
        return {}, sparse.csr_matrix((0, 0), dtype=np.float64)
    model = BM25Okapi([list(t) for t in corpus_tokens], k1=K1, b=B, epsilon=EPSILON)
    vocab = {t: i for i, t in enumerate(model.idf)}
    idf = np.array(list(model.idf.values()), dtype=np.float64)
    rows, cols, tfs = [], [], []
    for d, freqs in enumerate(model.doc_freqs):
        rows += [vocab[t] for t in freqs]
        cols += [d] * len(freqs)
        tfs += freqs.values()
    row, col, tf = np.array(rows, dtype=np.int64), np.array(cols, dtype=np.int64), np.array(tfs, dtype=np.float64)
    length = np.asarray(model.doc_len, dtype=np.float64)[col]
    weight = idf[row] * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / model.avgdl))
    matrix = sparse.csr_matrix((weight, (row, col)), shape=(len(vocab), n))
    return vocab, matrix


class BM25Index:
    """Scores every passage for a tokenized query. Built from stored tokens, so loading never re-tokenizes."""

    def __init__(self, corpus_tokens: Sequence[Sequence[str]]):
        self.size = len(corpus_tokens)
        df = Counter(t for tokens in corpus_tokens for t in set(tokens))
        # Always-positive idf (as in Lucene's BM25): weights question words for answer scoring.
        self._idf = {t: math.log(1 + (self.size - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        self._unseen_idf = math.log(1 + (self.size + 0.5) / 0.5)
        self._vocab, self._matrix = term_matrix(corpus_tokens)

    def idf(self, token: str) -> float:
        """Inverse document frequency over passages; unseen tokens get the highest weight."""
        return self._idf.get(token, self._unseen_idf)

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """rank-bm25's ``get_scores`` for these tokens: the sum of their rows (unknown terms add 0)."""
        counts = Counter(self._vocab[t] for t in query_tokens if t in self._vocab)
        if not counts:
            return np.zeros(self.size, dtype=np.float64)
        rows = np.fromiter(counts, dtype=np.int64, count=len(counts))
        times = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        picked = self._matrix[rows]  # only the query's rows: a few thousand entries, not the matrix
        return np.asarray(picked.T @ times, dtype=np.float64).ravel()

    def top(self, query_tokens: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids and scores of the k best passages with a positive score, best first (ties: lower id)."""
        s = self.scores(query_tokens)
        hit = np.flatnonzero(s > 0)
        order = hit[np.argsort(-s[hit], kind="stable")[:k]]
        return order, s[order]
