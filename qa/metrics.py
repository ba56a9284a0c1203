"""Scoring functions for `qa eval`: pure functions over plain values, no engine.

* Answer matching: ``contains_answer`` folds case and accents and needs word boundaries
  ("47" is inside "47 Venezuelan soldiers", not inside "1947").
* Short answers: SQuAD's ``normalize_answer``, ``exact_match`` and ``token_f1`` (the official
  v1.1/v2.0 script), except that all Unicode punctuation is removed, not only ASCII, so the curly
  quotes of news text do not count as words.
* Retrieval: ranx computes the ranking metrics. ``recall@k`` is *answer recall*: the share of
  questions with at least one relevant passage in the top k (ranx ``hit_rate@k``, DPR's "top-k
  retrieval accuracy"). Passage-level recall would divide by every overlapping window that holds
  the answer, so a fact both articles repeat could never reach 1.0 at k=1.
* Aggregates return None when there is nothing to average (no question of that sort).
"""
from __future__ import annotations

import collections
import re
import unicodedata
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .tokenize import fold

RETRIEVAL_METRICS = {  # our name -> ranx metric
    "recall@1": "hit_rate@1",
    "recall@3": "hit_rate@3",
    "recall@5": "hit_rate@5",
    "mrr@10": "mrr@10",
    "ndcg@10": "ndcg@10",
}
RETRIEVAL_DEPTH = 10  # passages retrieved per question for the ranking metrics

_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "“": '"', "”": '"', "‐": "-", "‑": "-",
                         "‒": "-", "–": "-", "—": "-", "―": "-"})


# -- matching answers in text -------------------------------------------------------------------
def fold_text(text: str) -> str:
    """Lowercase, accents stripped, curly quotes and dashes made plain, whitespace collapsed."""
    return " ".join(fold(text).translate(_QUOTES).split())


def contains_answer(text: str, answer: str) -> bool:
    """True when the folded ``answer`` occurs in the folded ``text`` as whole words."""
    needle = fold_text(answer)
    if not needle:
        return False
    return re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", fold_text(text)) is not None


def contains_any(text: str, answers: Iterable[str]) -> bool:
    return any(contains_answer(text, a) for a in answers)


# -- SQuAD short-answer scores ------------------------------------------------------------------
def normalize_answer(text: str) -> str:
    """SQuAD normalization: lowercase, punctuation and articles removed, whitespace collapsed."""
    text = "".join(c for c in text.lower() if not unicodedata.category(c).startswith("P"))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_score(metric, prediction: str | None, golds: Sequence[str]) -> float | None:
    """The best ``metric`` over the gold answers (SQuAD's max); 0.0 for no prediction, None for no gold."""
    if not golds:
        return None
    if prediction is None:
        return 0.0
    return max(metric(prediction, g) for g in golds)


# -- aggregates ---------------------------------------------------------------------------------
def share(flags: Iterable[bool | float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    values = [float(f) for f in flags if f is not None]
    return sum(values) / len(values) if values else None


def abstention_scores(abstained: Sequence[bool], unanswerable: Sequence[bool]) -> tuple[float | None, float | None]:
    """Precision and recall of abstaining, the positive class being "abstained"."""
    if len(abstained) != len(unanswerable):
        raise ValueError(f"{len(abstained)} abstentions for {len(unanswerable)} questions")
    hits = sum(1 for a, u in zip(abstained, unanswerable) if a and u)
    n_abstained, n_unanswerable = sum(map(bool, abstained)), sum(map(bool, unanswerable))
    precision = hits / n_abstained if n_abstained else None
    recall = hits / n_unanswerable if n_unanswerable else None
    return precision, recall


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation, as numpy's default; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


# -- retrieval ----------------------------------------------------------------------------------
def relevant_passages(passages: Iterable[tuple[str, str, str]], doc_ids: Iterable[str],
                      answers: Sequence[str]) -> set[str]:
    """Ids of the passages, given as (passage_id, doc_id, text), that lie in a gold document
    and contain a gold answer."""
    gold = set(doc_ids)
    return {pid for pid, doc_id, text in passages if doc_id in gold and contains_any(text, answers)}


def retrieval_scores(qrels: Mapping[str, set[str]],
                     ranked: Mapping[str, Sequence[str]]) -> tuple[dict[str, float | None], dict[str, dict[str, float]]]:
    """Mean and per-question ranking metrics (names of RETRIEVAL_METRICS).

    ``qrels`` maps a question id to its relevant passage ids (questions with none are left out:
    they cannot be judged); ``ranked`` maps it to the retrieved passage ids, best first.
    """
    judged = {q: rel for q, rel in qrels.items() if rel}
    if not judged:
        return dict.fromkeys(RETRIEVAL_METRICS), {}
    from ranx import Qrels, Run, evaluate  # lazy: numba compiles on first use

    qrels_ = Qrels({q: dict.fromkeys(sorted(rel), 1) for q, rel in judged.items()})
    # Scores from the rank, so ranx sees exactly our order (it breaks score ties its own way).
    run = Run({q: {pid: float(len(ranked.get(q, ())) - i) for i, pid in enumerate(dict.fromkeys(ranked.get(q, ())))}
               for q in judged})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numba's NumbaTypeSafetyWarning on uint64 ids
        evaluate(qrels_, run, list(RETRIEVAL_METRICS.values()), make_comparable=True)
    means = {ours: float(run.mean_scores[theirs]) for ours, theirs in RETRIEVAL_METRICS.items()}
    per_question: dict[str, dict[str, float]] = {q: {} for q in judged}
    for ours, theirs in RETRIEVAL_METRICS.items():
        for q, value in run.scores[theirs].items():
            per_question[q][ours] = float(value)
    return means, per_question


# -- one question -------------------------------------------------------------------------------
@dataclass(frozen=True)
class GoldQuestion:
    """A question of the set with its gold: acceptable answers (none: the documents don't say)
    and the documents that answer it."""

    id: str
    question: str
    answers: tuple[str, ...]
    doc_ids: tuple[str, ...]
    kind: str | None = None
    split: str | None = None
    follows: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.answers)

    @property
    def group(self) -> str:
        """The per-kind bucket: the set's own kind, else answerable/unanswerable."""
        return self.kind or ("answerable" if self.answerable else "unanswerable")


@dataclass(frozen=True)
class Judgement:
    """How one answer compares with the gold. None marks a score that does not apply."""

    answerable: bool
    abstained: bool
    contained: bool | None  # a gold answer inside the top quote (answerable only)
    exact_match: float | None  # SQuAD EM of the short answer (answerable only)
    f1: float | None  # SQuAD token F1 (answerable only)
    cited: tuple[str, ...]  # documents the quotes cite, in order
    citation_ok: bool | None  # cited ⊆ gold (answered answerable only)
    multi_source_ok: bool | None  # every gold document cited (answerable with ≥ 2 gold documents)
    quotes: int
    verbatim_quotes: int  # quotes whose text is the document's (and the file's) text at their offsets
    problems: tuple[str, ...] = ()  # what failed the verbatim check

    @property
    def correct(self) -> bool:
        """The per-kind accuracy: containment when answerable, abstention when not."""
        return bool(self.contained) if self.answerable else self.abstained

    def to_json(self) -> dict:
        return {"correct": self.correct, "answerable": self.answerable, "abstained": self.abstained,
                "contained": self.contained, "exact_match": self.exact_match, "f1": _round(self.f1),
                "cited": list(self.cited), "citation_ok": self.citation_ok,
                "multi_source_ok": self.multi_source_ok, "quotes": self.quotes,
                "verbatim_quotes": self.verbatim_quotes, "problems": list(self.problems)}


def judge(gold: GoldQuestion, answered: bool, short_answer: str | None, quote_texts: Sequence[str],
          quote_doc_ids: Sequence[str], verbatim_quotes: int, problems: Sequence[str] = ()) -> Judgement:
    """Score one answer; the verbatim count comes from the caller, which can read the files."""
    cited = tuple(dict.fromkeys(quote_doc_ids))
    answerable = gold.answerable
    abstained = not answered
    contained = em = f1 = citation_ok = multi_ok = None
    if answerable:
        contained = bool(answered and quote_texts and contains_any(quote_texts[0], gold.answers))
        em = best_score(exact_match, short_answer if answered else None, gold.answers)
        f1 = best_score(token_f1, short_answer if answered else None, gold.answers)
        if answered:
            citation_ok = set(cited) <= set(gold.doc_ids)
        if len(set(gold.doc_ids)) >= 2:
            multi_ok = answered and set(gold.doc_ids) <= set(cited)
    return Judgement(answerable, abstained, contained, em, f1, cited, citation_ok, multi_ok,
                     len(quote_texts), verbatim_quotes, tuple(problems))


@dataclass(frozen=True)
class Scored:
    """One question asked in one mode: the gold, the judgement, the retrieval and the time taken."""

    gold: GoldQuestion
    mode: str
    judgement: Judgement
    latency_s: float
    relevant: frozenset[str] = frozenset()  # passages holding a gold answer in a gold document
    ranked: tuple[str, ...] = ()  # passages retrieved, best first (RETRIEVAL_DEPTH of them)

    @property
    def first_relevant_rank(self) -> int | None:
        return next((i for i, pid in enumerate(self.ranked, start=1) if pid in self.relevant), None)


# -- a set of questions -------------------------------------------------------------------------
@dataclass(frozen=True)
class Metrics:
    """The scores of one mode over a set of questions. Shares are in 0..1, None when undefined."""

    questions: int
    answerable: int
    unanswerable: int
    retrieval_questions: int  # answerable questions with at least one relevant passage
    retrieval: dict[str, float | None]
    containment: float | None
    exact_match: float | None
    f1: float | None
    citation_accuracy: float | None
    multi_source_coverage: float | None
    abstention_precision: float | None
    abstention_recall: float | None
    wrongly_abstained: float | None
    verbatim: float | None
    quotes: int
    latency_median_ms: float | None
    latency_p95_ms: float | None
    kinds: dict[str, tuple[int, float | None]]  # kind -> (questions, accuracy)

    def to_json(self) -> dict:
        out = {"questions": self.questions, "answerable": self.answerable, "unanswerable": self.unanswerable,
               "retrieval_questions": self.retrieval_questions}
        out.update({name: _round(v) for name, v in self.retrieval.items()})
        for name in ("containment", "exact_match", "f1", "citation_accuracy", "multi_source_coverage",
                     "abstention_precision", "abstention_recall", "wrongly_abstained", "verbatim"):
            out[name] = _round(getattr(self, name))
        out["quotes"] = self.quotes
        out["latency_median_ms"] = _round(self.latency_median_ms, 1)
        out["latency_p95_ms"] = _round(self.latency_p95_ms, 1)
        out["kind_accuracy"] = {k: {"questions": n, "accuracy": _round(acc)} for k, (n, acc) in self.kinds.items()}
        return out


def summarize(scored: Sequence[Scored]) -> Metrics:
    """Aggregate one mode's questions. Unanswerable questions count only for abstention."""
    js = [s.judgement for s in scored]
    answerable = [j for j in js if j.answerable]
    retrieval, _ = retrieval_scores({s.gold.id: set(s.relevant) for s in scored if s.gold.answerable},
                                    {s.gold.id: s.ranked for s in scored if s.gold.answerable})
    precision, recall = abstention_scores([j.abstained for j in js], [not j.answerable for j in js])
    latencies = [s.latency_s * 1000 for s in scored]
    kinds: dict[str, list[bool]] = {}
    for s in scored:
        kinds.setdefault(s.gold.group, []).append(s.judgement.correct)
    n_quotes = sum(j.quotes for j in js)
    return Metrics(
        questions=len(js), answerable=len(answerable), unanswerable=len(js) - len(answerable),
        retrieval_questions=sum(1 for s in scored if s.gold.answerable and s.relevant),
        retrieval=retrieval,
        containment=share(j.contained for j in answerable),
        exact_match=share(j.exact_match for j in answerable),
        f1=share(j.f1 for j in answerable),
        citation_accuracy=share(j.citation_ok for j in answerable),
        multi_source_coverage=share(j.multi_source_ok for j in answerable),
        abstention_precision=precision, abstention_recall=recall,
        wrongly_abstained=share(j.abstained for j in answerable),
        verbatim=sum(j.verbatim_quotes for j in js) / n_quotes if n_quotes else None,
        quotes=n_quotes,
        latency_median_ms=percentile(latencies, 50), latency_p95_ms=percentile(latencies, 95),
        kinds={k: (len(v), share(v)) for k, v in sorted(kinds.items())},
    )


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)
