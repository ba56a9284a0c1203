"""The values an answer is made of: quotes with exact offsets, and the answer itself."""
from __future__ import annotations

from dataclasses import dataclass, field

from .index.layout import Box, place_label
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
    pages: tuple[int, ...] = ()  # a PDF's pages holding the quote, from 1
    boxes: tuple[Box, ...] = ()  # a PDF's highlight boxes: one per line of the quote
    paragraphs: tuple[int, ...] = ()  # a DOCX's paragraphs holding the quote, from 1
    rows: tuple[tuple[int, int], ...] = ()  # a DOCX table's (table, row) pairs holding the quote, from 1

    @property
    def answer(self) -> str:
        return self.text[self.answer_start:self.answer_end]

    @property
    def place(self) -> str:
        """Where the quote is, as a reader of the file would look for it: "p. 3", "pp. 3–4",
        "table 2, row 5", "¶ 12"; empty for a text file."""
        return place_label(self.pages, self.paragraphs, self.rows)

    def to_json(self) -> dict:
        row = {"text": self.text, "doc_id": self.doc_id, "path": self.path, "title": self.title,
               "start": self.start, "end": self.end, "answer_start": self.answer_start,
               "answer_end": self.answer_end, "score": round(float(self.score), 4)}
        if self.pages:
            row.update({"page": self.pages[0]} if len(self.pages) == 1 else {"pages": list(self.pages)})
            row["boxes"] = [b.to_json() for b in self.boxes]
        if self.paragraphs:
            row["paragraph"] = self.paragraphs[0]
            if len(self.paragraphs) > 1:
                row["paragraphs"] = list(self.paragraphs)
        row.update(_rows_json(self.rows))
        return row


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
            "passages": [_passage_json(h) for h in self.passages],
        }


def _passage_json(hit: Hit) -> dict:
    """A passage of the answer's JSON: where it is and its score; from a PDF also its ``page`` (or
    ``pages``), from a DOCX its ``paragraph`` (and ``paragraphs``, ``table`` and ``row``), as a quote
    gives them."""
    row = {"doc_id": hit.passage.doc_id, "path": hit.document.path, "start": hit.passage.start,
           "end": hit.passage.end, "score": round(float(hit.score), 6)}
    layout = hit.document.layout
    if layout is not None and layout.kind == "pdf":
        pages = layout.pages(hit.passage.start, hit.passage.end)
        if pages:
            row.update({"page": pages[0]} if len(pages) == 1 else {"pages": list(pages)})
    elif layout is not None:
        paragraphs = layout.paragraph_numbers(hit.passage.start, hit.passage.end)
        if paragraphs:
            row["paragraph"] = paragraphs[0]
            if len(paragraphs) > 1:
                row["paragraphs"] = list(paragraphs)
        row.update(_rows_json(layout.table_rows(hit.passage.start, hit.passage.end)))
    return row


def _rows_json(rows: tuple[tuple[int, int], ...]) -> dict:
    """A DOCX table's rows holding a span: ``table`` and its first ``row``, and ``rows`` when it
    runs over several (all in one table; ``Layout.table_rows``)."""
    if not rows:
        return {}
    out = {"table": rows[0][0], "row": rows[0][1]}
    if len(rows) > 1:
        out["rows"] = [r for _t, r in rows]
    return out
