"""Where a document's characters are in the file they came from: PDF page and box, DOCX paragraph
and table row.

A ``Layout`` rides along with a ``Document`` whose text was extracted from a PDF or a Word file.
Offsets are the document text's, so a quote ``[start, end)`` maps straight to its pages and
highlight boxes, or to its paragraphs. Boxes are in PDF points, origin at the page's top-left
corner (``x0, top, x1, bottom``); pages and paragraphs are numbered from 1, as a
reader names them.
"""
from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass


def place_label(pages: Sequence[int] = (), paragraphs: Sequence[int] = (),
                rows: Sequence[tuple[int, int]] = ()) -> str:
    """Where a stretch of text is, as a reader of the file would look for it: "p. 3", "pp. 3–4",
    "table 2, row 5", "table 2, rows 5–6", "¶ 12", "¶¶ 4–5"; empty for a text file (no pages, no
    paragraphs). ``rows``: the (table, row) pairs holding the stretch, given when it lies in the
    rows of one table (``Layout.table_rows``)."""
    if pages:
        return f"p. {pages[0]}" if len(pages) == 1 else f"pp. {pages[0]}–{pages[-1]}"
    if rows:
        first, last = rows[0][1], rows[-1][1]
        return f"table {rows[0][0]}, row {first}" if first == last else f"table {rows[0][0]}, rows {first}–{last}"
    if paragraphs:
        return f"¶ {paragraphs[0]}" if len(paragraphs) == 1 else f"¶¶ {paragraphs[0]}–{paragraphs[-1]}"
    return ""


@dataclass(frozen=True)
class Line:
    """One line of a PDF page as it appears in the text: ``text[start:end]``, every character
    with its horizontal extent (a space inserted between words spans the gap it stands for)."""

    start: int
    end: int
    page: int
    top: float
    bottom: float
    x0: tuple[float, ...]  # per character, len == end - start
    x1: tuple[float, ...]

    def to_json(self) -> list:
        return [self.start, self.end, self.page, self.top, self.bottom, list(self.x0), list(self.x1)]

    @classmethod
    def from_json(cls, row: list) -> Line:
        start, end, page, top, bottom, x0, x1 = row
        return cls(start, end, page, top, bottom, tuple(x0), tuple(x1))


@dataclass(frozen=True)
class Box:
    """A highlight rectangle on a page (points, origin top-left), with the page's size."""

    page: int
    x0: float
    top: float
    x1: float
    bottom: float
    page_width: float
    page_height: float

    def to_json(self) -> dict:
        return {"page": self.page, "x0": round(self.x0, 2), "top": round(self.top, 2), "x1": round(self.x1, 2),
                "bottom": round(self.bottom, 2), "page_width": round(self.page_width, 2),
                "page_height": round(self.page_height, 2)}


@dataclass(frozen=True)
class Layout:
    """``kind`` "pdf": ``lines`` in text order and each page's (width, height); "docx": the
    ``[start, end)`` span of each paragraph in the text and, when the file has tables, each
    paragraph's (table, row), both from 1 in the order the file shows them, or (0, 0) for a
    paragraph outside tables. A table read row by row has one paragraph a row."""

    kind: str
    lines: tuple[Line, ...] = ()
    page_sizes: tuple[tuple[float, float], ...] = ()
    paragraphs: tuple[tuple[int, int], ...] = ()
    rows: tuple[tuple[int, int], ...] = ()  # empty, or one (table, row) per paragraph

    def __post_init__(self):
        if self.kind not in ("pdf", "docx"):
            raise ValueError(f"unknown layout kind {self.kind!r}")
        if self.rows and len(self.rows) != len(self.paragraphs):
            raise ValueError(f"{len(self.rows)} table rows for {len(self.paragraphs)} paragraphs")

    def pages(self, start: int, end: int) -> tuple[int, ...]:
        """The pages (from 1) holding characters of ``[start, end)``, in order."""
        return tuple(sorted({line.page for line in self._lines(start, end)}))

    def boxes(self, start: int, end: int) -> tuple[Box, ...]:
        """One box per line the span ``[start, end)`` touches, from its first to its last
        character on that line."""
        out = []
        for line in self._lines(start, end):
            a, b = max(start, line.start) - line.start, min(end, line.end) - line.start
            while a < b and line.x1[a] <= line.x0[a]:  # an empty box (a space at a line's edge)
                a += 1
            if a >= b:
                continue
            width, height = self.page_sizes[line.page - 1]
            out.append(Box(line.page, min(line.x0[a:b]), line.top, max(line.x1[a:b]), line.bottom, width, height))
        return tuple(out)

    def place(self, start: int, end: int) -> str:
        """``place_label`` of the pages (PDF), or table rows or paragraphs (DOCX) holding
        ``[start, end)``."""
        if self.kind == "pdf":
            return place_label(pages=self.pages(start, end))
        return place_label(paragraphs=self.paragraph_numbers(start, end), rows=self.table_rows(start, end))

    def table_rows(self, start: int, end: int) -> tuple[tuple[int, int], ...]:
        """The (table, row) pairs (from 1) of the paragraphs holding ``[start, end)``, in order,
        when they all lie in one table; else empty (text outside tables, or two tables)."""
        if not self.rows:
            return ()
        rows = tuple(dict.fromkeys(self.rows[n - 1] for n in self.paragraph_numbers(start, end)))
        return rows if rows and len({t for t, _ in rows}) == 1 and rows[0][0] else ()

    def paragraph_numbers(self, start: int, end: int) -> tuple[int, ...]:
        """The paragraphs (from 1) holding characters of ``[start, end)``."""
        starts = [a for a, _ in self.paragraphs]
        first = max(bisect.bisect_right(starts, start) - 1, 0)
        return tuple(i + 1 for i in range(first, len(self.paragraphs))
                     if self.paragraphs[i][0] < end and self.paragraphs[i][1] > start)

    def _lines(self, start: int, end: int) -> list[Line]:
        starts = [line.start for line in self.lines]
        i = max(bisect.bisect_right(starts, start) - 1, 0)
        out = []
        while i < len(self.lines) and self.lines[i].start < end:
            if self.lines[i].end > start:
                out.append(self.lines[i])
            i += 1
        return out

    def to_json(self) -> dict:
        if self.kind == "pdf":
            return {"kind": "pdf", "page_sizes": [list(s) for s in self.page_sizes],
                    "lines": [line.to_json() for line in self.lines]}
        row = {"kind": "docx", "paragraphs": [list(p) for p in self.paragraphs]}
        if self.rows:
            row["rows"] = [list(r) for r in self.rows]
        return row

    @classmethod
    def from_json(cls, row: dict) -> Layout:
        if row["kind"] == "pdf":
            return cls("pdf", lines=tuple(Line.from_json(x) for x in row["lines"]),
                       page_sizes=tuple((float(w), float(h)) for w, h in row["page_sizes"]))
        return cls("docx", paragraphs=tuple((int(a), int(b)) for a, b in row["paragraphs"]),
                   rows=tuple((int(t), int(r)) for t, r in row.get("rows", ())))
