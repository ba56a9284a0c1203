"""Passages, sentences and BM25 tokens stored as columns of integers (``.npy`` files, memory-mapped
on load) and read through plain sequences: an index of 100,000 passages loads without building
100,000 objects, and an item is made only when it is asked for.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

import numpy as np

from .passages import Passage, Sentence

PASSAGE_COLUMNS = ("document", "start", "end", "first", "last")
SENTENCE_COLUMNS = ("document", "start", "end", "heading")


class _Rows(Sequence):
    """A read-only sequence over the rows of a 2-D integer array."""

    def __init__(self, rows: np.ndarray, doc_ids: Sequence[str]):
        self.rows = rows
        self.doc_ids = doc_ids

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, i: int): ...

    @overload
    def __getitem__(self, i: slice) -> list: ...

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._make(r) for r in self.rows[i].tolist()]
        return self._make(self.rows[i].tolist())

    def __iter__(self) -> Iterator:
        for start in range(0, len(self.rows), 4096):  # one conversion per block, not per row
            yield from (self._make(r) for r in self.rows[start:start + 4096].tolist())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def _make(self, row: list[int]):
        raise NotImplementedError


class PassageTable(_Rows):
    def _make(self, row: list[int]) -> Passage:
        return Passage(self.doc_ids[row[0]], row[1], row[2], row[3], row[4])


class SentenceTable(_Rows):
    def _make(self, row: list[int]) -> Sentence:
        return Sentence(self.doc_ids[row[0]], row[1], row[2], bool(row[3]))


class TokenTable(Sequence):
    """Each passage's BM25 tokens: ids into ``vocabulary``, concatenated, with ``offsets[i]:offsets[i + 1]``
    the ids of passage ``i``."""

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, vocabulary: Sequence[str]):
        self.ids = ids
        self.offsets = offsets
        self.vocabulary = vocabulary

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        words = self.vocabulary
        return tuple(words[t] for t in self.ids[self.offsets[i]:self.offsets[i + 1]].tolist())


def passage_rows(passages: Sequence[Passage], doc_index: dict[str, int]) -> np.ndarray:
    return np.array([(doc_index[p.doc_id], p.start, p.end, p.first_sentence, p.last_sentence) for p in passages],
                    dtype=np.int64).reshape(-1, len(PASSAGE_COLUMNS))


def sentence_rows(sentences: Sequence[Sentence], doc_index: dict[str, int]) -> np.ndarray:
    return np.array([(doc_index[s.doc_id], s.start, s.end, int(s.heading)) for s in sentences],
                    dtype=np.int64).reshape(-1, len(SENTENCE_COLUMNS))


def token_columns(tokens: Sequence[Sequence[str]], vocabulary: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, offsets) of every passage's tokens; every token must be in ``vocabulary``."""
    lengths = np.fromiter((len(t) for t in tokens), dtype=np.int64, count=len(tokens))
    offsets = np.zeros(len(tokens) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    ids = np.fromiter((vocabulary[w] for t in tokens for w in t), dtype=np.int32, count=int(offsets[-1]))
    return ids, offsets
