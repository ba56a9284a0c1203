"""Escaped HTML for the web chat: chat replies, the sources panel and the documents list.

Every piece of text that comes from a document, a question or a file name passes through
``esc`` before it is put into markup. ``esc`` writes HTML's special characters, and the
characters that Markdown, LaTeX and template engines read as syntax (``* _ [ ] $ { }`` ...),
as numeric character references: the browser shows them as typed, and no layer between this
string and the DOM (the Chatbot's Markdown renderer, gr.HTML's template) can act on them.

Chat messages are single-line HTML blocks (no newline in them), so the Chatbot's Markdown
renderer passes them through as HTML. It also sanitizes them, but nothing here relies on that.
Pure functions only: no Gradio import, so the tests run without a server.
"""
from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

from qa.answer_types import ABSTAIN_TEXT
from qa.conversation import UNRESOLVED

if TYPE_CHECKING:
    from qa.answer_types import Answer, Quote
    from qa.index.documents import Document
    from qa.index.retriever import Hit

# HTML's five, plus what Markdown (emphasis, links, code, tables, headings), KaTeX ($) and
# template engines (${...}, {{...}}) would interpret.
_ESCAPES = {ord(c): f"&#{ord(c)};" for c in "&<>\"'`\\*_[]$}{~|#"}
SNIPPET_CHARS = 160
NEAREST_IN_CHAT = 3  # nearest passages listed in an abstaining reply; the panel shows all
WINDOW_MARGIN = 240  # characters shown either side of a quote found in no retrieved passage
ECHO_CHARS = 160  # a question over the length limit is shown cut to this many characters

EMPTY_CHAT = ("Ask a question below. Each answer is quoted word for word from the documents, with the file "
              "and characters it came from; when the documents don't say, the answer says so.")
EMPTY_SOURCES = ('<div class="qa-sources"><p class="qa-empty">Ask a question: the passages the answer '
                 'quotes appear here, with the quoted words highlighted.</p></div>')


def esc(text: object) -> str:
    """Text as inert HTML: shows exactly these characters, means nothing to any renderer."""
    return str(text).translate(_ESCAPES)


def squash(text: str) -> str:
    """Runs of whitespace (newlines included) as one space, ends kept, so pieces can be joined."""
    return re.sub(r"\s+", " ", text)


def file_label(path: str) -> str:
    """The file name shown for a document path (its folder is the documents folder)."""
    return PurePath(path.replace("\\", "/")).name or path


def titled(title: str, path: str) -> bool:
    """Whether a document's title says more than its file name (an article without a headline is
    titled by its file name)."""
    return title != file_label(path)


def cite_source(title: str, path: str) -> str:
    """'<cite>Title</cite> — file.txt', or just the file name when the title is the file name."""
    name = esc(file_label(path))
    return f"<cite>{esc(title)}</cite> \u2014 {name}" if titled(title, path) else name


def anchor(turn: int, n: int) -> str:
    """Element id of citation ``n`` of chat turn ``turn`` in the sources panel."""
    return f"src-{turn}-{n}"


def char_range(start: int, end: int) -> str:
    return f"characters {start:,}\u2013{end:,}"


def cite_link(turn: int, n: int) -> str:
    return f'<a class="qa-cite-link" href="#{anchor(turn, n)}">[{n}]</a>'


def quote_inner(quote: Quote, *, flat: bool) -> str:
    """The quote escaped, its short-answer span in <strong> when it is a part of the quote."""
    text = quote.text
    a, b = quote.answer_start, quote.answer_end
    shape = squash if flat else str
    if not (0 <= a < b <= len(text)) or (a, b) == (0, len(text)):
        return esc(shape(text))
    return f"{esc(shape(text[:a]))}<strong>{esc(shape(text[a:b]))}</strong>{esc(shape(text[b:]))}"


def user_html(question: str, max_chars: int | None = None) -> str:
    """The user's message. A question longer than ``max_chars`` (it is refused) is not echoed
    whole: its first words and its length."""
    stripped = question.strip()
    if max_chars is None or len(stripped) <= max_chars:
        return f'<div class="qa-question">{esc(squash(stripped))}</div>'
    head = squash(stripped[:ECHO_CHARS + 1])
    cut = textwrap.shorten(head, ECHO_CHARS, placeholder="") or head[:ECHO_CHARS]
    return (f'<div class="qa-question">{esc(cut)}\u2026 '
            f'<small class="qa-length">({len(stripped):,} characters)</small></div>')


def error_html(message: str) -> str:
    return f'<div class="qa-error"><p>\u26a0 {esc(squash(message).strip())}</p></div>'


def understood_html(resolved: str | None, question: str) -> str:
    if not resolved or squash(resolved).strip() == squash(question).strip():
        return ""
    return f'<p class="qa-understood"><small>(understood as: {esc(squash(resolved).strip())})</small></p>'


def place_prefix(place: str) -> str:
    """ "p. 3, " before the character range of a PDF or DOCX citation; nothing for a text file."""
    return f"{esc(place)}, " if place else ""


def citation_html(turn: int, n: int, title: str, path: str, start: int, end: int, place: str = "") -> str:
    return (f'<li>{cite_link(turn, n)} {cite_source(title, path)}, '
            f'{place_prefix(place)}{char_range(start, end)}</li>')


def conflict_html(answer: Answer, turn: int) -> str:
    parts = []
    for value in answer.values:
        links = ", ".join(cite_link(turn, i + 1) for i in value.quotes)
        parts.append(f"\u201c{esc(value.answer)}\u201d {links}")
    detail = ": " + " \u00b7 ".join(parts) if parts else ""
    return f'<p class="qa-conflict">Sources differ{detail}</p>'


def answered_html(answer: Answer, turn: int) -> str:
    parts = [f'<p class="qa-answer"><strong>{esc(answer.answer or "")}</strong></p>']
    if answer.conflict:
        parts.append(conflict_html(answer, turn))
    for n, quote in enumerate(answer.quotes, start=1):
        parts.append(f"<blockquote><p>\u201c{quote_inner(quote, flat=True)}\u201d {cite_link(turn, n)}</p>"
                     "</blockquote>")
    cites = "".join(citation_html(turn, n, q.title, q.path, q.start, q.end, q.place)
                    for n, q in enumerate(answer.quotes, start=1))
    parts.append(f'<ol class="qa-citations">{cites}</ol>')
    return "".join(parts)


def snippet(text: str) -> str:
    return textwrap.shorten(" ".join(text.split()), SNIPPET_CHARS, placeholder=" \u2026")


def abstained_html(answer: Answer, turn: int) -> str:
    parts = [f'<p class="qa-answer qa-abstain"><strong>{esc(ABSTAIN_TEXT)}</strong></p>']
    if answer.passages:
        items = "".join(
            f"<li>{cite_link(turn, n)} {cite_source(h.document.title, h.document.path)}, "
            f"{place_prefix(h.place)}{char_range(h.passage.start, h.passage.end)}: "
            f"\u201c{esc(snippet(h.text))}\u201d</li>"
            for n, h in enumerate(answer.passages[:NEAREST_IN_CHAT], start=1))
        parts.append(f'<p>Nearest passages (all of them under Sources):</p><ol class="qa-nearest">{items}</ol>')
    return "".join(parts)


def reply_html(answer: Answer, turn: int, resolved: str | None = None, *, unresolved: bool = False) -> str:
    """The assistant's chat message for one answer, one line of HTML. ``unresolved``: the question
    seemed to lean on earlier turns but was asked as it stands."""
    body = answered_html(answer, turn) if answer.answered else abstained_html(answer, turn)
    if unresolved:
        head = f'<p class="qa-understood"><small>({esc(UNRESOLVED)})</small></p>'
    else:
        head = understood_html(resolved if resolved is not None else answer.resolved_question, answer.question)
    return f'<div class="qa-reply">{head}{body}</div>'


# -- sources panel -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """The stretch ``text[start:end]`` of a document shown around a quote at ``[qstart, qend)``."""

    text: str
    start: int
    end: int
    qstart: int
    qend: int

    @classmethod
    def quote_only(cls, quote: Quote) -> Window:
        """When the document text is unknown or no longer matches the quote: the quote alone."""
        return cls(quote.text, 0, len(quote.text), 0, len(quote.text))


def _snap_left(text: str, i: int) -> int:
    if i <= 0:
        return 0
    space = text.rfind(" ", 0, i)
    return space + 1 if space > i - 40 else i


def _snap_right(text: str, i: int) -> int:
    if i >= len(text):
        return len(text)
    space = text.find(" ", i)
    return space if 0 <= space < i + 40 else i


def source_window(quote: Quote, passages: Sequence[Hit], documents: Mapping[str, Document],
                  margin: int = WINDOW_MARGIN) -> Window:
    """The retrieved passage holding the quote, else a window of the document around it."""
    text = None
    for hit in passages:
        if hit.passage.doc_id != quote.doc_id:
            continue
        text = hit.document.text
        if hit.passage.start <= quote.start and quote.end <= hit.passage.end:
            if text[quote.start:quote.end] == quote.text:
                return Window(text, hit.passage.start, hit.passage.end, quote.start, quote.end)
    if text is None and quote.doc_id in documents:
        text = documents[quote.doc_id].text
    if text is None or text[quote.start:quote.end] != quote.text:
        return Window.quote_only(quote)
    return Window(text, _snap_left(text, quote.start - margin), _snap_right(text, quote.end + margin),
                  quote.start, quote.end)


def marked_passage(window: Window, quote: Quote) -> str:
    """The window escaped, the quote inside one <mark>: exactly ``text[quote.start:quote.end]``."""
    text = window.text
    lead = "\u2026" if text[:window.start].strip() else ""
    tail = "\u2026" if text[window.end:].strip() else ""
    return (f"{lead}{esc(text[window.start:window.qstart])}<mark>{quote_inner(quote, flat=False)}</mark>"
            f"{esc(text[window.qend:window.end])}{tail}")


def source_card(turn: int, n: int, title: str, path: str, start: int, end: int, body: str, place: str = "",
                figures: str = "") -> str:
    where = f"{esc(place)} \u00b7 " if place else ""
    return (f'<section class="qa-source" id="{anchor(turn, n)}">'
            f'<div class="qa-source-head"><span class="qa-num">[{n}]</span> <b>{esc(title)}</b></div>'
            f'<div class="qa-meta">{esc(file_label(path))} \u00b7 {where}{char_range(start, end)}</div>'
            f'<div class="qa-passage">{body}</div>{figures}</section>')


def page_figures(images: Sequence, n: int) -> str:
    """The pages a PDF quote spans, each an image with the quote's boxes painted on it."""
    return "".join(f'<figure class="qa-page"><button type="button" class="qa-page-open" '
                   f'title="Open page {img.page} full size"><img src="{img.data_uri}" alt="page {img.page}, '
                   f'quote [{n}] highlighted" loading="lazy"></button>'
                   f'<figcaption>p. {img.page} \u00b7 click the page to open it full size</figcaption></figure>'
                   for img in images)


def sources_html(answer: Answer, turn: int, documents: Mapping[str, Document],
                 pages: Callable[[Quote, Document | None], Sequence] | None = None) -> str:
    """The sources panel for one answer: each quote in its passage (and, for a PDF, the pages it
    spans from ``pages``: highlighted page images), or the nearest passages."""
    head = (f'<p class="qa-sources-for">Sources for turn {turn}: '
            f'\u201c{esc(squash(answer.question).strip())}\u201d</p>')
    if answer.answered:
        cards = [source_card(turn, n, q.title, q.path, q.start, q.end,
                             marked_passage(source_window(q, answer.passages, documents), q), q.place,
                             page_figures(pages(q, documents.get(q.doc_id)), n) if pages and q.boxes else "")
                 for n, q in enumerate(answer.quotes, start=1)]
    else:
        head += f'<p class="qa-empty">{esc(ABSTAIN_TEXT)} The nearest passages:</p>'
        cards = [source_card(turn, n, h.document.title, h.document.path, h.passage.start, h.passage.end,
                             esc(h.text), h.place)
                 for n, h in enumerate(answer.passages, start=1)]
    return f'<div class="qa-sources">{head}{"".join(cards)}</div>'


# -- documents list ----------------------------------------------------------------------------

@dataclass(frozen=True)
class DocRow:
    title: str
    path: str
    size: int  # bytes on disk, or characters when the file is gone
    uploaded: bool = False  # added from the page: it can be removed there
    indexed: bool = True


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def remove_button(row: DocRow) -> str:
    name = esc(file_label(row.path))
    return (f'<button type="button" class="qa-remove" data-file="{name}" '
            f'aria-label="Remove {name}">Remove</button>')


def doc_row_html(row: DocRow, actions: bool) -> str:
    """One document: its title and file name, or, for a document without a headline, its file name
    once across both columns: the name its answers, citations and JSON ``title`` give it too."""
    name = esc(file_label(row.path))
    if not row.indexed:
        cells = f'<td class="qa-title"><span class="qa-empty">not indexed</span></td><td class="qa-file">{name}</td>'
    elif titled(row.title, row.path):
        cells = f'<td class="qa-title">{esc(row.title)}</td><td class="qa-file">{name}</td>'
    else:
        cells = f'<td class="qa-title qa-file" colspan="2">{name}</td>'
    cells += f'<td class="qa-size">{human_size(row.size)}</td>'
    if actions:
        cells += f'<td class="qa-actions">{remove_button(row) if row.uploaded else ""}</td>'
    return f'<tr class="qa-uploaded">{cells}</tr>' if row.uploaded else f"<tr>{cells}</tr>"


def documents_html(rows: Sequence[DocRow]) -> str:
    """The documents in the index, uploads with a Remove button (the documents folders' own
    files are listed, never removable from the page)."""
    if not rows:
        return '<div class="qa-docs"><p class="qa-empty">No documents in the index yet.</p></div>'
    indexed = sum(r.indexed for r in rows)
    uploads = sum(r.uploaded for r in rows)
    count = f'{indexed} document{"s" if indexed != 1 else ""} in the index'
    if uploads:
        count += f" ({uploads} added here)"
    actions = uploads > 0
    head = "<th>Title</th><th>File</th><th>Size</th>" + ('<th><span class="qa-hidden">Remove</span></th>'
                                                          if actions else "")
    body = "".join(doc_row_html(r, actions) for r in rows)
    return (f'<div class="qa-docs"><p>{count}</p>'
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def working_html(text: str) -> str:
    """The notice shown while an upload or a removal is being indexed."""
    return f'<ul class="qa-notices"><li class="qa-working">{esc(text)}</li></ul>'


def notice_html(lines: Sequence[tuple[bool, str]]) -> str:
    """Upload results: (ok, message) each on its own line."""
    items = "".join(f'<li class="qa-ok">\u2713 {esc(msg)}</li>' if ok
                    else f'<li class="qa-rejected">\u2717 {esc(msg)}</li>' for ok, msg in lines)
    return f'<ul class="qa-notices">{items}</ul>' if items else ""
