"""Sentences and passages with ``[start, end)`` offsets into the document text.

Sentences never cross a line break and never include boilerplate lines. Passages are
windows of a few consecutive sentences that overlap by one, never spanning boilerplate.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .documents import Document, Span, iter_lines, looks_like_headline
from ..settings import Splitter

MAX_SENTENCE_CHARS = 1500

# Tokens ending in a full stop that do not end a sentence (compared lowercased, without the stop).
ABBREVIATIONS = frozenset("""
mr mrs ms dr prof st jr sr gen col lt sgt capt cmdr adm gov sen rep rev pres hon fr
jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
no nos vol vols fig figs p pp approx est dept univ inc corp ltd co bros vs etc al ave blvd rd mt ft
""".split())

_CANDIDATE = re.compile(r"[.!?…]+['\"’”)\]]*(?=\s+\S)")
_DOTTED = re.compile(r"(?:[A-Za-z]\.){2,}$")
_QUOTE_PAIR = re.compile(r"“[^“”]*”|\"[^\"]*\"")


@dataclass(frozen=True)
class Sentence:
    doc_id: str
    start: int
    end: int
    heading: bool = False


@dataclass(frozen=True)
class Passage:
    doc_id: str
    start: int
    end: int
    first_sentence: int
    last_sentence: int  # inclusive index into the document's sentence list

    @property
    def passage_id(self) -> str:
        return f"{self.doc_id}:{self.start}-{self.end}"


def _protected_quotes(line: str) -> list[tuple[int, int]]:
    """Quoted spans inside which a full stop does not end the sentence: quotes that
    close with a comma, or are followed by a lowercase attribution ("…?” he said)."""
    spans = []
    for m in _QUOTE_PAIR.finditer(line):
        inner_end = m.end() - 1
        after = line[m.end():].lstrip()
        if line[inner_end - 1:inner_end] == "," or (after and after[0].islower()):
            spans.append((m.start(), m.end()))
    return spans


def _is_boundary(line: str, punct_start: int, punct_end: int, protected: list[tuple[int, int]]) -> bool:
    nxt = line[punct_end:].lstrip()[:1]
    if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in "“‘\"'(["):
        return False
    if any(a < punct_start < b - 1 for a, b in protected):
        return False
    if line[punct_start] != ".":
        return True
    word = line[:punct_start + 1].rsplit(None, 1)[-1].lstrip("“‘\"'([")
    if _DOTTED.search(word):  # U.S. U.N. e.g.
        return False
    bare = word[:-1]
    if len(bare) == 1 and bare.isalpha() and bare.isupper():  # an initial: Franklin D. Roosevelt
        return False
    return bare.lower() not in ABBREVIATIONS


def _chop(start: int, end: int, text: str) -> Iterator[tuple[int, int]]:
    """Cut an over-long sentence at whitespace so no piece exceeds MAX_SENTENCE_CHARS."""
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + 1, start + MAX_SENTENCE_CHARS)
        if cut <= start:
            cut = start + MAX_SENTENCE_CHARS
        yield start, cut
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        yield start, end


def split_line(line: str) -> list[tuple[int, int]]:
    """Sentence spans within one line (offsets relative to the line), whitespace trimmed."""
    protected = _protected_quotes(line)
    spans: list[tuple[int, int]] = []
    start = len(line) - len(line.lstrip())
    for m in _CANDIDATE.finditer(line):
        if m.end() <= start or not _is_boundary(line, m.start(), m.end(), protected):
            continue
        spans.append((start, m.end()))
        start = m.end() + (len(line[m.end():]) - len(line[m.end():].lstrip()))
    end = len(line.rstrip())
    if end > start:
        spans.append((start, end))
    return spans


def split_sentences(doc: Document) -> list[Sentence]:
    boiler = {(s.start, s.end) for s in doc.boilerplate}
    out: list[Sentence] = []
    for line in iter_lines(doc.text):
        if (line.start, line.end) in boiler:
            continue
        text = doc.text[line.start:line.end]
        if not text.strip():
            continue
        pieces = split_line(text)
        heading = len(pieces) == 1 and looks_like_headline(text)
        for a, b in pieces:
            for s, e in _chop(line.start + a, line.start + b, doc.text):
                out.append(Sentence(doc.doc_id, s, e, heading=heading))
    return out


def _segments(doc: Document, sentences: list[Sentence]) -> Iterator[list[int]]:
    """Runs of sentence indices not separated by a boilerplate line."""
    cuts = sorted(s.start for s in doc.boilerplate)
    run: list[int] = []
    for i, s in enumerate(sentences):
        if run and any(sentences[run[-1]].end <= c < s.start for c in cuts):
            yield run
            run = []
        run.append(i)
    if run:
        yield run


def make_passages(doc: Document, sentences: list[Sentence], splitter: Splitter) -> list[Passage]:
    size = max(1, splitter.sentences_per_passage)
    stride = max(1, size - max(0, splitter.overlap))
    out: list[Passage] = []
    for run in _segments(doc, sentences):
        i = 0
        while i < len(run):
            j = i
            while (j + 1 < len(run) and j + 1 - i < size
                   and sentences[run[j + 1]].end - sentences[run[i]].start <= splitter.max_chars):
                j += 1
            first, last = run[i], run[j]
            out.append(Passage(doc.doc_id, sentences[first].start, sentences[last].end, first, last))
            if j == len(run) - 1:
                break
            i = max(i + 1, min(i + stride, j + 1 - max(0, splitter.overlap)))
    return out


def sentence_span(sentence: Sentence) -> Span:
    return Span(sentence.start, sentence.end)
