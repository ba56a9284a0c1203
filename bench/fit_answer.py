"""Fit the answer model's weights on the dev split (never the test split) and print them.

Each candidate span the answerer considers becomes a row of features; its label says whether it
overlaps a gold answer inside a gold document. A logistic regression gives the weights that
qa/answer.py uses; the abstention threshold is then chosen on the same dev questions.

    python -m bench.fit_answer [--split dev] [--index-dir DIR]
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from qa import answer as answer_mod
from qa.engine import Engine
from qa.question import analyze
from qa.settings import Mode, Settings

FEATURES = list(answer_mod.WEIGHTS)


def gold_spans(text: str, answers: list[str]) -> list[tuple[int, int]]:
    low = text.lower()
    out = []
    for g in answers:
        i = low.find(g.lower())
        while i >= 0:
            out.append((i, i + len(g)))
            i = low.find(g.lower(), i + 1)
    return out


def rows_for(engine: Engine, question: str, resolved: str, gold: dict, k: int):
    retriever = engine.retriever()
    q = analyze(resolved)
    qvec = engine.embed_query(resolved)
    hits = retriever.search(resolved, max(k, answer_mod.SUPPORT_POOL), Mode.HYBRID, lambda _q: qvec)
    feats = answer_mod._sentence_features(q, qvec, hits, retriever, engine)
    cands = answer_mod._candidates(q, feats, retriever, engine)
    rows = []
    for c in cands:
        label = 0
        if c.doc_id in gold["doc_ids"]:
            text = retriever.documents[c.doc_id].text
            for a, b in gold_spans(text, gold["answers"]):
                if c.span_start < b and a < c.span_end and (c.typed or (c.span_start <= a and b <= c.span_end)):
                    label = 1
        rows.append(([dict(c.features)[f] for f in FEATURES], label))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", default="dev")
    ap.add_argument("--questions", type=Path, default=Path("seeds/questions.jsonl"))
    ap.add_argument("--index-dir", type=Path, default=Path(tempfile.gettempdir()) / "qa-fit-index")
    args = ap.parse_args()
    from sklearn.linear_model import LogisticRegression

    engine = Engine(Settings(index_dir=args.index_dir, docs=(Path("seeds"),)))
    qs = [json.loads(line) for line in args.questions.open()]
    byid = {q["id"]: q for q in qs}
    X, y, groups, answerable = [], [], [], []
    for q in qs:
        if q["split"] != args.split:
            continue
        conv = engine.conversation()
        if q.get("follows"):
            conv.ask(byid[q["follows"]]["question"])
        resolved = conv.resolve(q["question"])
        for feats, label in rows_for(engine, q["question"], resolved, q, 5):
            X.append(feats)
            y.append(label)
            groups.append(q["id"])
        answerable.append((q["id"], bool(q["answers"])))
    X, y = np.array(X), np.array(y)
    model = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced").fit(X, y)
    weights = {f: round(float(w), 2) for f, w in zip(FEATURES, model.coef_[0])}
    print(json.dumps({"weights": weights, "bias": round(float(model.intercept_[0]), 2),
                      "rows": len(y), "positives": int(y.sum())}, indent=1))
    # Threshold sweep on the best candidate per question.
    logits = X @ model.coef_[0] + model.intercept_[0]
    best: dict[str, float] = {}
    for g, lg in zip(groups, logits):
        best[g] = max(best.get(g, -1e9), lg)
    for t in np.arange(-3, 3.01, 0.25):
        wrong = sum(1 for qid, ok in answerable if ok and best.get(qid, -1e9) < t)
        right = sum(1 for qid, ok in answerable if not ok and best.get(qid, -1e9) < t)
        n_ans = sum(ok for _, ok in answerable)
        print(f"logit {t:+.2f} p={1 / (1 + np.exp(-t)):.2f}: abstain on unanswerable {right}/"
              f"{len(answerable) - n_ans}, wrongly on answerable {wrong}/{n_ans}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
