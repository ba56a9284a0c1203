"""The reader on int8 against float32: answers, SQuAD figures and time per question.

    python -m bench.reader [--squad ../shared/data/squad] [--out bench/results/reader.json]

Asks every question of the validation articles (``qa.reader.data.VALIDATION_ARTICLES``, never
trained or calibrated on) through ``Engine.ask`` with each variant of the reader, over one index
of all their paragraphs, and reports the official SQuAD 2.0 figures, how many predictions are
identical, and the median and p95 seconds per question.
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
from qa.reader import data as rc
from qa.reader import load as load_reader
from qa.reader.calibrate import write_subset
from qa.reader.train import DEFAULT_SQUAD
from qa.settings import DEFAULT_MODEL, Settings
from qa.squad import write_corpus


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.reader", description=__doc__.split("\n\n")[0])
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    ap.add_argument("--out", type=Path, default=None, help="also write the figures as JSON here")
    ap.add_argument("--limit", type=int, default=0, help="only the first N questions")
    args = ap.parse_args(argv)
    settings = Settings()
    base = resolve_model(DEFAULT_MODEL, settings.cache_dir)
    results = {}
    with tempfile.TemporaryDirectory(prefix="qa-bench-reader-") as tmp:
        path = write_subset(args.squad, rc.VALIDATION_ARTICLES, Path(tmp) / "validation.json")
        _, questions, squad = load(path)
        questions = questions[:args.limit] if args.limit else questions
        write_corpus(squad, Path(tmp) / "corpus")
        index = Path(tmp) / "index"
        Engine(settings.with_(index_dir=index, docs=(Path(tmp) / "corpus",))).build()
        predictions = {}
        for name, quantize in (("int8", True), ("float32", False)):
            reader, model = load_reader(base, quantize=quantize)
            engine = Engine(settings.with_(index_dir=index, docs=(Path(tmp) / "corpus",)), reading=(reader, model))
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
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
