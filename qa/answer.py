"""Extractive answers: pick the sentence and the short span that answer, cite every document that
supports it, flag documents that disagree, and abstain when nothing answers.

Scoring is a small linear model over features a reader can check: cosine similarity of the
precomputed sentence vector to the question, idf-weighted coverage of the question's words in the
sentence and its passage, whether a span of the asked type is present, how close it sits to the
question's words, and (for "how many X") whether it counts X. Weights and the abstention threshold
were set on the dev split of seeds/questions.jsonl and are measured on the held-back test split.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from . import spans
from .answer_types import Answer, Quote, Value
from .question import Kind, Question, analyze
from .retriever import Hit, Retriever
from .settings import Mode
from .tokenize import STOPWORDS, fold, tokenize, words

log = logging.getLogger(__name__)

W_DENSE = 1.0
W_LEXICAL = 0.8
W_CONTEXT = 0.2
W_RANK = 0.1
W_TYPE = 0.25
W_PROXIMITY = 0.15
W_FOCUS = 0.3
HEADING_PENALTY = 0.25
NO_TYPE_PENALTY = 0.35
ABSTAIN_BELOW = 0.95  # answer confidence threshold (dev split)
SUPPORT_MARGIN = 0.35  # another document's quote is cited when within this of the best score
CONFLICT_MARGIN = 0.12  # ... and shown as a differing value only when this close
SUPPORT_POOL = 10  # passages searched for supporting and conflicting quotes
LONG_QUOTE = 320  # longer sentences are cut to the clauses around the answer
VALUE_KINDS = (Kind.NUMBER, Kind.PERSON, Kind.ORGANIZATION, Kind.PLACE, Kind.DATE)


@dataclass(frozen=True)
class Candidate:
    """One possible answer: a span inside a sentence, with its score."""

    sentence: int  # global sentence index
    doc_id: str
    span_start: int  # absolute offsets of the short answer in the document
    span_end: int
    score: float
    sentence_score: float
    typed: bool  # the span is of the asked type


def _coverage(keywords: tuple[str, ...], tokens: set[str], retriever: Retriever) -> float:
    if not keywords:
        return 0.0
    total = sum(retriever.bm25.idf(t) for t in set(keywords))
    return sum(retriever.bm25.idf(t) for t in set(keywords) if t in tokens) / total if total else 0.0


def _question_words(q: Question) -> set[str]:
    return {w for w in words(q.text) if w not in STOPWORDS}


def _repeats_question(text: str, qwords: set[str]) -> bool:
    ws = [w for w in words(text) if w not in STOPWORDS]
    return bool(ws) and all(w in qwords for w in ws)


def _proximity(sent_text: str, a: int, b: int, keywords: set[str]) -> float:
    """1 when a question word touches the span, falling off with the distance in words."""
    best = None
    for m in re.finditer(r"\S+", sent_text):
        if m.start() >= a and m.end() <= b:
            continue
        if set(tokenize(m.group())) & keywords:
            d = len(sent_text[min(m.end(), b):max(m.start(), a)].split()) if m.start() >= b or m.end() <= a else 0
            best = d if best is None else min(best, d)
    return 0.0 if best is None else 1.0 / (1.0 + best / 3.0)


def _counts_focus(sent_text: str, a: int, b: int, focus: tuple[str, ...]) -> float:
    """For "how many X": 1 when X follows the number closely, 0.4 when X is elsewhere, else 0."""
    if not focus:
        return 0.5
    head = focus[-1]
    after = tokenize(sent_text[b:b + 60])[:4]
    before = tokenize(sent_text[max(0, a - 40):a])[-3:]
    if head in after or head in before:
        return 1.0
    if any(f in after for f in focus):
        return 0.8
    return 0.4 if head in tokenize(sent_text) else 0.0


def _score_sentences(q: Question, qvec: np.ndarray, hits: list[Hit], retriever: Retriever) -> dict[int, float]:
    """Relevance of every sentence in the hit passages (global sentence index -> score)."""
    best_rank: dict[int, int] = {}
    context: dict[int, set[str]] = {}
    for hit in hits:
        p = hit.passage
        ptokens = set(retriever.data.passage_tokens[retriever.passage_index(p)])
        for si in range(p.first_sentence, p.last_sentence + 1):
            best_rank[si] = min(best_rank.get(si, hit.rank), hit.rank)
            context.setdefault(si, set()).update(ptokens)
    if not best_rank:
        return {}
    ids = np.array(sorted(best_rank))
    dense = np.asarray(retriever.data.sentence_vectors[ids]) @ qvec.astype(np.float32)
    keywords = q.keywords
    out = {}
    for si, d in zip(ids.tolist(), dense.tolist()):
        s = retriever.sentences[si]
        text = retriever.documents[s.doc_id].text[s.start:s.end]
        tokens = set(tokenize(text))
        score = (W_DENSE * d + W_LEXICAL * _coverage(keywords, tokens, retriever)
                 + W_CONTEXT * _coverage(keywords, context[si], retriever)
                 + W_RANK / best_rank[si])
        if s.heading:
            score -= HEADING_PENALTY
        if len(text.split()) < 4:
            score -= 0.2
        out[si] = score
    return out


def _candidates(q: Question, sentence_scores: dict[int, float], retriever: Retriever) -> list[Candidate]:
    qwords = _question_words(q)
    keywords = set(q.keywords)
    out = []
    for si, sscore in sentence_scores.items():
        s = retriever.sentences[si]
        doc_text = retriever.documents[s.doc_id].text
        text = doc_text[s.start:s.end]
        found = [(a, b) for a, b in spans.candidates(q.kind, text) if not _repeats_question(text[a:b], qwords)]
        if not found:
            out.append(Candidate(si, s.doc_id, s.start, s.end, sscore - NO_TYPE_PENALTY
                                 if q.wants_value else sscore - 0.1, sscore, False))
            continue
        for a, b in found:
            score = sscore + W_TYPE + W_PROXIMITY * _proximity(text, a, b, keywords)
            if q.kind is Kind.NUMBER:
                score += W_FOCUS * (_counts_focus(text, a, b, q.focus) - 0.5)
            if q.kind in (Kind.OTHER, Kind.QUOTE, Kind.REASON, Kind.MANNER):
                # Prefer clauses that add words the question lacks, and shorter ones.
                new = [w for w in words(text[a:b]) if w not in STOPWORDS and w not in qwords]
                score += 0.05 * min(len(new), 3) - 0.002 * max(0, (b - a) - 60)
            out.append(Candidate(si, s.doc_id, s.start + a, s.start + b, score, sscore, True))
    out.sort(key=lambda c: -c.score)
    return out


_NUMBER_VALUES = {w: i + 1 for i, w in enumerate("one two three four five six seven eight nine ten eleven "
                                                 "twelve".split())}
_NUMBER_VALUES.update({"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "hundred": 100,
                       "hundreds": 100, "thousand": 1000, "thousands": 1000, "dozen": 12, "dozens": 24,
                       "million": 10 ** 6, "millions": 10 ** 6})


def _number_value(text: str) -> float | None:
    low = fold(text)
    if "tens of thousands" in low:
        return 10_000.0
    if "hundreds of thousands" in low:
        return 100_000.0
    m = re.search(r"\d[\d,]*(?:\.\d+)?", low)
    if m:
        return float(m.group().replace(",", ""))
    for w in low.replace("-", " ").split():
        if w in _NUMBER_VALUES:
            return float(_NUMBER_VALUES[w])
    return None


def _same_value(kind: Kind, a: str, b: str) -> bool:
    if kind is Kind.NUMBER:
        va, vb = _number_value(a), _number_value(b)
        if va is not None and vb is not None:
            return va == vb
    wa = {w for w in words(a) if w not in STOPWORDS and w not in spans.TITLES}
    wb = {w for w in words(b) if w not in STOPWORDS and w not in spans.TITLES}
    if not wa or not wb:
        return fold(a).strip() == fold(b).strip()
    return wa <= wb or wb <= wa


def _quote_bounds(doc_text: str, s_start: int, s_end: int, a: int, b: int) -> tuple[int, int]:
    """The sentence, or for a long one the clauses around the answer span."""
    if s_end - s_start <= LONG_QUOTE:
        return s_start, s_end
    text = doc_text[s_start:s_end]
    cuts = [0] + [m.end() for m in re.finditer(r"[,;:—–]\s+", text)] + [len(text)]
    lo = max(c for c in cuts if c <= a - s_start)
    hi = min(c for c in cuts if c >= b - s_start)
    while hi - lo < 160:
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


def _quote(c: Candidate, retriever: Retriever) -> Quote:
    s = retriever.sentences[c.sentence]
    doc = retriever.documents[c.doc_id]
    start, end = _quote_bounds(doc.text, s.start, s.end, c.span_start, c.span_end)
    return Quote(text=doc.text[start:end], doc_id=doc.doc_id, path=doc.path, title=doc.title, start=start,
                 end=end, answer_start=c.span_start - start, answer_end=c.span_end - start,
                 score=c.score)


def _per_document(cands: list[Candidate]) -> dict[str, list[Candidate]]:
    out: dict[str, list[Candidate]] = {}
    for c in cands:
        out.setdefault(c.doc_id, []).append(c)
    return out


def _value_text(c: Candidate, retriever: Retriever) -> str:
    return retriever.documents[c.doc_id].text[c.span_start:c.span_end]


def _prefer_body(best: Candidate, cands: list[Candidate], q: Question, retriever: Retriever) -> Candidate:
    """Never quote a headline alone when a body sentence gives the same value."""
    if not retriever.sentences[best.sentence].heading:
        return best
    value = _value_text(best, retriever)
    for c in cands:
        if not retriever.sentences[c.sentence].heading and c.typed and \
                _same_value(q.kind, _value_text(c, retriever), value) and c.score >= best.score - SUPPORT_MARGIN:
            return c
    return best


def answer_question(engine, question: str, mode: Mode, k: int, *, query: str | None = None) -> Answer:
    """Answer ``question``; ``query`` (a follow-up's rewritten form) is what is searched and analysed."""
    retriever = engine.retriever()
    text = query or question
    q = analyze(text)
    qvec = engine.embed_query(text)
    hits = retriever.search(text, max(k, SUPPORT_POOL), mode, lambda _q: qvec)
    top, pool = hits[:k], hits
    scores = _score_sentences(q, qvec, pool, retriever)
    top_sentences = {si for h in top for si in range(h.passage.first_sentence, h.passage.last_sentence + 1)}
    cands = _candidates(q, scores, retriever)
    main = [c for c in cands if c.sentence in top_sentences]
    resolved = query if query and query != question else None
    if not main or main[0].score < ABSTAIN_BELOW or (q.wants_value and not main[0].typed):
        return Answer(question, False, None, (), False, tuple(top), (), q.kind.value,
                      main[0].score if main else 0.0, resolved)
    best = _prefer_body(main[0], cands, q, retriever)
    chosen = [best]
    by_doc = _per_document(cands)
    value = _value_text(best, retriever)
    conflict = False
    for doc_id, doc_cands in by_doc.items():
        if doc_id == best.doc_id:
            continue
        same = [c for c in doc_cands if c.typed == best.typed and
                _same_value(q.kind, _value_text(c, retriever), value) and c.score >= best.score - SUPPORT_MARGIN]
        top_other = _prefer_body(doc_cands[0], doc_cands, q, retriever)
        if same and not (q.kind in VALUE_KINDS and top_other.typed and top_other.score > same[0].score
                         + CONFLICT_MARGIN and not _same_value(q.kind, _value_text(top_other, retriever), value)):
            chosen.append(_prefer_body(same[0], doc_cands, q, retriever))
        elif (q.kind in VALUE_KINDS and top_other.typed and top_other.score >= best.score - CONFLICT_MARGIN
              and not _same_value(q.kind, _value_text(top_other, retriever), value)):
            chosen.append(top_other)
            conflict = True
    quotes = tuple(_quote(c, retriever) for c in chosen)
    values: list[Value] = []
    for i, quote in enumerate(quotes):
        for j, v in enumerate(values):
            if _same_value(q.kind, v.answer, quote.answer):
                values[j] = Value(v.answer, v.quotes + (i,))
                break
        else:
            values.append(Value(quote.answer, (i,)))
    conflict = conflict and len(values) > 1
    return Answer(question, True, quotes[0].answer, quotes, conflict, tuple(top), tuple(values),
                  q.kind.value, best.score, resolved)
