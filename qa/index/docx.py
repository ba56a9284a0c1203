"""Text and paragraphs from a Word .docx file (python-docx, MIT).

The body's paragraphs, tables' cells included, in document order, each non-empty one a paragraph
of the text, separated by a blank line; headers, footers and comments live in other parts of the
file and are left out. ``Layout.paragraphs`` keeps each paragraph's span, so a quote is cited by
paragraph number (from 1, counting the paragraphs that hold text).

A .docx is a zip archive: it is checked before it is opened, so a password-protected file (an OLE
container, not a zip), a damaged archive, or a zip bomb is a one-line error.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ..errors import DocumentError
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


def _paragraphs(document) -> list[str]:
    """The body's paragraph texts in order, descending into tables (each cell's paragraphs)."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    out: list[str] = []

    def walk(container) -> None:
        for block in container.iter_inner_content():
            if isinstance(block, Paragraph):
                out.append(block.text)
            elif isinstance(block, Table):
                for row in block.rows:
                    seen = set()
                    for cell in row.cells:
                        if id(cell._tc) not in seen:  # a merged cell is listed once per column it spans
                            seen.add(id(cell._tc))
                            walk(cell)

    walk(document)
    return out


def read_docx(path: Path, shown: str, data: bytes) -> tuple[str, Layout]:
    """The text of the .docx whose bytes are ``data``, and each paragraph's span in it."""
    import docx

    _check_archive(data, shown)
    try:
        document = docx.Document(io.BytesIO(data))
        paragraphs = _paragraphs(document)
    except Exception as exc:  # noqa: BLE001 - python-docx and lxml raise many kinds on damaged XML
        raise DocumentError(f"{shown}: is damaged ({type(exc).__name__}); re-save it from Word") from None
    parts, spans, at = [], [], 0
    for text in paragraphs:
        text = " ".join(text.replace("\u00a0", " ").split()) if "\n" in text or "\t" in text else text.strip()
        if not text:
            continue
        if parts:
            parts.append("\n\n")
            at += 2
        parts.append(text)
        spans.append((at, at + len(text)))
        at += len(text)
    return "".join(parts), Layout("docx", paragraphs=tuple(spans))
