"""Text and character boxes from a PDF's text layer (PDFium, through pypdfium2: Apache-2.0 / BSD).

The text is rebuilt from the characters' positions rather than taken from the content stream's
order, so that it reads as a person reads the page:

* each page is cut into rows of characters; a row is cut where a wide gap splits it, and where the
  page's body has a gutter (a vertical strip no character crosses), its lines are read column by
  column: the left column top to bottom, then the right, with a line spanning both ending the band;
* running headers and footers (a line in the top or bottom tenth of the page that repeats on other
  pages once digits are ignored) and bare page numbers are left out, so they never split a sentence
  or land in a quote;
* lines of a paragraph are joined with a space, a word hyphenated across a line break is joined
  without its hyphen, a wider gap between lines starts a new paragraph, and a paragraph that runs
  over a page or column break is joined as one;
* a ligature glyph (ﬁ, ﬂ, …) becomes its letters, sharing its box;
* a table's rows, where the layout makes them plain (two or more rows one under the other whose
  wide gaps between cells line up), are read one row a line, as a DOCX or HTML table's are:
  "Routes from May 4, 17." (``_table_row_text``), never run together with the next row.

Every character of the text that came from the page keeps its page and box (``layout.Line``);
spaces and breaks put in between lines belong to no line. Reading runs in a child process with
a memory and time limit (``read_pdf``), so a damaged or hostile file costs a bounded effort and a
one-line error, never the build.
"""
from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import DocumentError
from .layout import Layout, Line

MAX_PAGES = 2_000
MEMORY_LIMIT_BYTES = 1536 * 1024 * 1024  # the reading process's address space
TIME_LIMIT_S = 300  # the reading process's wall time (bench.pdf measures the pages per second)
MARGIN = 0.1  # top and bottom share of a page where running headers and footers live
_PAGE_NUMBER = re.compile(r"(?i)^[\W_]*(?:page|p\.|pg\.?)?\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?[\W_]*$")
_SENTENCE_END = re.compile(r"""[.!?:]['"’”)\]]*$""")
_ENDS_SENTENCE = re.compile(r"""[.!?…]['"’”)\]]*$""")
CELL_GAP = 1.2  # a gap wider than this many font sizes parts two cells of a table (a word gap: ~0.3)


@dataclass(frozen=True)
class Glyph:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float


@dataclass(frozen=True)
class Row:
    """A line of one column of a page: its glyphs left to right."""

    glyphs: tuple[Glyph, ...]
    column: int  # 0 left (or the only column), 1 right, -1 spanning both

    @property
    def top(self) -> float:
        return min(g.top for g in self.glyphs)

    @property
    def bottom(self) -> float:
        return max(g.bottom for g in self.glyphs)

    @property
    def x0(self) -> float:
        return self.glyphs[0].x0

    @property
    def size(self) -> float:
        return max(g.size for g in self.glyphs)


# -- one page ------------------------------------------------------------------------------------
def _glyphs(page) -> list[Glyph]:
    """The page's characters, from PDFium's text page: each with its loose box (the font's height,
    so the boxes of a line abut), in points from the page's top-left corner. Spaces and breaks
    PDFium makes up, and rotated text, are left out; a ligature becomes its letters, which share
    its box."""
    import ctypes

    import pypdfium2.raw as raw

    left, _bottom, _right, top = page.get_bbox()
    textpage = page.get_textpage()
    try:
        out = []
        rect = raw.FS_RECTF()
        handle = textpage.raw  # the C handle: ctypes calls on it directly, not through the wrapper
        for i in range(textpage.count_chars()):
            code = raw.FPDFText_GetUnicode(handle, i)
            if not code or raw.FPDFText_IsGenerated(handle, i) == 1:
                continue
            text = "-" if code == 0x02 or raw.FPDFText_IsHyphen(handle, i) == 1 else chr(code)  # PDFium marks a
            # hyphen at a line's end as U+0002
            if text.isspace() or unicodedata.category(text) in ("Cc", "Cf", "Co", "Cs"):
                continue
            if abs(raw.FPDFText_GetCharAngle(handle, i)) > 0.01:
                continue  # rotated: a margin note or a stamp, not body text
            if not raw.FPDFText_GetLooseCharBox(handle, i, ctypes.byref(rect)):
                continue
            size = float(raw.FPDFText_GetFontSize(handle, i)) or abs(rect.top - rect.bottom)
            if 0xFB00 <= code <= 0xFB06:
                text = unicodedata.normalize("NFKC", text)
            x0, x1, y0, y1 = rect.left - left, rect.right - left, top - rect.top, top - rect.bottom
            w = (x1 - x0) / len(text)
            out += [Glyph(ch, x0 + k * w, y0, x0 + (k + 1) * w, y1, size) for k, ch in enumerate(text)]
        return out
    finally:
        textpage.close()


def _rows(glyphs: list[Glyph]) -> list[list[Glyph]]:
    """Glyphs grouped into visual rows (a glyph whose middle lies within the row's vertical
    extent joins it), each sorted left to right."""
    rows: list[list[Glyph]] = []
    top = bottom = 0.0
    for g in sorted(glyphs, key=lambda g: (round(g.top, 1), g.x0)):
        mid = (g.top + g.bottom) / 2
        if rows and top <= mid <= bottom:
            rows[-1].append(g)
            top, bottom = min(top, g.top), max(bottom, g.bottom)
            continue
        rows.append([g])
        top, bottom = g.top, g.bottom
    return [sorted(r, key=lambda g: g.x0) for r in rows]


def _gutter(rows: list[list[Glyph]], width: float) -> float | None:
    """The x of a vertical strip in the middle of the page that no glyph crosses and that has
    text on both sides on a third of the rows or more: the gap between two columns. None: one column."""
    import numpy as np

    edges = np.array([(g.x0, g.x1) for row in rows for g in row], dtype=np.float64).reshape(-1, 2)
    size = int(width) + 2
    steps = np.zeros(size + 1, dtype=np.int64)  # +1 where a glyph starts covering a point, -1 after it ends
    np.add.at(steps, np.clip(edges[:, 0].astype(np.int64), 0, size), 1)
    np.add.at(steps, np.clip(edges[:, 1].astype(np.int64) + 1, 0, size), -1)
    covered = np.cumsum(steps)[:size]
    lo, hi = int(width * 0.3), int(width * 0.7)
    best, run_start = None, None
    for x in range(lo, hi + 1):
        if covered[x] == 0 and run_start is None:
            run_start = x
        if (covered[x] != 0 or x == hi) and run_start is not None:
            if x - run_start >= 6 and (best is None or x - run_start > best[1] - best[0]):
                best = (run_start, x)
            run_start = None
    if best is None:
        return None
    mid = (best[0] + best[1]) / 2
    both = sum(1 for r in rows if r[0].x1 <= mid <= r[-1].x0)
    return mid if both >= max(2, len(rows) // 3) else None


def _page_rows(glyphs: list[Glyph], width: float) -> list[Row]:
    """The page's rows in reading order: spanning rows where they fall, columns read one after
    the other between them."""
    rows = _rows(glyphs)
    gutter = _gutter(rows, width)
    if gutter is None:
        return [Row(tuple(r), 0) for r in rows]
    out: list[Row] = []
    band: tuple[list[Row], list[Row]] = ([], [])
    for r in rows:
        left = [g for g in r if g.x1 <= gutter]
        right = [g for g in r if g.x0 >= gutter]
        if len(left) + len(right) < len(r):  # a glyph crosses the gutter: the row spans both columns
            out += band[0] + band[1]
            band = ([], [])
            out.append(Row(tuple(r), -1))
            continue
        if left:
            band[0].append(Row(tuple(left), 0))
        if right:
            band[1].append(Row(tuple(right), 1))
    return out + band[0] + band[1]


@dataclass(frozen=True)
class Placed:
    """Where a row sat, kept once its glyphs are turned into text (the glyphs are let go, so a
    long PDF holds a few numbers per row, not an object per character)."""

    top: float
    bottom: float
    column: int
    size: float

    @classmethod
    def of(cls, row: Row) -> Placed:
        return cls(row.top, row.bottom, row.column, row.size)


def _row_text(row: Row) -> tuple[str, list[float], list[float], tuple[int, ...]]:
    """The row's text with a space wherever the gap between glyphs is a word gap, each
    character's x extent (a space spans its gap), and where the spaces standing for gaps wider
    than ``CELL_GAP`` are (the gaps between a table's cells, if the rows around agree)."""
    text, x0, x1, wide = [], [], [], []
    prev = None
    for g in row.glyphs:
        size = max(g.size, prev.size) if prev is not None else g.size
        if prev is not None and g.x0 - prev.x1 > 0.15 * size:
            if g.x0 - prev.x1 > CELL_GAP * size:
                wide.append(len(text))
            text.append(" ")
            x0.append(prev.x1)
            x1.append(g.x0)
        text.append(g.text)
        x0.append(g.x0)
        x1.append(g.x1)
        prev = g
    return "".join(text), x0, x1, tuple(wide)


def _running(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.split())).lower()


# -- the whole file ------------------------------------------------------------------------------
def extract(path: Path) -> tuple[str, Layout]:
    """The text of the PDF at ``path`` and where each of its characters is; raises
    DocumentError for a file that has no usable text layer or cannot be read."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == raw.FPDF_ERR_PASSWORD:
            raise DocumentError(f"{path}: is encrypted; save a copy without a password and index that") from None
        raise DocumentError(f"{path}: is damaged or not a PDF ({str(exc).rstrip('.')}); "
                            f"re-save or re-export it") from None
    try:
        n = len(pdf)
        if n > MAX_PAGES:
            raise DocumentError(f"{path}: has {n:,} pages, over the {MAX_PAGES:,}-page limit; split it")
        pages: list[list[Kept]] = []
        sizes: list[tuple[float, float]] = []
        for i in range(n):
            try:
                page = pdf[i]
            except pdfium.PdfiumError as exc:
                raise DocumentError(f"{path}: page {i + 1} is damaged ({str(exc).rstrip('.')}); "
                                    f"re-save or re-export it") from None
            try:
                width, height = (float(v) for v in page.get_size())
                rows = _page_rows(_glyphs(page), width)
            finally:
                page.close()
            sizes.append((width, height))
            pages.append([_kept(r) for r in rows])
    finally:
        pdf.close()
    if not any(pages):
        raise DocumentError(f"{path}: has no text layer (a scan?); run OCR on it (e.g. ocrmypdf) and index the result")
    return _assemble(pages, sizes)


Kept = tuple[Placed, str, tuple[float, ...], tuple[float, ...], tuple[int, ...]]  # a row as text, its
# characters' x extents, and where its wide gaps are (``_row_text``)


def _kept(row: Row) -> Kept:
    text, x0, x1, wide = _row_text(row)
    return Placed.of(row), text, tuple(round(v, 2) for v in x0), tuple(round(v, 2) for v in x1), wide


def _in_margin(row: Placed, height: float) -> bool:
    """Whether the row lies in the top or bottom ``MARGIN`` of a page ``height`` tall."""
    return row.bottom <= height * MARGIN or row.top >= height * (1 - MARGIN)


def _is_running(row: Placed, text: str, height: float, repeats: Counter, n_pages: int) -> bool:
    if not _in_margin(row, height):
        return False
    return bool(_PAGE_NUMBER.match(text)) or (n_pages > 1 and repeats[_running(text)] >= 2)


def _assemble(pages, sizes) -> tuple[str, Layout]:
    repeats: Counter = Counter()  # margin lines, digits ignored: on how many pages each appears
    for rows, (_w, height) in zip(pages, sizes):
        repeats.update({_running(text) for row, text, *_rest in rows if _in_margin(row, height)})
    out: list[str] = []
    lines: list[Line] = []
    length = 0
    prev: tuple[Placed, str, int, bool] | None = None  # the last line kept, its text, its page, a table row
    for number, rows in enumerate(pages, start=1):
        height = sizes[number - 1][1]
        kept = [r for r in rows if not _is_running(r[0], r[1], height, repeats, len(pages))]
        for (row, text, x0, x1, wide), table in zip(kept, _table_rows(kept)):
            if table:
                text, x0, x1 = _table_row_text(text, x0, x1, wide)
            if prev is not None:
                p_row, p_text, p_page, p_table = prev
                if table and p_table and p_page == number and p_row.column == row.column:
                    sep = "\n"  # a table's rows: one a line, never run together
                elif table or p_table:
                    sep = "\n\n"
                elif (len(p_text) > 1 and p_text.endswith("-") and p_text[-2].isalpha() and text[:1].islower()):
                    # a word hyphenated across the break: drop the hyphen, join the halves
                    last = lines[-1]
                    lines[-1] = Line(last.start, last.end - 1, last.page, last.top, last.bottom,
                                     last.x0[:-1], last.x1[:-1])
                    out[-1] = out[-1][:-1]
                    length -= 1
                    sep = ""
                elif _new_paragraph(p_row, p_text, p_page, row, text, number):
                    sep = "\n\n"
                else:
                    sep = " "
                out.append(sep)
                length += len(sep)
            lines.append(Line(length, length + len(text), number, round(row.top, 2), round(row.bottom, 2),
                              x0, x1))
            out.append(text)
            length += len(text)
            prev = (row, text, number, table)
    return "".join(out), Layout("pdf", lines=tuple(lines), page_sizes=tuple(sizes))


def _table_rows(rows: list[Kept]) -> list[bool]:
    """Which rows of a page are a table's: two or more rows one under the other in the same
    column whose wide gaps (``CELL_GAP``) line up, each gap of the row with fewer overlapping one
    of the other's. Prose has no wide gaps, and two lines with one at the same place are not
    met by chance."""
    flags = [False] * len(rows)
    for i in range(len(rows) - 1):
        (a, _ta, ax0, ax1, aw), (b, _tb, bx0, bx1, bw) = rows[i], rows[i + 1]
        if not aw or not bw or a.column != b.column or not a.top < b.top or b.top - a.bottom > 2 * max(a.size, b.size):
            continue
        fewer, more = sorted(([(ax0[k], ax1[k]) for k in aw], [(bx0[k], bx1[k]) for k in bw]), key=len)
        if all(any(max(g0, h0) < min(g1, h1) for h0, h1 in more) for g0, g1 in fewer):
            flags[i] = flags[i + 1] = True
    return flags


def _table_row_text(text: str, x0: tuple[float, ...], x1: tuple[float, ...],
                    wide: tuple[int, ...]) -> tuple[str, tuple[float, ...], tuple[float, ...]]:
    """A table row read as one sentence-like line, as a DOCX or HTML table's row is
    (``documents.row_text``, no header row): its cells joined with ", " ("; " when a cell holds a
    comma), a full stop at its end unless it ends a sentence. The separator's characters span the
    gap they stand for; the full stop is an empty box at the row's end."""
    cells = [text[a + 1:b] for a, b in zip((-1, *wide), (*wide, len(text)))]
    sep = "; " if any(", " in c for c in cells) else ", "
    out, o0, o1 = [], [], []
    for k, (a, b) in enumerate(zip((-1, *wide), (*wide, len(text)))):
        if k:
            gap = " " if out[-1][-1] in ",;:" else sep  # a cell "Note:" is followed by its text
            out.append(gap)
            o0 += [x0[a]] * len(gap)
            o1 += [x1[a]] * len(gap)
        out.append(text[a + 1:b])
        o0 += x0[a + 1:b]
        o1 += x1[a + 1:b]
    if not _ENDS_SENTENCE.search(out[-1]):
        out.append(".")
        o0.append(o1[-1])
        o1.append(o1[-1])
    return "".join(out), tuple(o0), tuple(o1)


def _new_paragraph(p_row: Placed, p_text: str, p_page: int, row: Placed, text: str, page: int) -> bool:
    """Whether the line ``text`` starts a paragraph after ``p_text``."""
    same_flow = p_page == page and p_row.column == row.column and row.top > p_row.top
    if same_flow:
        gap = row.top - p_row.bottom
        return gap > 0.6 * max(row.size, p_row.size) or (row.size > p_row.size * 1.15) or (
            p_row.size > row.size * 1.15)
    # over a page or column break: one paragraph unless the line before closed a sentence and
    # this one starts a new one
    return bool(_SENTENCE_END.search(p_text)) and not text[:1].islower()


# -- the child process ---------------------------------------------------------------------------
def read_pdf(path: Path, shown: str) -> tuple[str, Layout]:
    """``extract`` in a child process limited to ``MEMORY_LIMIT_BYTES`` and ``TIME_LIMIT_S``: a
    decompression bomb or a pathological file ends in a DocumentError naming ``shown``."""

    def limit():  # runs in the child before it starts
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))

    try:
        done = subprocess.run([sys.executable, "-m", "qa.index.pdf", str(path)], capture_output=True,
                              timeout=TIME_LIMIT_S, preexec_fn=limit, check=False)
    except subprocess.TimeoutExpired:
        raise DocumentError(f"{shown}: reading it took over {TIME_LIMIT_S} s (a damaged or hostile PDF?); "
                            f"re-save or split it") from None
    if done.returncode == 3:  # the child's one line: why (the file named here, as the user gave it)
        raise DocumentError(f"{shown}: {done.stderr.decode('utf-8', 'replace').strip()}")
    if done.returncode != 0:  # out of memory: a MemoryError, or PDFium aborting on a failed allocation
        why = f"it needs more than the {MEMORY_LIMIT_BYTES >> 20:,} MB allowed" if (
            b"MemoryError" in done.stderr or done.returncode < 0) else f"the reader stopped with code {done.returncode}"
        raise DocumentError(f"{shown}: could not be read ({why}; a damaged or hostile PDF?); re-save or split it")
    row = json.loads(done.stdout)
    return row["text"], Layout.from_json(row["layout"])


def main(argv: list[str]) -> int:
    try:
        text, layout = extract(Path(argv[0]))
    except DocumentError as exc:
        why = str(exc)
        print(why.removeprefix(f"{argv[0]}: "), file=sys.stderr)
        return 3
    sys.stdout.write(json.dumps({"text": text, "layout": layout.to_json()}, ensure_ascii=False,
                                separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
