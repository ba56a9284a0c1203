"""Ranked passages from a loaded index: BM25, dense, or both fused."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .bm25 import BM25Index
from .documents import Document
from .fusion import reciprocal_rank_fusion
from .passages import Passage, Sentence
from ..settings import Mode
from .store import IndexData
from .tokenize import tokenize

FUSION_POOL = 50  # candidates taken from each list before fusing


@dataclass(frozen=True)
class Hit:
    rank: int
    passage: Passage
    document: Document
    score: float

    @property
    def text(self) -> str:
        return self.document.text[self.passage.start:self.passage.end]

    @property
    def place(self) -> str:
        """The passage's page(s) in a PDF ("p. 3", "pp. 3–4") or paragraph(s) in a DOCX ("¶ 4");
        empty for a text file."""
        layout = self.document.layout
        return layout.place(self.passage.start, self.passage.end) if layout is not None else ""

    def to_json(self) -> dict:
        return {"rank": self.rank, "doc_id": self.passage.doc_id, "path": self.document.path,
                "start": self.passage.start, "end": self.passage.end, "text": self.text,
                "score": round(float(self.score), 6)}


class Retriever:
    """Holds one index in memory. Thread-safe for searching (nothing is mutated after __init__)."""

    def __init__(self, data: IndexData):
        self.data = data
        self.documents: dict[str, Document] = {d.doc_id: d for d in data.documents}
        self.bm25 = BM25Index(*data.bm25, len(data.passages)) if data.bm25 is not None \
            else BM25Index.build(data.passage_tokens)

    @property
    def passages(self) -> Sequence[Passage]:
        return self.data.passages

    @property
    def sentences(self) -> Sequence[Sentence]:
        return self.data.sentences

    def bm25_ranking(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self.bm25.top(tokenize(query), k)

    def dense_ranking(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = self.data.dense.ntotal
        if not n:
            return np.zeros(0, np.int64), np.zeros(0)
        scores, ids = self.data.dense.search(vector.reshape(1, -1).astype(np.float32), min(k, n))
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep].astype(np.float64)

    def search(self, query: str, k: int, mode: Mode, embed: Callable[[str], np.ndarray]) -> list[Hit]:
        if mode is Mode.BM25:
            ids, scores = self.bm25_ranking(query, k)
        elif mode is Mode.DENSE:
            ids, scores = self.dense_ranking(embed(query), k)
        else:
            pool = max(k, FUSION_POOL)
            b_ids, _ = self.bm25_ranking(query, pool)
            d_ids, _ = self.dense_ranking(embed(query), pool)
            ids, scores = reciprocal_rank_fusion([b_ids.tolist(), d_ids.tolist()])
            ids, scores = ids[:k], scores[:k]
        return [Hit(rank, self.data.passages[i], self.documents[self.data.passages[i].doc_id], float(s))
                for rank, (i, s) in enumerate(zip(ids.tolist(), scores.tolist()), start=1)]
