"""Extractive answers: retrieve, let the reader propose spans, score them, quote the sentence that
holds the best one, cite every document that agrees, flag those that differ, and abstain when
nothing is likely enough.

The collaborators come in explicitly: the retriever (passages, sentences, BM25 statistics), the
question's vector, the reader and the answerability model.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .answer_types import Answer, Quote, Value
from .question import Kind, Question, analyze
from .reader.model import Reader
from .index.retriever import Hit, Retriever
from .scoring import Answerability, Evidence, features, with_standing
from .settings import Mode
from .spans import first_count, snap
from .support import Scored, select
from .values import same_value

SEARCH_POOL = 10  # beyond the top k passages it reads, the reader looks this far down the ranking
SUPPORT_DOCUMENTS = 2  # ... for the best passage of this many documents not yet read, so that agreeing
# and differing sources are found
LONG_QUOTE = 320  # longer sentences are cut to the clauses around the answer


@dataclass(frozen=True)
class Region:
    """Contiguous text the reader reads: overlapping passages of one document merged."""

    doc_id: str
    start: int
    end: int
    first_sentence: int
    last_sentence: int
    rank: int  # best retrieval rank among its passages


@dataclass(frozen=True)
class Candidate:
    doc_id: str
    start: int  # absolute offsets of the short answer in the document
    end: int
    first_sentence: int  # global indices of the sentences holding it
    last_sentence: int
    region: int
    features: dict[str, float]
    probability: float


def regions(hits: Sequence[Hit], read: int) -> list[Region]:
    """The top ``read`` passages and a few more documents' best, overlapping passages of a
    document merged, best rank first."""
    picked = list(hits[:read])
    docs = {h.passage.doc_id for h in picked}
    wanted = len(docs) + SUPPORT_DOCUMENTS
    for h in hits[read:max(read, SEARCH_POOL)]:
        if len(docs) >= wanted:
            break
        if h.passage.doc_id not in docs:
            picked.append(h)
            docs.add(h.passage.doc_id)
    merged: list[Region] = []
    for h in sorted(picked, key=lambda h: (h.passage.doc_id, h.passage.start)):
        p = h.passage
        last = merged[-1] if merged else None
        if last and last.doc_id == p.doc_id and p.start < last.end:
            merged[-1] = Region(p.doc_id, last.start, max(last.end, p.end), last.first_sentence,
                                max(last.last_sentence, p.last_sentence), min(last.rank, h.rank))
        else:
            merged.append(Region(p.doc_id, p.start, p.end, p.first_sentence, p.last_sentence, h.rank))
    return sorted(merged, key=lambda r: r.rank)


def _sentences_of(retriever: Retriever, region: Region, a: int, b: int) -> tuple[int, int]:
    inside = [i for i in range(region.first_sentence, region.last_sentence + 1)
              if retriever.sentences[i].start < b and retriever.sentences[i].end > a]
    return (inside[0], inside[-1]) if inside else (region.first_sentence, region.last_sentence)


def candidates(question: str, keywords: tuple[str, ...], query_vector: np.ndarray, regs: Sequence[Region],
               retriever: Retriever, reader: Reader, model: Answerability) -> list[Candidate]:
    docs = retriever.documents
    sentence_vectors = retriever.data.sentence_vectors
    query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    texts = [docs[r.doc_id].text[r.start:r.end] for r in regs]
    starts = [[retriever.sentences[i].start - r.start for i in range(r.first_sentence, r.last_sentence + 1)]
              for r in regs]
    proposed = []
    for s in reader.read(question, texts, sentence_starts=starts):
        r = regs[s.context]
        text = docs[r.doc_id].text
        a, b = snap(text, r.start + s.start, r.start + s.end)
        if b > a:
            proposed.append((s, r, a, b))
    # Agreement: how many other regions' own best span gives the same value.
    best_of: dict[int, str] = {}
    for s, r, a, b in proposed:
        best_of.setdefault(s.context, docs[r.doc_id].text[a:b])
    found, seen = [], set()
    for s, r, a, b in proposed:
        if (r.doc_id, a, b) in seen:
            continue
        seen.add((r.doc_id, a, b))
        text = docs[r.doc_id].text
        first, last = _sentences_of(retriever, r, a, b)
        value = text[a:b]
        ev = Evidence(question, keywords, value, text[retriever.sentences[first].start:retriever.sentences[last].end],
                      texts[s.context], r.rank, s.score, s.null, s.logprob,
                      sum(same_value(v, value) for c, v in best_of.items() if c != s.context),
                      float(np.max(sentence_vectors[first:last + 1] @ query)), text[b:retriever.sentences[last].end])
        found.append((r.doc_id, a, b, first, last, s.context, features(ev, retriever.bm25.idf)))
    ranked = with_standing([f[-1] for f in found])
    out = [Candidate(*f[:-1], feats, model.probability(feats)) for f, feats in zip(found, ranked)]
    return sorted(out, key=lambda c: -c.probability)


def quote_bounds(doc_text: str, s_start: int, s_end: int, a: int, b: int) -> tuple[int, int]:
    """The sentence, or for a long one the clauses around the answer span."""
    if s_end - s_start <= LONG_QUOTE:
        return s_start, s_end
    text = doc_text[s_start:s_end]
    cuts = [0] + [m.end() for m in re.finditer(r"[,;:—–]\s+", text)] + [len(text)]
    lo = max(c for c in cuts if c <= a - s_start)
    hi = min(c for c in cuts if c >= b - s_start)
    while hi - lo < LONG_QUOTE // 2:
        left = [c for c in cuts if c < lo]
        right = [c for c in cuts if c > hi]
        if not left and not right:
            break
        if right and (not left or (right[0] - hi) <= (lo - left[-1])):
            hi = right[0]
        else:
            lo = left[-1]
    qa, qb = s_start + lo, s_start + hi
    while qb > qa and doc_text[qb - 1] in " ,;:—–":
        qb -= 1
    return qa, qb


def asks_count(q: Question) -> bool:
    """Whether the question asks for a count ("how many ...", "what number of ..."), not an
    amount, an age, a length or a share (which "how much", "how old", "what percentage" ask)."""
    return q.wh == "how many" or (q.kind is Kind.NUMBER and bool(re.search(r"\b(?:what|which) (?:number|total)\b",
                                                                           " ".join(q.text.lower().split()))))


def counted(c: Candidate, retriever: Retriever) -> Candidate:
    """A how-many answer keeps the count asked for: "9 of its 52" becomes "9" (``spans.first_count``)."""
    _, end = first_count(retriever.documents[c.doc_id].text, c.start, c.end)
    return c if end == c.end else replace(c, end=end)


def _quote(c: Candidate, retriever: Retriever) -> Quote:
    doc = retriever.documents[c.doc_id]
    s_start, s_end = retriever.sentences[c.first_sentence].start, retriever.sentences[c.last_sentence].end
    start, end = quote_bounds(doc.text, min(s_start, c.start), max(s_end, c.end), c.start, c.end)
    layout = doc.layout
    pdf, docx = layout is not None and layout.kind == "pdf", layout is not None and layout.kind == "docx"
    return Quote(text=doc.text[start:end], doc_id=doc.doc_id, path=doc.path, title=doc.title, start=start,
                 end=end, answer_start=c.start - start, answer_end=c.end - start, score=c.probability,
                 pages=layout.pages(start, end) if pdf else (), boxes=layout.boxes(start, end) if pdf else (),
                 paragraphs=layout.paragraph_numbers(start, end) if docx else (),
                 rows=layout.table_rows(start, end) if docx else ())


def answer(question: str, *, retriever: Retriever, query_vector: np.ndarray, reader: Reader,
           model: Answerability, mode: Mode, k: int, threshold: float | None = None,
           query: str | None = None) -> Answer:
    """Answer ``question`` from the top ``k`` passages; ``query`` (a follow-up's rewritten form) is
    what is searched and read.
    ``threshold``: the probability below which the tool abstains (default: the calibrated one)."""
    text = query or question
    q = analyze(text)
    cut = model.threshold if threshold is None else threshold
    hits = retriever.search(text, max(k, SEARCH_POOL), mode, lambda _q: query_vector)
    top = tuple(hits[:k])
    resolved = query if query and query != question else None
    cands = candidates(text, q.keywords, query_vector, regions(hits, k), retriever, reader, model) if hits else []
    if not cands or cands[0].probability < cut:
        confidence = cands[0].probability if cands else 0.0
        return Answer(question, False, None, (), False, top, (), q.kind.value, confidence, resolved)
    if asks_count(q):
        cands = [counted(c, retriever) for c in cands]
    docs = retriever.documents
    scored = [Scored(c.doc_id, docs[c.doc_id].text[c.start:c.end], c.probability,
                     all(retriever.sentences[i].heading for i in range(c.first_sentence, c.last_sentence + 1)))
              for c in cands]
    sel = select(scored, cut, q.wants_value)
    quotes = tuple(_quote(cands[i], retriever) for i in sel.chosen)
    values: list[Value] = []
    for i, quote in enumerate(quotes):
        for j, v in enumerate(values):
            if same_value(v.answer, quote.answer):
                values[j] = Value(v.answer, v.quotes + (i,))
                break
        else:
            values.append(Value(quote.answer, (i,)))
    return Answer(question, True, quotes[0].answer, quotes, sel.conflict and len(values) > 1, top,
                  tuple(values), q.kind.value, cands[0].probability, resolved)
