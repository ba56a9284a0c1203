"""Text and paragraphs from a Word .docx file (python-docx, MIT).

The body's paragraphs and tables in document order, each non-empty paragraph a paragraph of the
text, separated by a blank line; headers, footers and comments live in other parts of the file and
are left out. A table is read row by row: each row one line of text, "Routes from May 4, 17."
(``documents.row_text``; with a header row, "Route: Route 9, Buses: 17."), its rows one under
the other, so a row is a sentence a reader can quote and the splitter never runs two rows together.
``Layout.paragraphs`` keeps each paragraph's span, a table row counting as one paragraph, so a
quote is cited by paragraph number (from 1, counting the paragraphs that hold text), and
``Layout.rows`` each paragraph's table and row, so a quote from a table is cited "table 2, row 3".

A .docx is a zip archive: it is checked before it is opened, so a password-protected file (an OLE
container, not a zip), a damaged archive, or a zip bomb is a one-line error.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import DocumentError
from .documents import header_text, row_text
from .layout import Layout

MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200  # unpacked over packed: text XML packs ~10x; far beyond that is a bomb
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _check_archive(data: bytes, shown: str) -> None:
    if data.startswith(_OLE):
        raise DocumentError(f"{shown}: is password-protected or an old Word .doc; save it as an unprotected .docx")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            names = {i.filename for i in infos}
    except (zipfile.BadZipFile, ValueError, OSError):
        raise DocumentError(f"{shown}: is damaged or not a Word .docx file; re-save it from Word") from None
    if "word/document.xml" not in names:
        raise DocumentError(f"{shown}: is not a Word .docx file (no word/document.xml); re-save it from Word")
    unpacked = sum(i.file_size for i in infos)
    if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_RATIO * max(len(data), 1) and unpacked > 10 * 1024 * 1024:
        raise DocumentError(f"{shown}: unpacks to {unpacked:,} bytes from {len(data):,} (a zip bomb?); "
                            f"re-save it from Word")


@dataclass(frozen=True)
class _Block:
    """A paragraph of the text to be: body text, or a table's row (``table`` and ``row`` from 1)."""

    text: str
    table: int = 0
    row: int = 0
    is_row: bool = False  # the whole row read as one line (else a paragraph of a cell, or of the body)


def _blocks(document) -> list[_Block]:
    """The body's paragraphs and tables in order. A table whose rows have two or more cells with
    text is read one row a block (``documents.row_text``); a table that holds another table, or
    whose rows never have two cells with text (a text box, a one-column layout), is read as
    before, each cell's paragraphs a block of their own, still marked with their table and row."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[_Block] = []
    tables = 0
    stack: list[tuple] = [(iter(document.iter_inner_content()), 0, 0)]  # no recursion: tables nest
    while stack:
        blocks, table, row = stack[-1]
        block = next(blocks, None)
        if block is None:
            stack.pop()
        elif isinstance(block, Paragraph):
            out.append(_Block(block.text, table, row))
        elif isinstance(block, Table):
            tables += 1
            grid = [_cells(r) for r in block.rows]
            texts = [[_cell_text(c) if c is not None else "" for c in cells] for cells in grid]
            if any(c is not None and c.tables for cells in grid for c in cells) or not any(
                    sum(1 for t in r if t) >= 2 for r in texts):
                seen: dict[int, object] = {}  # a cell merged down several rows is read once, in its first
                for i, cells in enumerate(grid, start=1):
                    for c in cells:
                        if c is not None and id(c._tc) not in seen:
                            seen[id(c._tc)] = (c, i)  # holding the cell keeps its id its own
                stack += [(iter(c.iter_inner_content()), tables, i) for c, i in reversed(list(seen.values()))]
                continue
            heads = 1 if len(grid) > 1 and _is_header(block.rows[0]) else 0
            headers = texts[0] if heads else []
            out += [_Block(header_text(t) if i <= heads else row_text(t, headers), tables, i, True)
                    for i, t in enumerate(texts, start=1)]
    return out


def _cells(row) -> list:
    """The row's cells, one per grid column; a cell merged across columns is the first of them
    (None in the others). One merged down from the row above is its cell again: python-docx gives
    the merged cell in each row it spans, and a person reads it there."""
    out, prev = [], None
    for cell in row.cells:
        out.append(None if prev is not None and cell._tc is prev._tc else cell)
        prev = cell
    return out


def _cell_text(cell) -> str:
    return " ".join(" ".join(p.text for p in cell.paragraphs).split())


def _is_header(row) -> bool:
    """Whether a table's first row is its header: marked to repeat as one on each page, or every
    run of its text in bold."""
    from docx.oxml.ns import qn

    props = row._tr.trPr
    if props is not None and props.find(qn("w:tblHeader")) is not None:
        value = props.find(qn("w:tblHeader")).get(qn("w:val"))
        if value not in ("0", "false", "off"):
            return True
    runs = [r for cell in row.cells for p in cell.paragraphs for r in p.runs if r.text.strip()]
    return bool(runs) and all(r.bold or (r.bold is None and _styled_bold(r)) for r in runs)


def _styled_bold(run) -> bool:
    """Bold by the run's character style, else by its paragraph's style (each through the styles
    it is based on: at most a few steps, so a file whose styles are based on each other in a
    circle cannot hang the reader)."""
    for style in (run.style, getattr(run._parent, "style", None)):
        for _ in range(16):
            if style is None:
                break
            if style.font.bold is not None:
                return bool(style.font.bold)
            style = style.base_style
    return False


def read_docx(path: Path, shown: str, data: bytes) -> tuple[str, Layout]:
    """The text of the .docx whose bytes are ``data``, and each paragraph's span in it (with its
    table and row, for a paragraph in a table)."""
    import docx

    _check_archive(data, shown)
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = _blocks(document)
    except Exception as exc:  # noqa: BLE001 - python-docx and lxml raise many kinds on damaged XML
        raise DocumentError(f"{shown}: is damaged ({type(exc).__name__}); re-save it from Word") from None
    parts, spans, rows, at = [], [], [], 0
    prev: _Block | None = None
    for block in blocks:
        text = block.text
        text = " ".join(text.replace("\u00a0", " ").split()) if "\n" in text or "\t" in text else text.strip()
        if not text:
            continue
        if parts:
            # a table's rows one a line; paragraphs apart by a blank line
            sep = "\n" if block.is_row and prev.is_row and block.table == prev.table else "\n\n"
            parts.append(sep)
            at += len(sep)
        parts.append(text)
        spans.append((at, at + len(text)))
        rows.append((block.table, block.row))
        at += len(text)
        prev = block
    if not any(t for t, _ in rows):
        rows = []
    return "".join(parts), Layout("docx", paragraphs=tuple(spans), rows=tuple(rows))
