"""Fit the answerability model and its threshold: ``python -m qa.reader.calibrate``.

Runs the real answer path (hybrid retrieval over all paragraphs of the calibration articles and
over the seeds for their dev split, the
reader on the passages read, the features of ``qa.scoring``) and fits a logistic model that
predicts whether a proposed span is right (token F1 >= 0.5 with a gold answer), then picks the
threshold that maximises SQuAD overall F1 on those articles.

It does so once for each document encoding this machine can reproduce (``qa.index.cpu``:
bfloat16, int8, int8 with unsigned weights, each with the reader precision the same kind of CPU
gets), since the features are measured with them. Each model goes into
``answerability-<encoding>.safetensors`` beside the reader's weights; the model card records its
SHA-256, the reader weights it was calibrated on, the data, figures and date. An encoding this
machine cannot reproduce keeps its calibration while it was made on the same reader weights.

``--ablation`` also measures, on the validation articles and the seeds' test split (never used
for fitting), the reader alone and each feature group left out, each variant fitted the same way
on the calibration articles, with this machine's own encoding.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..answer import SEARCH_POOL, candidates, regions
from ..index.cpu import CPU_KINDS, as_kind
from ..index.dense import document_encoding, resolve_model
from ..engine import DEFAULT_K
from ..errors import DocumentError
from ..evaluate import load as load_questions
from ..metrics import GoldQuestion, contains_any, squad_score
from ..metrics import squad_figures as official_figures
from ..question import analyze
from ..scoring import DROPPED, FEATURES, GROUPS, Answerability, backfill, with_standing
from ..settings import DEFAULT_DOCS, DEFAULT_MODEL, Mode, Settings
from . import data as rc
from . import calibration_key, default_precision
from . import load as load_reader
from .model import CARD_PATH, ENCODINGS, answerability_path, read_card, write_answerability
from .train import DEFAULT_SQUAD

RIGHT_F1 = 0.5  # a span counts as right for the model when its token F1 with a gold answer reaches this
C = 1.0  # inverse L2 strength of the logistic model (scikit-learn's default)


@dataclass(frozen=True)
class Proposal:
    value: str
    doc_id: str
    quote: str  # the sentence(s) holding it
    features: dict[str, float]


@dataclass(frozen=True)
class Record:
    gold: GoldQuestion
    proposals: tuple[Proposal, ...]


def write_subset(squad_dir: Path, titles: Sequence[str], out: Path) -> Path:
    """The named articles of the SQuAD files, as one SQuAD v2.0 JSON file."""
    articles = []
    for f in sorted(squad_dir.glob("*.json")):
        articles += [a for a in json.loads(f.read_text(encoding="utf-8"))["data"] if a["title"] in titles]
    out.write_text(json.dumps({"version": "v2.0", "data": articles}, ensure_ascii=False), encoding="utf-8")
    return out


def collect(path: Path, settings: Settings, base, split: str | None = None, cache: Path | None = None) -> list[Record]:
    """Every proposal of the answer path for every question of ``path`` (follow-ups left out).
    With ``cache``, records are read from that JSON file when it exists, else written to it."""
    if cache is not None and cache.is_file():
        rows = json.loads(cache.read_text())
        return [Record(GoldQuestion(r["id"], r["question"], tuple(r["answers"]), tuple(r["doc_ids"])),
                       tuple(Proposal(**dict(p, features=f)) for p, f in
                             zip(r["proposals"], with_standing([backfill(r["question"], p["value"], p["quote"],
                                                                         p["features"]) for p in r["proposals"]]))))
                for r in rows]
    records = _collect(path, settings, base, split)
    if cache is not None:
        cache.write_text(json.dumps([{"id": r.gold.id, "question": r.gold.question, "answers": r.gold.answers,
                                      "doc_ids": r.gold.doc_ids, "proposals": [p.__dict__ for p in r.proposals]}
                                     for r in records]))
    return records


def _collect(path: Path, settings: Settings, base, split: str | None) -> list[Record]:
    from ..engine import Engine
    from ..evaluate import _engine_for

    _, questions, squad = load_questions(path)
    questions = [q for q in questions if (split is None or q.split == split) and not q.follows]
    reader, _ = load_reader(base, calibrated=False)
    margin_only = Answerability(("margin",), np.ones(1), 0.0, np.zeros(1), np.ones(1), 0.0)
    out = []
    with _engine_for(settings, squad, None) as engine:
        assert isinstance(engine, Engine)
        retriever = engine.retriever()
        started = time.time()
        for i, q in enumerate(questions, 1):
            qvec = engine.embed_query(q.question)
            hits = retriever.search(q.question, SEARCH_POOL, Mode.HYBRID, lambda _t: qvec)
            cands = candidates(q.question, analyze(q.question).keywords, qvec, regions(hits, DEFAULT_K), retriever,
                               reader, margin_only) if hits else []
            docs = retriever.documents
            props = tuple(Proposal(docs[c.doc_id].text[c.start:c.end], c.doc_id,
                                   docs[c.doc_id].text[retriever.sentences[c.first_sentence].start:
                                                       retriever.sentences[c.last_sentence].end], c.features)
                          for c in cands)
            out.append(Record(q, props))
            if i % 100 == 0:
                print(f"  {path.name}: {i}/{len(questions)} questions, {time.time() - started:.0f}s",
                      file=sys.stderr, flush=True)
    return out


def _right(p: Proposal, gold: GoldQuestion) -> bool:
    return bool(gold.answers) and squad_score(p.value, gold.answers)[1] >= RIGHT_F1


def fit(records: Sequence[Record], names: Sequence[str]) -> Answerability:
    from sklearn.linear_model import LogisticRegression

    x = np.array([[p.features[n] for n in names] for r in records for p in r.proposals])
    y = np.array([_right(p, r.gold) for r in records for p in r.proposals])
    mean, scale = x.mean(0), x.std(0) + 1e-9
    lr = LogisticRegression(C=C, max_iter=1000).fit((x - mean) / scale, y)
    model = Answerability(tuple(names), lr.coef_[0], float(lr.intercept_[0]), mean, scale, 0.5)
    return _with_threshold(model, best_threshold(records, model))


def _with_threshold(m: Answerability, t: float) -> Answerability:
    return Answerability(m.names, m.weights, m.bias, m.mean, m.scale, t)


def predictions(records: Sequence[Record], model: Answerability) -> list[tuple[float, Proposal | None]]:
    """Each question's best proposal and its probability."""
    out = []
    for r in records:
        scored = [(model.probability(p.features), p) for p in r.proposals]
        out.append(max(scored, key=lambda s: s[0]) if scored else (0.0, None))
    return out


def squad_figures(records: Sequence[Record], model: Answerability) -> dict[str, float]:
    """The official SQuAD 2.0 figures (percent) of the answers ``model`` would give."""
    items = [(r.gold.answers, prop.value if prop is not None and p >= model.threshold else "")
             for r, (p, prop) in zip(records, predictions(records, model))]
    f = official_figures(items).to_json()
    return {k: round(f[k], 1) if isinstance(f[k], float) else f[k]
            for k in ("exact", "f1", "HasAns_f1", "NoAns_acc", "total", "always_abstain_f1")}


def seed_figures(records: Sequence[Record], model: Answerability) -> dict[str, float]:
    """Containment (a gold answer in the top quote) over answerable questions, abstention recall
    over unanswerable ones and wrongly abstained over answerable ones, in percent."""
    contained, recall, wrong = [], [], []
    for r, (p, prop) in zip(records, predictions(records, model)):
        answered = prop is not None and p >= model.threshold
        if r.gold.answers:
            contained.append(answered and contains_any(prop.quote, r.gold.answers))
            wrong.append(not answered)
        else:
            recall.append(not answered)
    pct = lambda v: round(100 * float(np.mean(v)), 1) if v else None  # noqa: E731
    return {"containment": pct(contained), "abstention_recall": pct(recall), "wrongly_abstained": pct(wrong),
            "total": len(records)}


def best_threshold(records: Sequence[Record], model: Answerability) -> float:
    """The cut on the best proposal's probability that maximises overall F1 (ties: the lower cut),
    as the official SQuAD 2.0 script's best_f1_thresh."""
    gain = []  # per question: (probability, F1 if answered, F1 if abstained)
    for r, (p, prop) in zip(records, predictions(records, model)):
        answered = squad_score(prop.value, r.gold.answers)[1] if prop is not None else 0.0
        gain.append((p, answered, squad_score("", r.gold.answers)[1]))
    gain.sort()
    total = sum(a for _, a, _ in gain)  # threshold 0: everything answered
    best, best_cut = total, 0.0
    for p, answered, abstained in gain:  # raising the cut just above p abstains on this one
        total += abstained - answered
        if total > best:
            best, best_cut = total, min(1.0, p + 1e-6)
    return best_cut


def variants() -> dict[str, tuple[str, ...]]:
    """The reader alone, the shipped features, each kept group left out and each dropped group added."""
    out = {"reader alone (margin)": ("margin",), "reader scores": GROUPS["reader"], "all features": FEATURES}
    for group, names in GROUPS.items():
        if group in DROPPED:
            out[f"all plus {group} (dropped)"] = FEATURES + names
        elif group != "reader":
            out[f"all but {group}"] = tuple(n for n in FEATURES if n not in names)
    return out


def kinds_to_calibrate(base) -> dict[str, str]:
    """{document encoding: the CPU kind that gets it}, for every encoding this machine can
    reproduce (``qa.index.cpu.CPU_KINDS``: a kind only takes features away), its own first. Where
    QA_CPU names a kind, only that kind's."""
    chosen = (os.environ.get("QA_CPU") or "native").strip().lower()
    kinds = list(CPU_KINDS) if chosen == "native" else [chosen]
    out: dict[str, str] = {}
    for kind in kinds:
        with as_kind(kind):
            out.setdefault(calibration_key(base), kind)
    return out


def _kept(entries: object, sha: str, encodings: Sequence[str]) -> dict:
    """The per-encoding ``entries`` of encodings this run does not calibrate, where they were
    calibrated on the reader weights of SHA-256 ``sha`` (the rest are stale and left out)."""
    if not isinstance(entries, dict):
        return {}
    return {e: v for e, v in entries.items() if e in ENCODINGS and e not in encodings and isinstance(v, dict)
            and v.get("reader_sha256") == sha}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m qa.reader.calibrate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help="folder of SQuAD JSON files")
    ap.add_argument("--seeds", type=Path, default=DEFAULT_DOCS, help="seed documents and questions.jsonl")
    ap.add_argument("--ablation", action="store_true",
                    help="also measure feature ablations on held-out data (with this CPU's own encoding)")
    ap.add_argument("--records", type=Path, metavar="DIR",
                    help="keep the collected proposals in DIR and reuse them on the next run (refits only)")
    args = ap.parse_args(argv)
    try:
        rc.read_squad_folder(args.squad)
    except DocumentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = Settings()
    base = resolve_model(DEFAULT_MODEL, settings.cache_dir)
    kinds = kinds_to_calibrate(base)
    card = read_card()
    sha = card["weights"]["sha256"]
    answerability = _kept(card.get("answerability"), sha, list(kinds))
    calibrated = _kept(card.get("calibration", {}).get("by_encoding"), sha, list(kinds))
    ablation = {}
    if args.records:
        args.records.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="qa-calibrate-") as tmp:
        cal_path = write_subset(args.squad, rc.CALIBRATION_ARTICLES, Path(tmp) / "calibration.json")
        for n, (encoding, kind) in enumerate(kinds.items()):
            started = time.time()
            work = Path(tmp) / encoding
            keep = (lambda name, e=encoding: args.records / f"{e}-{name}.json") if args.records else (lambda name: None)
            print(f"calibrating for {encoding} document vectors (as on a CPU of kind {kind})", file=sys.stderr)
            with as_kind(kind):
                cal = collect(cal_path, settings.with_(index_dir=work / "index"), base, cache=keep("calibration"))
                # News as well as encyclopaedia text: the seeds' dev split (never its test split).
                cal += collect(args.seeds / "questions.jsonl",
                               settings.with_(index_dir=work / "index-seeds-dev", docs=(args.seeds,)), base,
                               split="dev", cache=keep("seeds-dev"))
                model = fit(cal, FEATURES)
                figures = squad_figures(cal, model)
                print(f"calibration ({encoding}): {figures}, threshold {model.threshold:.4f}", file=sys.stderr)
                if args.ablation and n == 0:
                    ablation = measure_ablation(args, settings, base, work, cal, keep)
                path = answerability_path(encoding)
                answerability[encoding] = {"file": path.name, "sha256": write_answerability(model, path),
                                           "dtype": "float64", "reader_sha256": sha}
                calibrated[encoding] = {
                    "reader_sha256": sha, "cpu_kind": kind,
                    "weights": dict(zip(model.names, np.round(model.weights, 4).tolist())),
                    "bias": round(model.bias, 4), "threshold": round(model.threshold, 4),
                    "calibration_figures": figures,
                    # The sentence similarities depend on the document vectors, the reader's
                    # scores on its precision: both follow the CPU (qa.index.cpu).
                    "measured_with": {"document_encoding": document_encoding(base).to_json(),
                                      "reader_precision": default_precision()},
                    "date": time.strftime("%Y-%m-%d"), "wall_time_s": round(time.time() - started)}
            print(f"wrote {path}", file=sys.stderr)
    card["answerability"] = {e: answerability[e] for e in ENCODINGS if e in answerability}
    card["calibration"] = {
        "command": " ".join(["python -m qa.reader.calibrate", *(argv if argv is not None else sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%d"),
        "articles": list(rc.CALIBRATION_ARTICLES) + ["seeds/questions.jsonl (dev split)"],
        "model": "logistic regression (scikit-learn, C=%g) over standardised features" % C,
        "threshold_rule": "the cut that maximises overall F1 on the calibration questions",
        "label": f"span token F1 >= {RIGHT_F1} with a gold answer", "features": list(FEATURES),
        "by_encoding": {e: calibrated[e] for e in ENCODINGS if e in calibrated}}
    if ablation:
        encoding = next(iter(kinds))
        card["ablation"] = {"encoding": encoding, **ablation}
        shipped = ablation["all features"]
        card["validation"] = {"articles": list(rc.VALIDATION_ARTICLES), "encoding": encoding,
                              "squad": shipped["validation"], "seeds_test": shipped["seeds_test"],
                              "date": time.strftime("%Y-%m-%d"),
                              "note": "open retrieval over all paragraphs of the validation articles "
                                      "(hybrid, the answer path's own proposals); follow-ups of the "
                                      "seeds' test split are left out here"}
    CARD_PATH.write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {CARD_PATH}", file=sys.stderr)
    return 0


def measure_ablation(args, settings: Settings, base, work: Path, cal: Sequence[Record], keep) -> dict:
    """Each variant of ``variants()`` fitted on the calibration records, measured on the validation
    articles and the seeds' test split."""
    work.mkdir(parents=True, exist_ok=True)  # (no index was built in it when the records were kept)
    val_path = write_subset(args.squad, rc.VALIDATION_ARTICLES, work / "validation.json")
    val = collect(val_path, settings.with_(index_dir=work / "index-val"), base, cache=keep("validation"))
    seeds = collect(args.seeds / "questions.jsonl",
                    settings.with_(index_dir=work / "index-seeds", docs=(args.seeds,)), base,
                    split="test", cache=keep("seeds-test"))
    ablation = {}
    for name, names in variants().items():
        m = fit(cal, names)
        ablation[name] = {"features": list(names), "threshold": round(m.threshold, 4),
                          "validation": squad_figures(val, m), "seeds_test": seed_figures(seeds, m)}
        print(f"{name}: {ablation[name]}", file=sys.stderr, flush=True)
    return ablation


if __name__ == "__main__":
    raise SystemExit(main())
