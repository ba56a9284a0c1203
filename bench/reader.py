"""The reader in each precision (``qa.reader.PRECISIONS``): answers, SQuAD figures and time per question.

    python -m bench.reader [--part ask gold] [--squad ../shared/data/squad] [--out bench/results/reader.json]

``ask``: asks every question of the validation articles (``qa.reader.data.VALIDATION_ARTICLES``,
never trained or calibrated on) through ``Engine.ask`` with int8 and float32 readers, over one
index of all their paragraphs, and reports the official SQuAD 2.0 figures, how many predictions
are identical, and the median and p95 seconds per question.

``gold``: the reader alone with each question's own paragraph given, in every precision, on the
validation and the calibration articles: the F1 of its best span over the answerable questions
and the share of unanswerable ones where no span beats the no-answer score.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from qa.index.dense import resolve_model
from qa.engine import Engine
from qa.evaluate import load
from qa.metrics import squad_figures
from qa.reader import PRECISIONS
from qa.reader import data as rc
from qa.reader import load as load_reader
from qa.reader.calibrate import write_subset
from qa.reader.measure import gold_paragraph, questions
from qa.reader.train import DEFAULT_SQUAD
from qa.settings import DEFAULT_MODEL, Settings
from qa.squad import write_corpus


def gold(args, base) -> dict:
    articles = [a for f in sorted(args.squad.glob("*.json")) for a in rc.read_squad(f)]
    _, calibration, validation = rc.split(articles)
    out = {}
    for precision in PRECISIONS:
        reader, _ = load_reader(base, calibrated=False, precision=precision)
        out[precision] = {"validation": gold_paragraph(reader, questions(validation)),
                          "calibration": gold_paragraph(reader, questions(calibration))}
        print(precision, out[precision], file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.reader", description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", nargs="+", choices=("ask", "gold"), default=["ask", "gold"])
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    ap.add_argument("--limit", type=int, default=0, help="only the first N questions (ask)")
    args = ap.parse_args(argv)
    settings = Settings()
    base = resolve_model(DEFAULT_MODEL, settings.cache_dir)
    results = {"gold_paragraph": gold(args, base)} if "gold" in args.part else {}
    if "ask" in args.part:
        results |= ask(args, settings, base)
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


def ask(args, settings: Settings, base) -> dict:
    results = {}
    with tempfile.TemporaryDirectory(prefix="qa-bench-reader-") as tmp:
        path = write_subset(args.squad, rc.VALIDATION_ARTICLES, Path(tmp) / "validation.json")
        _, questions, squad = load(path)
        questions = questions[:args.limit] if args.limit else questions
        write_corpus(squad, Path(tmp) / "corpus")
        index = Path(tmp) / "index"
        corpus = settings.with_(index_dir=index, docs=(Path(tmp) / "corpus",), include_uploads=False)
        Engine(corpus).build()
        predictions = {}
        for name, precision in (("int8", "int8"), ("float32", "fp32")):
            reader, model = load_reader(base, precision=precision)
            engine = Engine(corpus, reading=(reader, model))
            engine.ask(questions[0].question)  # warm up
            seconds, preds = [], {}
            for q in questions:
                start = time.perf_counter()
                answer = engine.ask(q.question)
                seconds.append(time.perf_counter() - start)
                preds[q.id] = answer.answer if answer.answered else ""
            predictions[name] = preds
            figures = squad_figures([(q.answers, preds[q.id]) for q in questions]).to_json()
            seconds.sort()
            results[name] = {"squad": figures, "ask_p50_s": round(statistics.median(seconds), 4),
                             "ask_p95_s": round(seconds[int(0.95 * (len(seconds) - 1))], 4)}
            print(name, results[name], file=sys.stderr, flush=True)
        same = sum(predictions["int8"][q.id] == predictions["float32"][q.id] for q in questions)
        results["identical_predictions"] = f"{same}/{len(questions)}"
    return results


if __name__ == "__main__":
    raise SystemExit(main())
