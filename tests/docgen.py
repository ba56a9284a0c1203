"""PDF and DOCX files written by the tests, so the expected text, pages and boxes are known.

``write_pdf`` lays paragraphs out in one or two columns with reportlab (Bitstream Vera, shipped
with reportlab, so ligature glyphs and non-ASCII names are drawn from an embedded font), with a
running header and a page number on every page. A ``|`` inside a word marks where it may be
hyphenated at a line end (the marker is never drawn); the text a reader should extract is the
paragraphs with the markers removed. ``PdfPlan`` says where every drawn character went.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PAGE = (612.0, 792.0)
MARGIN_X, TOP, BOTTOM = 72.0, 90.0, 80.0
GUTTER = 24.0
HEADER = "The Harbour Gazette — weekly edition"


@dataclass
class PdfPlan:
    """Where each drawn character of each paragraph went: (page from 1, x0, top, x1, bottom)."""

    paragraphs: list[str]
    boxes: list[list[tuple[int, float, float, float, float] | None]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def _font():
    import reportlab
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "Vera" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("Vera", os.path.join(os.path.dirname(reportlab.__file__), "fonts", "Vera.ttf")))
    return "Vera"


def _wrap(words: list[str], width: float, size: float, font: str) -> list[tuple[str, bool]]:
    """Greedy lines (text, ends in a hyphenated break); a word with ``|`` that does not fit is split
    there with a hyphen."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    lines: list[tuple[str, bool]] = []
    line: list[str] = []
    for word in words:
        plain = word.replace("|", "")
        if not line or stringWidth(" ".join(line + [plain]), font, size) <= width:
            line.append(plain)
            continue
        if "|" in word:
            head, tail = word.split("|", 1)
            if stringWidth(" ".join(line + [head + "-"]), font, size) <= width:
                lines.append((" ".join(line + [head + "-"]), True))
                line = [tail.replace("|", "")]
                continue
        lines.append((" ".join(line), False))
        line = [plain]
    if line:
        lines.append((" ".join(line), False))
    return lines


def write_pdf(path: Path, paragraphs: list[str], *, columns: int = 1, size: float = 11.0,
              lines_per_page: int | None = None, header: bool = True, title: str | None = None) -> PdfPlan:
    """Write ``paragraphs`` to ``path`` (``title`` across the top of page 1, in both columns'
    width); returns what a reader should extract and where each character was drawn.
    ``lines_per_page`` caps the lines of a column (to force column and page breaks)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.pdfgen import canvas

    font = _font()
    c = canvas.Canvas(str(path), pagesize=PAGE)
    width = (PAGE[0] - 2 * MARGIN_X - (columns - 1) * GUTTER) / columns
    leading = size * 1.3
    rows = int((PAGE[1] - TOP - BOTTOM) // leading)
    if lines_per_page:
        rows = min(rows, lines_per_page)
    plan = PdfPlan(([title] if title else []) + [p.replace("|", "") for p in paragraphs])
    page, column, row = 1, 0, 0
    top = TOP

    def start_page():
        c.setFont(font, 9)
        if header:
            c.drawString(MARGIN_X, PAGE[1] - 40, HEADER)
            c.drawRightString(PAGE[0] - MARGIN_X, 40, f"Page {page}")
        c.setFont(font, size)

    def draw(text: str, x: float, baseline: float, skip_last: bool) -> list:
        c.drawString(x, PAGE[1] - baseline, text)
        out, pos = [], x
        for j, ch in enumerate(text):
            w = stringWidth(ch, font, size)
            if not (skip_last and j == len(text) - 1):
                out.append((page, pos, baseline - (1 - DESCENT) * size, pos + w, baseline + DESCENT * size))
            pos += w
        return out

    start_page()
    if title:
        plan.boxes.append(draw(title, MARGIN_X, top + size, False))
        top += 3 * leading
    for p in paragraphs:
        boxes: list = []
        lines = _wrap(p.split(), width, size, font)
        for i, (text, hyphenated) in enumerate(lines):
            if row >= rows:
                column, row = column + 1, 0
                if column == columns:
                    c.showPage()
                    page, column, top = page + 1, 0, TOP
                    start_page()
            boxes += draw(text, MARGIN_X + column * (width + GUTTER), top + size + row * leading, hyphenated)
            if not hyphenated and i + 1 < len(lines):
                boxes.append(None)  # the line break: a space in the text, drawn nowhere
            row += 1
        plan.boxes.append(boxes)
        row += 1  # a blank line between paragraphs
    c.save()
    for text, boxes in zip(plan.paragraphs, plan.boxes):
        assert len(text) == len(boxes), (text, len(boxes))
    return plan


DESCENT = 0.2402  # below the baseline, as a share of the size: the box a character is expected in


@dataclass
class DocxTable:
    """A table for ``write_docx``: its rows of cell texts; ``header``: the first row is the header
    (marked to repeat on each page, as Word's "Repeat as header row" does); ``bold_header``: the
    first row's text is bold instead, unmarked."""

    rows: list[list[str]]
    header: bool = False
    bold_header: bool = False


def write_docx(path: Path, paragraphs: list[str | DocxTable], *, header: str | None = HEADER) -> None:
    import docx
    from docx.oxml import OxmlElement

    d = docx.Document()
    if header:
        d.sections[0].header.paragraphs[0].text = header
    for p in paragraphs:
        if isinstance(p, str):
            d.add_paragraph(p)
            continue
        table = d.add_table(rows=len(p.rows), cols=max(len(r) for r in p.rows))
        for i, row in enumerate(p.rows):
            for j, text in enumerate(row):
                run = table.cell(i, j).paragraphs[0].add_run(text)
                run.bold = True if i == 0 and p.bold_header else None
        if p.header:
            table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    d.save(str(path))


def write_pdf_lines(path: Path, lines: list[str | list], *, columns: tuple[float, ...] = (72.0, 300.0),
                    size: float = 11.0) -> None:
    """A one-page PDF of ``lines`` top down: a string is a line of text at the left margin ("" a
    blank line), a list is a table row, its cells drawn at the x of ``columns`` (or a cell
    ``(x, text)`` at its own x)."""
    from reportlab.pdfgen import canvas

    font = _font()
    c = canvas.Canvas(str(path), pagesize=PAGE)
    c.setFont(font, size)
    baseline = TOP + size
    for line in lines:
        for x, cell in zip(columns, [line] if isinstance(line, str) else line):
            x, text = cell if isinstance(cell, tuple) else (x, cell)
            c.drawString(x, PAGE[1] - baseline, text)
        baseline += size * 1.3
    c.save()
