"""Reading documents: files and folders of .txt, .md, .html, .pdf and .docx, their titles and
boilerplate lines.

Offsets everywhere refer to ``Document.text``: the file exactly as read with
``open(path, encoding="utf-8", newline="").read()``, or for HTML, PDF and DOCX the text extracted
from it (``qa.index.pdf``, ``qa.index.docx``), whose ``Layout`` says where each character was.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DocumentError
from .layout import Layout

log = logging.getLogger(__name__)

# What each readable suffix holds, as messages name it; SUFFIXES is its keys.
KINDS = {".txt": "UTF-8 text", ".md": "Markdown", ".html": "HTML", ".htm": "HTML", ".pdf": "PDF", ".docx": "DOCX"}
SUFFIXES = tuple(KINDS)
LAID_OUT = (".pdf", ".docx")  # read by their own readers, which keep where each character was
COMPANIONS = (".json", ".jsonl")  # question sets and metadata beside the articles: not worth a warning
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_LAID_OUT_BYTES = 200 * 1024 * 1024  # PDF and DOCX carry fonts and images beside the text
# How files are read into text, recorded in the index's manifest: raised whenever a reader changes
# the text it makes of a file that did not change (2: tables read row by row), so that an index
# holding texts read the old way is rebuilt rather than mixed with new ones.
READING = 2

# Whole lines that scrapers leave behind. Matched against the stripped line, case-insensitively.
_BOILERPLATE = re.compile(
    r"""(?ix)^(?:
        leave\ a\ (?:reply|comment)
      | (?:source|original)\ link
      | recommended\ (?:stories|articles|reading|for\ you)
      | related\ (?:stories|articles|posts|news|coverage)
      | read\ (?:more|next|also)\b.{0,80}
      | your\ email\ address\ will\ not\ be\ published.*
      | required\ fields\ are\ marked.*
      | \d+\s*list\ of\ items.*end\ of\ list
      | (?:list\ of\ items)?\s*end\ of\ list
      | advertisement | sponsored(?:\ content)? | skip\ to\ (?:main\ )?content
      | share\ (?:this|on\ \w+)(?:\ (?:article|story|post))?:?
      | (?:sign\ up|subscribe)\ (?:for|to)\ (?:our|the)\ newsletter.*
      | click\ here\ to\ .{0,80}
      | follow\ us\ on\ .{0,60}
      | all\ rights\ reserved\.?
      | (?:copyright\ )?©\ ?\d{4}.{0,80}
      | (?:posted\ in|filed\ under|tags?):\ .{0,120}
      | \d+\ comments?
      | comments?
    )$""")


_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Span:
    """A half-open ``[start, end)`` character range."""

    start: int
    end: int


@dataclass(frozen=True)
class Document:
    doc_id: str
    path: str
    title: str
    text: str
    sha256: str
    boilerplate: tuple[Span, ...] = ()
    layout: Layout | None = None  # PDF pages and boxes, DOCX paragraphs; None for text files

    def to_json(self) -> dict:
        row = {"doc_id": self.doc_id, "path": self.path, "title": self.title, "sha256": self.sha256,
               "boilerplate": [[s.start, s.end] for s in self.boilerplate], "text": self.text}
        if self.layout is not None:
            row["layout"] = self.layout.to_json()
        return row

    @classmethod
    def from_json(cls, row: dict) -> Document:
        layout = row.get("layout")
        return cls(doc_id=row["doc_id"], path=row["path"], title=row["title"], text=row["text"],
                   sha256=row["sha256"], boilerplate=tuple(Span(a, b) for a, b in row["boilerplate"]),
                   layout=Layout.from_json(layout) if layout else None)


@dataclass(frozen=True)
class Skipped:
    """A file that was not read, and why."""

    path: str
    reason: str


def iter_lines(text: str) -> Iterator[Span]:
    """Spans of each line without its line break; handles ``\n``, ``\r\n`` and ``\r``."""
    start = 0
    for m in _NEWLINE.finditer(text):
        yield Span(start, m.start())
        start = m.end()
    yield Span(start, len(text))


def is_boilerplate(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and bool(_BOILERPLATE.match(stripped))


def find_boilerplate(text: str) -> tuple[Span, ...]:
    return tuple(s for s in iter_lines(text) if is_boilerplate(text[s.start:s.end]))


def looks_like_headline(line: str) -> bool:
    """A short line without a sentence-final full stop reads as a headline."""
    line = line.strip()
    if not line or len(line) > 160 or len(line.split()) > 22:
        return False
    return not re.search(r"[.:;,]['\"’”]?$", line)


def make_title(text: str, name: str, boilerplate: tuple[Span, ...] = ()) -> str:
    """The first line when it reads as a headline, else ``name`` (the file name): a sentence cut
    short would read as a quote in every citation."""
    skip = {(s.start, s.end) for s in boilerplate}
    for span in iter_lines(text):
        line = text[span.start:span.end].strip().lstrip("\ufeff").lstrip("#").strip()  # Markdown heading
        if not line or (span.start, span.end) in skip:
            continue
        return line if looks_like_headline(line) else name
    return name


_ENDS_SENTENCE = re.compile(r"""[.!?…]['"’”)\]]*$""")
# An HTML cell's content that starts a new line when shown: a space in the cell's text.
_HTML_BREAKS = frozenset({"br", "p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6",
                          "blockquote", "pre", "tr", "section", "article"})
_HTML_HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "title"})


def row_text(cells: Sequence[str], headers: Sequence[str] = ()) -> str:
    """One table row as one sentence-like line: what a reader quotes and a person reads.

    ``cells`` are the row's cell texts, one per column; ``headers`` the header row's texts for the
    same columns, when the table has a header row. Empty cells are left out; a cell under a header
    reads "Header: cell". The cells are joined with ", " (with "; " when a cell holds a comma of
    its own), and a row of two or more cells ends with a full stop unless it ends a sentence
    already, so it reads, and is split, as a sentence rather than a headline::

        ["Routes from May 4", "17"]                  -> "Routes from May 4, 17."
        ["Route 9", "May 4", "17"]                   -> "Route 9, May 4, 17."
        ["Route 9", "May 4", "17"], ["Route", "Start", "Buses"]
                                                     -> "Route: Route 9, Start: May 4, Buses: 17."

    Commas rather than colons or bars, and the full stop: on 25 questions about made-up tables
    (``python -m bench.table_forms``, 2026-12-07) the shipped reader (trained on prose) answered 18 right from rows written this way, 14 with
    "Routes from May 4: 17.", 11 with "Routes from May 4: 17" or "Routes from May 4 | 17".
    """
    parts: list[str] = []
    for i, cell in enumerate(cells):
        cell = " ".join(cell.split())
        header = " ".join(headers[i].split()) if i < len(headers) else ""
        if cell:
            parts.append(f"{header}: {cell}" if header and header != cell else cell)
    if len(parts) < 2:
        return parts[0] if parts else ""
    text = _join(parts)
    return text if _ENDS_SENTENCE.search(text) else text + "."


def header_text(cells: Sequence[str]) -> str:
    """A header row as one line: its cells joined as ``row_text`` joins them, no full stop (it
    reads as a heading)."""
    return _join(list(dict.fromkeys(c for c in (" ".join(c.split()) for c in cells) if c)))


def _join(parts: list[str]) -> str:
    sep = "; " if any(", " in p for p in parts) else ", "
    out = parts[:1]
    for part in parts[1:]:
        out.append(" " if out[-1][-1] in ",;:" else sep)  # "Note:" is followed by its text
        out.append(part)
    return "".join(out)


def html_to_text(html: str) -> str:
    """The text of an HTML page (inscriptis), each table read row by row (``_tables_by_row``)."""
    from inscriptis import Inscriptis  # lazy: only HTML needs it
    from lxml.etree import ParserError
    from lxml.html import document_fromstring

    html = html.strip()
    if not html:
        return ""
    if html.startswith("<?xml "):  # as inscriptis.get_text parses it
        html = re.sub(r"^<\?xml [^>]+?\?>", "", html, count=1)
    try:
        tree = document_fromstring(html)
    except ParserError:
        tree = document_fromstring("<pre>" + html + "</pre>")
    _tables_by_row(tree)
    return Inscriptis(tree).get_text()


def _tables_by_row(tree) -> None:
    """Replace each data table of ``tree`` by a paragraph holding one line per row (``row_text``),
    its caption first; inscriptis would lay the cells out in padded columns, and a row's cells
    would read as a run of words. A table holding another table, or whose rows never have two
    cells with text (a layout box), is left to inscriptis. Inner tables go first, so a layout table
    around a data table keeps the data table's rows."""
    from lxml.html import Element

    for table in reversed(list(tree.iter("table"))):
        if table.getparent() is None or next(table.iterdescendants("table"), None) is not None:
            continue
        grid, heads = _html_grid(table)
        if not any(sum(1 for c in row if c) >= 2 for row in grid):
            continue
        headers = grid[heads - 1] if heads else []
        lines = [_cell_text(c) for c in table.findall("caption")]
        lines += [header_text(row) if i < heads else row_text(row, headers) for i, row in enumerate(grid)]
        lines = [line for line in lines if line]
        p = Element("p")
        p.text = lines[0] if lines else ""
        for line in lines[1:]:
            br = Element("br")
            br.tail = line
            p.append(br)
        p.tail = table.tail
        table.getparent().replace(table, p)


def _html_grid(table) -> tuple[list[list[str]], int]:
    """The cell texts of ``table``'s own rows, one per column, and how many leading rows are
    header rows (all ``<th>``, or in ``<thead>``). A cell spanning columns fills the first (the
    others are empty); one spanning rows is repeated in each row, as a person reads it there."""
    grid: list[list[str]] = []
    carried: dict[int, tuple[str, int]] = {}  # column -> (text, rows still to fill) of a rowspan
    heads, leading = 0, True
    for tr in table.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr"):
        cells = [c for c in tr if c.tag in ("td", "th")]
        row: list[str] = []
        for cell in cells:
            _fill(row, carried)
            text = _cell_text(cell)
            down = _span(cell.get("rowspan"))
            for k in range(_span(cell.get("colspan"))):
                if down > 1:
                    carried[len(row)] = (text if k == 0 else "", down - 1)
                row.append(text if k == 0 else "")
        _fill(row, carried)
        head = bool(cells) and (tr.getparent().tag == "thead" or all(c.tag == "th" for c in cells))
        leading = leading and head
        heads += leading
        grid.append(row)
    return grid, heads if heads < len(grid) else 0


def _fill(row: list[str], carried: dict[int, tuple[str, int]]) -> None:
    """Put into ``row`` the cells that rows above span into, from its next column on."""
    while len(row) in carried:
        text, left = carried.pop(len(row))
        if left > 1:
            carried[len(row)] = (text, left - 1)
        row.append(text)


def _span(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), 100)  # a hostile colspan="100000" is capped
    except ValueError:
        return 1


def _cell_text(cell) -> str:
    """The text of an HTML cell as one line: what shows (scripts, styles and comments left out),
    a line break or a block's edge read as a space."""
    out: list[str] = []
    stack = [(cell, False)]  # (element, its content already read); no recursion: nesting is unbounded
    while stack:
        el, read = stack.pop()
        if read or not isinstance(el.tag, str) or el.tag in _HTML_HIDDEN:
            if el is not cell:
                if read and el.tag in _HTML_BREAKS:
                    out.append(" ")
                if el.tail:
                    out.append(el.tail)
            continue
        if el.text:
            out.append(el.text)
        stack.append((el, True))
        stack.extend((child, False) for child in reversed(el))
    return " ".join("".join(out).split())


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def printable(path: Path | str) -> str:
    """A path as text that can always be printed: bytes of a non-UTF-8 name as \\x escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def readable_kinds() -> str:
    """The kinds of document that are read, for a message: "UTF-8 text, Markdown, ..., PDF or DOCX"."""
    kinds = list(dict.fromkeys(KINDS.values()))
    return f"{', '.join(kinds[:-1])} or {kinds[-1]}"


def read_document(path: Path, display_path: str | None = None) -> Document:
    """Read one file; raises DocumentError saying why it cannot be used."""
    shown = display_path or str(path)
    if printable(shown) != shown:  # citations carry the path: it has to be text other tools can open
        raise DocumentError(f"{printable(shown)}: its name is not valid UTF-8; rename the file")
    suffix = path.suffix.lower()
    limit = MAX_LAID_OUT_BYTES if suffix in LAID_OUT else MAX_FILE_BYTES
    try:
        size = path.stat().st_size
        if size > limit:
            raise DocumentError(f"{shown}: {size} bytes is over the {limit} byte limit")
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{shown}: cannot read ({exc.strerror or exc})") from None
    if suffix in LAID_OUT:
        return _read_laid_out(path, shown, data)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DocumentError(f"{shown}: is UTF-16 text; re-save it as UTF-8")
    if b"\x00" in data[:8192]:
        raise DocumentError(f"{shown}: looks binary (NUL bytes); only {readable_kinds()} is read")
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError(f"{shown}: not valid UTF-8 (byte {exc.start}); re-save it as UTF-8") from None
    # Same characters as open(path, encoding="utf-8", newline="").read(): no newline translation,
    # a byte-order mark kept, so offsets match what any reader of the file sees.
    text = html_to_text(raw) if path.suffix.lower() in (".html", ".htm") else raw
    if "\x00" in text:
        raise DocumentError(f"{shown}: contains NUL characters; only text documents are read")
    if not text.strip():
        raise DocumentError(f"{shown}: is empty")
    return _document(path, shown, text, data)


def _document(path: Path, shown: str, text: str, data: bytes, layout: Layout | None = None) -> Document:
    """The document of ``text`` read from ``path`` (its bytes ``data``): boilerplate, title, hash."""
    boilerplate = find_boilerplate(text)
    return Document(doc_id=path.stem, path=shown, title=make_title(text, path.name, boilerplate), text=text,
                    sha256=content_hash(data), boilerplate=boilerplate, layout=layout)


def _read_laid_out(path: Path, shown: str, data: bytes) -> Document:
    """A PDF or DOCX file: its extracted text and where each character was."""
    if path.suffix.lower() == ".pdf":
        from .pdf import read_pdf

        text, layout = read_pdf(path, shown)
    else:
        from .docx import read_docx

        text, layout = read_docx(path, shown, data)
    if not text.strip():
        raise DocumentError(f"{shown}: has no text")
    return _document(path, shown, text, data, layout)


def _visible_files(root: Path) -> list[Path]:
    """The files under ``root``, hidden files and folders left out, in the order of sorted
    ``root.rglob("*")`` (os.walk: ~4x faster than pathlib on 10,000 files)."""
    found: list[tuple[tuple[str, ...], str]] = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        rel = os.path.relpath(folder, root)
        parts = () if rel == "." else tuple(rel.split(os.sep))
        for name in names:
            full = os.path.join(folder, name)
            if not name.startswith(".") and os.path.isfile(full):
                found.append((parts + (name,), full))
    found.sort()
    return [Path(full) for _parts, full in found]


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Skipped]]:
    """Expand files and folders into the document files under them, sorted, with skipped entries."""
    files: list[Path] = []
    skipped: list[Skipped] = []
    for root in paths:
        root = Path(root)
        if root.is_dir():
            other: Counter[str] = Counter()
            for p in _visible_files(root):
                if p.suffix.lower() in SUFFIXES:
                    files.append(p)
                elif p.suffix.lower() not in COMPANIONS:
                    other[p.suffix.lower() or "(none)"] += 1
            if other:  # one line per folder, not one per image or PDF
                kinds = ", ".join(f"{n} {suffix}" for suffix, n in sorted(other.items()))
                skipped.append(Skipped(printable(root), f"{sum(other.values())} file(s) of unsupported type "
                                                        f"({kinds}); use {', '.join(SUFFIXES)}"))
        elif root.is_file():
            if root.suffix.lower() in SUFFIXES:
                files.append(root)
            else:
                skipped.append(Skipped(printable(root), f"unsupported type {root.suffix or '(none)'}; "
                                                  f"use {', '.join(SUFFIXES)}"))
        else:
            raise DocumentError(f"{printable(root)}: no such file or folder")
    return files, skipped


def load_documents(paths: Iterable[Path]) -> tuple[list[Document], list[Skipped]]:
    """Read every document under ``paths``; unreadable ones are returned as Skipped, never raised."""
    paths = list(paths)
    files, skipped = discover(paths)
    docs: list[Document] = []
    seen: dict[str, str] = {}
    for f in files:
        try:
            doc = read_document(f)
        except DocumentError as exc:
            skipped.append(Skipped(printable(f), str(exc).split(": ", 1)[-1]))
            continue
        if doc.doc_id in seen:
            skipped.append(Skipped(str(f), f"same id {doc.doc_id!r} as {seen[doc.doc_id]}; rename one"))
            continue
        seen[doc.doc_id] = doc.path
        docs.append(doc)
    for s in skipped:
        log.warning("skipped %s: %s", s.path, s.reason)
    if not docs:
        where = ", ".join(printable(p) for p in paths) or "(nothing)"
        raise DocumentError(f"no readable documents in {where}; add .txt, .md, .html, .pdf or .docx files")
    return docs, skipped
