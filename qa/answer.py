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

# Weights of a logistic model over candidate features, fitted on the dev split of
# seeds/questions.jsonl (label: the span overlaps a gold answer in a gold document) with
# bench/fit_answer.py; the test split is held back to measure them.
WEIGHTS = {
    "dense": 4.01, "lexical": 4.02, "context": -1.01, "rank": 1.09, "heading": 0.2, "short": -1.36,
    "typed": 1.17, "proximity": 0.6, "focus": 2.53, "noun": 7.25, "novel": 0.76, "length": 0.18,
    "soft": 0.38, "weakest": 0.98, "titled": 1.22,
}
# Not fitted but set by design: a headline alone is never quoted when a body sentence will do.
HEADING_PRIOR = -1.5
BIAS = -5.02
ABSTAIN_BELOW = 0.5  # answer probability below which the tool abstains (dev split)
# "How many tanks" is not answered by a count of soldiers: the counted noun must be close in meaning
# to the asked one (static word vectors: troops~soldiers 0.69, women~female 0.57, tanks~soldiers
# 0.23, helicopters~soldiers 0.18, civilians~people 0.28).
FOCUS_MIN = 0.5
# "The name of the U.S. official" needs a name next to that role ("CIA Director John Ratcliffe").
ROLE_MIN = 0.7
SUPPORT_MARGIN = 1.5  # another document's quote is cited when its logit is within this of the best
CONFLICT_MARGIN = 2.0  # ... and shown as a differing value only when this close
CONFLICT_MIN_P = 0.9  # ... and itself a confident answer
SUPPORT_POOL = 10  # passages searched for supporting and conflicting quotes
LONG_QUOTE = 320  # longer sentences are cut to the clauses around the answer
NAME_KINDS = (Kind.PERSON, Kind.ORGANIZATION, Kind.PLACE)
VALUE_KINDS = (Kind.NUMBER, Kind.PERSON, Kind.ORGANIZATION, Kind.PLACE, Kind.DATE)


@dataclass(frozen=True)
class Candidate:
    """One possible answer: a span inside a sentence, with its score."""

    sentence: int  # global sentence index
    doc_id: str
    span_start: int  # absolute offsets of the short answer in the document
    span_end: int
    score: float  # logit of the answer model
    typed: bool  # the span is of the asked type
    features: tuple[tuple[str, float], ...] = ()


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


def _names_asked(text: str, qwords: set[str]) -> bool:
    """A name that shares a word with the question ("Nicolás Maduro" for "Who is Maduro's wife?")."""
    return any(w in qwords for w in words(text) if w not in STOPWORDS and len(w) > 2)


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


def _role_words(sent_text: str, a: int, b: int) -> list[str]:
    """Words that give a name's role: just before it, or in an appositive after it."""
    before = re.findall(r"[^\W\d_][\w’'-]*", sent_text[max(0, a - 40):a])[-3:]
    after = re.match(r",\s+(?:the\s+|a\s+)?([^,]{1,40}),", sent_text[b:])
    return before + (re.findall(r"[^\W\d_][\w’'-]*", after.group(1)) if after else [])


def _near_words(sent_text: str, a: int, b: int) -> list[str]:
    """Words next to a number: what it counts ("47 Venezuelan soldiers", "the dead were 32")."""
    after = re.findall(r"[^\W\d_][\w’'-]*", re.split(r"[,.;:()]", sent_text[b:b + 60])[0])[:3]
    before = re.findall(r"[^\W\d_][\w’'-]*", re.split(r"[,.;:()]", sent_text[max(0, a - 40):a])[-1])[-2:]
    return [w for w in after + before if w.lower() not in STOPWORDS]


def _soft_match(q: Question, sentence_ids: list[int], context: dict[int, set[str]],
                retriever: Retriever, engine) -> dict[int, tuple[float, float]]:
    """How well each question word is matched in a sentence, exactly or by a near-synonym
    ("hurt" ~ "injured", "captured" ~ "abduction"): (idf-weighted mean, weakest important word)."""
    qwords = [w for w in dict.fromkeys(words(q.text)) if w not in STOPWORDS and tokenize(w)
              and tokenize(w)[0] in q.keywords]
    if not qwords:
        return {si: (0.0, 0.0) for si in sentence_ids}
    sent_words = {}
    for si in sentence_ids:
        s = retriever.sentences[si]
        sent_words[si] = [w for w in dict.fromkeys(words(retriever.documents[s.doc_id].text[s.start:s.end]))
                          if w not in STOPWORDS]
    vocab = sorted(set(qwords) | {w for ws in sent_words.values() for w in ws})
    vecs = engine.word_vectors(vocab)
    qmat = np.stack([vecs[w] for w in qwords])
    idf = np.array([retriever.bm25.idf(tokenize(w)[0]) for w in qwords])
    important = idf >= np.median(idf)
    out = {}
    stems = [tokenize(w)[0] for w in qwords]
    for si in sentence_ids:
        ws = sent_words[si]
        own = (qmat @ np.stack([vecs[w] for w in ws]).T).max(axis=1) if ws else np.zeros(len(qwords))
        exact = np.array([1.0 if st in context[si] else 0.0 for st in stems])
        best = np.maximum(own, exact * 0.9)  # in the passage around it: nearly as good as in the sentence
        out[si] = (float((best * idf).sum() / idf.sum()), float(own[important].min()))
    return out


def _sentence_features(q: Question, qvec: np.ndarray, hits: list[Hit],
                       retriever: Retriever, engine) -> dict[int, dict[str, float]]:
    """Relevance features of every sentence in the hit passages (global sentence index -> features)."""
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
    out = {}
    for si, d in zip(ids.tolist(), dense.tolist()):
        s = retriever.sentences[si]
        text = retriever.documents[s.doc_id].text[s.start:s.end]
        out[si] = {"dense": d, "lexical": _coverage(q.keywords, set(tokenize(text)), retriever),
                   "context": _coverage(q.keywords, context[si], retriever), "rank": 1.0 / best_rank[si],
                   "heading": float(s.heading), "short": float(len(text.split()) < 4)}
    soft = _soft_match(q, list(out), context, retriever, engine)
    for si, f in out.items():
        f["soft"], f["weakest"] = soft[si]
    return out


def _compared_words(q: Question, text: str, a: int, b: int) -> list[str]:
    """What is compared with the asked noun: the counted noun, the named role, or the span itself."""
    if q.kind is Kind.NUMBER:
        return _near_words(text, a, b)
    if q.role:
        return _role_words(text, a, b)
    return re.findall(r"[^\W\d_][\w’'-]*", text[a:b])


def _logit(features: dict[str, float]) -> float:
    return BIAS + HEADING_PRIOR * features["heading"] + sum(WEIGHTS[k] * v for k, v in features.items())


def _titled(text: str, a: int) -> float:
    """1 when a role title stands right before the span ("President Miguel Diaz-Canel")."""
    before = re.findall(r"[\w.’'-]+", text[max(0, a - 30):a])[-2:]
    return float(any(w.lower().strip(".") in spans.ROLE_TITLES for w in before))


def _candidates(q: Question, sentence_features: dict[int, dict[str, float]], retriever: Retriever,
                engine) -> list[Candidate]:
    qwords = _question_words(q)
    keywords = set(q.keywords)
    found: list[tuple[int, int, int, str]] = []  # sentence, start, end (relative), sentence text
    plain: list[int] = []
    for si in sentence_features:
        s = retriever.sentences[si]
        text = retriever.documents[s.doc_id].text[s.start:s.end]
        spans_here = [(a, b) for a, b in spans.candidates(q.kind, text, people_only=bool(q.role))
                      if not _repeats_question(text[a:b], qwords)
                      and not (q.kind in NAME_KINDS and _names_asked(text[a:b], qwords))]
        found += [(si, a, b, text) for a, b in spans_here]
        if not spans_here:
            plain.append(si)
    # Does the span name the kind of thing asked ("which square" -> "Plaza"; "how many troops" ->
    # "47 soldiers")? Compared as static word vectors, so synonyms count and nothing is encoded.
    compared: list[str] = [q.head] if q.head else []
    if q.head:
        for si, a, b, text in found:
            compared += _compared_words(q, text, a, b)
    vecs = engine.word_vectors(compared) if compared else {}
    out = []
    for si in plain:
        s = retriever.sentences[si]
        f = dict(sentence_features[si], typed=0.0, proximity=0.0, focus=0.0, noun=0.0, novel=0.0, titled=0.0,
                 length=np.log1p(len(retriever.documents[s.doc_id].text[s.start:s.end].split())))
        out.append(Candidate(si, s.doc_id, s.start, s.end, _logit(f), False, tuple(f.items())))
    for si, a, b, text in found:
        s = retriever.sentences[si]
        f = dict(sentence_features[si], typed=1.0, proximity=_proximity(text, a, b, keywords),
                 focus=0.0, noun=0.0, titled=_titled(text, a) if q.kind is Kind.PERSON else 0.0)
        if q.head:
            head = vecs[q.head]
            sims = [float(vecs[w] @ head) for w in _compared_words(q, text, a, b) if w in vecs]
            f["noun" if q.kind is not Kind.NUMBER else "focus"] = max(sims) if sims else 0.0
        new = [w for w in words(text[a:b]) if w not in STOPWORDS and w not in qwords]
        f["novel"] = min(len(new), 4) / 4.0
        f["length"] = np.log1p(len(text[a:b].split()))
        out.append(Candidate(si, s.doc_id, s.start + a, s.start + b, _logit(f), True, tuple(f.items())))
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
    features = _sentence_features(q, qvec, pool, retriever, engine)
    cands = _candidates(q, features, retriever, engine)
    main = cands
    resolved = query if query and query != question else None
    confidence = probability(main[0].score) if main else 0.0
    if not main or confidence < ABSTAIN_BELOW or _mismatch(q, main[0]):
        return Answer(question, False, None, (), False, tuple(top), (), q.kind.value, confidence, resolved)
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
              and not retriever.sentences[top_other.sentence].heading  # a headline rounds ("Nearly 50")
              and probability(top_other.score) >= CONFLICT_MIN_P
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
                  q.kind.value, confidence, resolved)


def _mismatch(q: Question, best: Candidate) -> bool:
    """The best candidate is of the wrong type or about something else than the question asks."""
    f = dict(best.features)
    if q.wants_value and not best.typed:
        return True
    if q.kind is Kind.NUMBER and q.head and f["focus"] < FOCUS_MIN:
        return True
    return bool(q.role) and f["noun"] < ROLE_MIN


def probability(logit: float) -> float:
    return float(1.0 / (1.0 + np.exp(-logit)))
