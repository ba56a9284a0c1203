"""What users of each kind of CPU get: the same questions answered under each ``QA_CPU`` kind
(``qa.index.cpu``: bfloat16 documents and the signed int8 reader on AVX512-BF16; int8 documents
and reader with VNNI alone; unsigned int8 on AVX2), each kind with its own calibration.

    python -m bench.encodings [--articles N] [--kinds KIND ...]

For each kind, ``qa eval --json`` runs in a fresh process over the seeds' question set (every mode)
and over the first N validation articles (``qa.reader.data.VALIDATION_ARTICLES``, open retrieval
over all their paragraphs, hybrid), each with an index of its own. Writes
``bench/results/<date>-encodings.md`` and ``.json``: dense recall@5, the answer figures, and how
many answers differ from the first kind's. On one machine the kinds differ in the encodings they
choose; the integer kernels sum exactly on every CPU, so a real AVX2 machine can differ only by
float32 rounding.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qa.index.cpu import CPU_KINDS
from qa.reader import data as rc
from qa.reader.calibrate import write_subset
from qa.reader.train import DEFAULT_SQUAD

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SEEDS = ROOT / "seeds" / "questions.jsonl"


def run_eval(question_set: Path, kind: str, index_dir: Path, modes: str) -> dict:
    env = dict(os.environ, QA_CPU=kind, HF_HUB_OFFLINE="1")
    done = subprocess.run([sys.executable, "-m", "qa", "eval", str(question_set), "--mode", modes, "--json",
                           "--index-dir", str(index_dir)], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"qa eval under QA_CPU={kind} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def answers(run: dict, mode: str) -> dict[str, tuple]:
    return {r["id"]: (r["ask"]["answered"], r["ask"].get("answer")) for r in run["results"] if r["mode"] == mode}


def summary(run: dict, mode: str, first: dict | None) -> dict:
    m = run["metrics"][mode]
    out = {k: m.get(k) for k in ("recall@5", "containment", "f1", "abstention_recall", "wrongly_abstained",
                                  "multi_source_coverage", "verbatim")}
    if "squad" in m:
        out["squad"] = {k: m["squad"].get(k) for k in ("f1", "HasAns_f1", "NoAns_acc", "total")}
    if first is not None:
        mine, theirs = answers(run, mode), answers(first, mode)
        out["answers_differing"] = sum(mine[q] != theirs.get(q) for q in mine)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.encodings", description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=3, help="validation articles to answer over (default 3)")
    ap.add_argument("--kinds", nargs="+", choices=list(CPU_KINDS), default=list(CPU_KINDS))
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD)
    args = ap.parse_args(argv)
    started, rows = time.time(), []
    with tempfile.TemporaryDirectory(prefix="qa-bench-encodings-") as tmp:
        squad = write_subset(args.squad, rc.VALIDATION_ARTICLES[:args.articles], Path(tmp) / "validation.json")
        first: dict[str, dict] = {}
        for kind in args.kinds:
            t0 = time.time()
            seeds = run_eval(SEEDS, kind, Path(tmp) / kind / "seeds", "all")
            val = run_eval(squad, kind, Path(tmp) / kind / "squad", "hybrid")
            first = first or {"seeds": seeds, "squad": val}
            setup = seeds["setup"]
            rows.append({"kind": kind, "threshold": setup["threshold"],
                         "seeds": {mode: summary(seeds, mode, None if kind == args.kinds[0] else first["seeds"])
                                   for mode in ("dense", "bm25", "hybrid")},
                         "squad": summary(val, "hybrid", None if kind == args.kinds[0] else first["squad"]),
                         "seconds": round(time.time() - t0)})
            print(f"{kind}: {json.dumps(rows[-1])}", file=sys.stderr, flush=True)
    date = time.strftime("%Y-%m-%d")
    result = {"date": date, "command": " ".join(["python -m bench.encodings", *(argv or sys.argv[1:])]),
              "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                          "load_average": os.getloadavg()},
              "articles": list(rc.VALIDATION_ARTICLES[:args.articles]), "rows": rows,
              "seconds": round(time.time() - started)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{date}-encodings.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{date}-encodings.md").write_text(markdown(result))
    print(markdown(result))
    return 0


def markdown(result: dict) -> str:
    def pct(x):
        return "—" if x is None else f"{100 * x:.1f}"

    def num(x):
        return "—" if x is None else f"{x:.1f}"

    lines = [f"# Answers per kind of CPU ({result['date']})", "",
             f"`{result['command']}`: each kind with its own encodings and calibration. Seeds: all 109 "
             f"questions; SQuAD: open retrieval over all paragraphs of {', '.join(result['articles'])} "
             f"(hybrid). Load average {', '.join(f'{x:.1f}' for x in result['machine']['load_average'])}.", "",
             "| kind | threshold | seeds dense recall@5 | seeds containment | seeds abstention recall | "
             "seeds wrongly abstained | seeds all docs cited | seeds answers ≠ first | SQuAD F1 | HasAns F1 | "
             "NoAns | SQuAD answers ≠ first |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        s, h, q = r["seeds"]["dense"], r["seeds"]["hybrid"], r["squad"]
        lines.append(f"| {r['kind']} | {r['threshold']:.4f} | {pct(s['recall@5'])} | {pct(h['containment'])} | "
                     f"{pct(h['abstention_recall'])} | {pct(h['wrongly_abstained'])} | "
                     f"{pct(h['multi_source_coverage'])} | {h.get('answers_differing', '—')} | "
                     f"{num(q['squad']['f1'])} | {num(q['squad']['HasAns_f1'])} | {num(q['squad']['NoAns_acc'])} | "
                     f"{q.get('answers_differing', '—')} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
