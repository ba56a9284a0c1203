"""The values an answer is made of: quotes with exact offsets, and the answer itself."""
from __future__ import annotations

from dataclasses import dataclass, field

from .index.retriever import Hit

ABSTAIN_TEXT = "The documents don't say."


@dataclass(frozen=True)
class Quote:
    """A verbatim quote: ``document_text[start:end] == text``; the short answer is
    ``text[answer_start:answer_end]``."""

    text: str
    doc_id: str
    path: str
    title: str
    start: int
    end: int
    answer_start: int
    answer_end: int
    score: float

    @property
    def answer(self) -> str:
        return self.text[self.answer_start:self.answer_end]

    def to_json(self) -> dict:
        return {"text": self.text, "doc_id": self.doc_id, "path": self.path, "title": self.title,
                "start": self.start, "end": self.end, "answer_start": self.answer_start,
                "answer_end": self.answer_end, "score": round(float(self.score), 4)}


@dataclass(frozen=True)
class Value:
    """One value the documents give for the asked fact, and the quotes (indices) that give it."""

    answer: str
    quotes: tuple[int, ...]

    def to_json(self) -> dict:
        return {"answer": self.answer, "quotes": list(self.quotes)}


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    answer: str | None
    quotes: tuple[Quote, ...]
    conflict: bool
    passages: tuple[Hit, ...]
    values: tuple[Value, ...] = ()
    kind: str = "other"  # the answer type the question asks for (number, person, date, ...)
    confidence: float = 0.0
    resolved_question: str | None = field(default=None)  # set when a follow-up was rewritten

    def to_json(self) -> dict:
        """The `qa ask --json` object of DESIGN.md (plus `values`: each distinct value's quotes)."""
        return {
            "question": self.question,
            "answered": self.answered,
            "answer": self.answer,
            "quotes": [q.to_json() for q in self.quotes],
            "conflict": self.conflict,
            "values": [v.to_json() for v in self.values],
            "passages": [{"doc_id": h.passage.doc_id, "path": h.document.path, "start": h.passage.start,
                          "end": h.passage.end, "score": round(float(h.score), 6)} for h in self.passages],
        }
