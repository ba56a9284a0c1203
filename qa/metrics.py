"""Scoring functions for `qa eval`: pure functions over plain values, no engine.

* Answer matching: ``contains_answer`` folds case and accents and needs word boundaries
  ("12" is inside "12 passengers", not inside "1912").
* Short answers: SQuAD's ``normalize_answer``, ``exact_match`` and ``token_f1``, exactly as the
  official evaluate-v2.0.py: lower case, ASCII punctuation (``string.punctuation``) removed, the
  articles a/an/the removed as whole words, whitespace collapsed. ``squad_score`` scores one
  prediction ("" for an abstention) as that script does, and ``squad_figures`` gives its
  HasAns/NoAns/overall figures in percent.
* Retrieval: ranx computes the ranking metrics. ``recall@k`` is *answer recall*: the share of
  questions with at least one relevant passage in the top k (ranx ``hit_rate@k``, DPR's "top-k
  retrieval accuracy"). Passage-level recall would divide by every overlapping window that holds
  the answer, so a fact both articles repeat could never reach 1.0 at k=1.
* Aggregates return None when there is nothing to average (no question of that sort).
"""
from __future__ import annotations

import collections
import re
import string
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .index.tokenize import fold

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


# -- SQuAD short-answer scores (the official evaluate-v2.0.py) ---------------------------------
_PUNCTUATION = frozenset(string.punctuation)  # ASCII only, as the official script
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)


def normalize_answer(text: str) -> str:
    """SQuAD normalization: lower case, ASCII punctuation removed, articles removed, whitespace collapsed."""
    text = "".join(c for c in text.lower() if c not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1; when either side normalizes to nothing, 1.0 if both do, else 0.0."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def squad_score(prediction: str, answers: Sequence[str]) -> tuple[float, float]:
    """(exact, F1) of one prediction, "" meaning no answer: the best over the gold answers that
    normalize to something; with none, the only gold is "" (so only an empty prediction scores)."""
    golds = [a for a in answers if normalize_answer(a)] or [""]
    return max(exact_match(prediction, g) for g in golds), max(token_f1(prediction, g) for g in golds)


@dataclass(frozen=True)
class SquadFigures:
    """The official SQuAD 2.0 figures in percent (0..100), None where no question is of that sort.

    HasAns averages over questions with gold answers, NoAns over those without (its exact and F1
    both equal the share predicted "" or something that normalizes to nothing), the overall
    figures over all. ``always_abstain`` is the exact (= F1) had every prediction been "".
    """

    exact: float | None
    f1: float | None
    total: int
    has_ans_exact: float | None
    has_ans_f1: float | None
    has_ans_total: int
    no_ans_exact: float | None
    no_ans_f1: float | None
    no_ans_total: int
    always_abstain: float | None

    def to_json(self) -> dict:
        """The official script's keys, plus NoAns_acc and the always-abstain baseline."""
        return {"exact": _round(self.exact), "f1": _round(self.f1), "total": self.total,
                "HasAns_exact": _round(self.has_ans_exact), "HasAns_f1": _round(self.has_ans_f1),
                "HasAns_total": self.has_ans_total, "NoAns_exact": _round(self.no_ans_exact),
                "NoAns_f1": _round(self.no_ans_f1), "NoAns_acc": _round(self.no_ans_exact),
                "NoAns_total": self.no_ans_total, "always_abstain_exact": _round(self.always_abstain),
                "always_abstain_f1": _round(self.always_abstain)}


def squad_figures(items: Sequence[tuple[Sequence[str], str]]) -> SquadFigures:
    """The figures over (gold answers, prediction) pairs; a question has an answer when its gold
    list is not empty (the official ``bool(qa["answers"])``)."""
    scored = [(bool(answers), *squad_score(prediction, answers), squad_score("", answers)[0])
              for answers, prediction in items]
    has = [row for row in scored if row[0]]
    no = [row for row in scored if not row[0]]
    return SquadFigures(
        exact=_percent(r[1] for r in scored), f1=_percent(r[2] for r in scored), total=len(scored),
        has_ans_exact=_percent(r[1] for r in has), has_ans_f1=_percent(r[2] for r in has), has_ans_total=len(has),
        no_ans_exact=_percent(r[1] for r in no), no_ans_f1=_percent(r[2] for r in no), no_ans_total=len(no),
        always_abstain=_percent(r[3] for r in scored))


def _percent(values: Iterable[float]) -> float | None:
    mean = share(values)
    return None if mean is None else 100 * mean


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
    grounded: bool | None  # ... and the top quote comes from a gold document (answerable only)
    exact_match: float | None  # SQuAD EM of the short answer (answerable only)
    f1: float | None  # SQuAD token F1 (answerable only)
    cited: tuple[str, ...]  # documents the quotes cite, in order
    citation_ok: bool | None  # cited ⊆ gold (answered answerable only)
    multi_source_ok: bool | None  # every gold document cited (answerable with ≥ 2 gold documents)
    quotes: int
    verbatim_quotes: int  # quotes whose text is the document's (and the file's) text at their offsets
    problems: tuple[str, ...] = ()  # what failed the verbatim check
    prediction: str = ""  # the official SQuAD prediction: the short answer, "" when abstained

    @property
    def correct(self) -> bool:
        """The per-kind accuracy: containment when answerable, abstention when not."""
        return bool(self.contained) if self.answerable else self.abstained

    def to_json(self) -> dict:
        return {"correct": self.correct, "answerable": self.answerable, "abstained": self.abstained,
                "contained": self.contained, "grounded": self.grounded, "prediction": self.prediction,
                "exact_match": self.exact_match, "f1": _round(self.f1),
                "cited": list(self.cited), "citation_ok": self.citation_ok,
                "multi_source_ok": self.multi_source_ok, "quotes": self.quotes,
                "verbatim_quotes": self.verbatim_quotes, "problems": list(self.problems)}


def judge(gold: GoldQuestion, answered: bool, short_answer: str | None, quote_texts: Sequence[str],
          quote_doc_ids: Sequence[str], verbatim_quotes: int, problems: Sequence[str] = ()) -> Judgement:
    """Score one answer; the verbatim count comes from the caller, which can read the files."""
    cited = tuple(dict.fromkeys(quote_doc_ids))
    prediction = (short_answer or "") if answered else ""
    contained = grounded = em = f1 = citation_ok = multi_ok = None
    if gold.answerable:
        contained = bool(answered and quote_texts and contains_any(quote_texts[0], gold.answers))
        grounded = contained and quote_doc_ids[0] in gold.doc_ids
        em, f1 = squad_score(prediction, gold.answers)
        if answered:
            citation_ok = set(cited) <= set(gold.doc_ids)
        if len(set(gold.doc_ids)) >= 2:
            multi_ok = answered and set(gold.doc_ids) <= set(cited)
    return Judgement(answerable=gold.answerable, abstained=not answered, contained=contained, grounded=grounded,
                     exact_match=em, f1=f1, cited=cited, citation_ok=citation_ok, multi_source_ok=multi_ok,
                     quotes=len(quote_texts), verbatim_quotes=verbatim_quotes, problems=tuple(problems),
                     prediction=prediction)


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
    grounded: float | None  # top quote holds a gold answer and comes from a gold document
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
    squad: SquadFigures | None = None  # the official SQuAD 2.0 figures, on SQuAD input

    def to_json(self) -> dict:
        out = {"questions": self.questions, "answerable": self.answerable, "unanswerable": self.unanswerable,
               "retrieval_questions": self.retrieval_questions}
        out.update({name: _round(v) for name, v in self.retrieval.items()})
        for name in ("containment", "grounded", "exact_match", "f1", "citation_accuracy", "multi_source_coverage",
                     "abstention_precision", "abstention_recall", "wrongly_abstained", "verbatim"):
            out[name] = _round(getattr(self, name))
        out["quotes"] = self.quotes
        out["latency_median_ms"] = _round(self.latency_median_ms, 1)
        out["latency_p95_ms"] = _round(self.latency_p95_ms, 1)
        out["kind_accuracy"] = {k: {"questions": n, "accuracy": _round(acc)} for k, (n, acc) in self.kinds.items()}
        if self.squad is not None:
            out["squad"] = self.squad.to_json()
        return out


def summarize(scored: Sequence[Scored], *, squad: bool = False) -> Metrics:
    """Aggregate one mode's questions. Unanswerable questions count only for abstention, and in
    the official SQuAD figures, computed when ``squad`` is true."""
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
        grounded=share(j.grounded for j in answerable),
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
        squad=squad_figures([(s.gold.answers, s.judgement.prediction) for s in scored]) if squad else None,
    )


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)
