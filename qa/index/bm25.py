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
from collections.abc import Mapping, Sequence

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
    """Scores every passage for a tokenized query, from the term matrix (built once per index and
    stored with it, so loading never re-tokenizes or recomputes)."""

    def __init__(self, vocabulary: Mapping[str, int], matrix: sparse.csr_matrix, size: int):
        self.size = size
        self._vocab = vocabulary
        self._matrix = matrix
        self._df = np.diff(matrix.indptr) if size else np.zeros(0, dtype=np.int64)  # passages holding each term

    @classmethod
    def build(cls, corpus_tokens: Sequence[Sequence[str]]) -> BM25Index:
        vocabulary, matrix = term_matrix(corpus_tokens)
        return cls(vocabulary, matrix, len(corpus_tokens))

    def idf(self, token: str) -> float:
        """Always-positive inverse document frequency over passages (as in Lucene's BM25), to weight
        question words; unseen tokens get the highest weight."""
        row = self._vocab.get(token)
        n = 0 if row is None else int(self._df[row])
        return math.log(1 + (self.size - n + 0.5) / (n + 0.5))

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
        if len(hit) > k > 0:  # keep the k best (and any tied with the k-th) before sorting: at 1M
            # passages a common word scores most of them, and sorting them all took ~26 ms
            kth = np.partition(s[hit], len(hit) - k)[len(hit) - k]
            hit = hit[s[hit] >= kth]
        order = hit[np.argsort(-s[hit], kind="stable")[:k]]
        return order, s[order]
