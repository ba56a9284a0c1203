"""Cold start: a fresh ``python -m qa ask`` process to its first answer, and where the time goes.

``total`` runs the real command line. ``breakdown`` runs this module as a child that calls the same
``qa.cli.main`` with ``time.perf_counter`` checkpoints around each stage (wrappers around the library
functions the command calls), so the stages add up to what the command does:

* startup  — the interpreter starting, until this module's first line runs
* imports  — ``import qa.cli`` and everything it pulls in (``qa`` imports its whole pipeline)
* stale check — hashing the documents to see whether the index is current
* index load — reading the manifest and the index files, memory-mapping the arrays, faiss
* model verify — SHA-256 of the model files against the official sums
* model load — the ONNX Runtime MiniLM query encoder (weights, tokenizer)
* reader load — the reader and its answerability model (``qa.reader.load``)
* first query — analysing, embedding, searching and answering the first question (``qa.answer``)
* other — the rest: argument parsing, the engine object, printing, interpreter exit

Each stage counts its own time: a stage that runs inside another (the model check inside the
reader load) is taken out of the outer one.
"""
from __future__ import annotations

import time

_T0 = time.time()  # before any import: the child's start, compared with the parent's spawn time

import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("startup", "imports", "stale check", "index load", "model verify", "model load", "reader load",
          "first query", "other")


def _env(base: dict | None = None) -> dict:
    env = dict(base or os.environ, HF_HUB_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    env.pop("QA_DOCS", None)
    return env


def total(index_dir: Path, question: str, runs: int = 5, env: dict | None = None) -> dict:
    """Wall time of ``python -m qa ask QUESTION --index-dir DIR`` to its first line of output and to exit."""
    first, done, answer = [], [], ""
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "qa", "ask", question, "--index-dir", str(index_dir)],
                                cwd=ROOT, env=_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        first.append(time.perf_counter() - t)
        rest, err = proc.communicate()
        done.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise RuntimeError(f"qa ask failed ({proc.returncode}): {err.strip()[-400:]}")
        if "index" in err.lower() and "embedding" in err.lower():
            raise RuntimeError("qa ask rebuilt the index: the cold start would include a build")
        answer = line.strip()
    return {"runs": runs, "first_answer_s": statistics.median(first), "exit_s": statistics.median(done),
            "first_answer_all_s": first, "answer": answer}


def breakdown(index_dir: Path, question: str, runs: int = 5, env: dict | None = None) -> dict:
    """Median seconds per stage over ``runs`` instrumented child processes."""
    rows = []
    for _ in range(runs):
        spawn = time.time()
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bench.coldstart", str(index_dir), question], cwd=ROOT,
                              env=_env(env), capture_output=True, text=True)
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            raise RuntimeError(f"cold-start child failed: {proc.stderr.strip()[-400:]}")
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        stages = child["stages"]
        stages["startup"] = child["t0"] - spawn
        stages["other"] = wall - sum(v for k, v in stages.items() if k != "other")
        rows.append(dict(stages, total=wall))
    return {"runs": runs, "median_s": {k: statistics.median(r[k] for r in rows) for k in (*STAGES, "total")}}


def import_times(limit: int = 8) -> list[dict]:
    """Where ``import qa.cli`` spends its time (python -X importtime), as self time summed per
    top-level package."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import qa.cli"], cwd=ROOT, env=_env(),
                          capture_output=True, text=True)
    per: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", line)
        if m:
            top = m.group(2).lstrip("_").split(".")[0]
            per[top] = per.get(top, 0) + int(m.group(1))
    rows = sorted(per.items(), key=lambda kv: -kv[1])[:limit]
    return [{"package": k, "self_ms": v / 1000} for k, v in rows]


def _child(index_dir: str, question: str) -> None:
    """Run ``qa ask`` in-process with checkpoints; print one JSON line of stage seconds."""
    import contextlib
    import io

    spent = dict.fromkeys(STAGES, 0.0)
    active: list[str] = []  # the stages running now, outermost first
    t = time.perf_counter()
    import qa.cli

    spent["imports"] = time.perf_counter() - t

    import qa.answer
    import qa.index.dense
    import qa.engine
    import qa.index.indexer
    import qa.index.retriever

    def wrap(owner, name: str, stage: str):
        fn = getattr(owner, name)

        def timed(*args, **kwargs):
            active.append(stage)
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                took = time.perf_counter() - t
                active.pop()
                spent[stage] += took
                if active:  # self time only: the enclosing stage does not count this one again
                    spent[active[-1]] -= took

        setattr(owner, name, timed)

    wrap(qa.index.indexer, "stale_reason", "stale check")
    wrap(qa.engine, "read_index", "index load")
    wrap(qa.engine, "Retriever", "index load")
    wrap(qa.index.dense, "verify", "model verify")
    wrap(qa.index.dense, "OnnxMiniLM", "model load")
    wrap(qa.engine, "load_reader", "reader load")
    wrap(qa.engine, "answer", "first query")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = qa.cli.main(["ask", question, "--index-dir", index_dir])
    if code != 0:
        raise SystemExit(code)
    print(json.dumps({"t0": _T0, "stages": {k: v for k, v in spent.items() if k not in ("startup", "other")},
                      "answer": out.getvalue().splitlines()[0] if out.getvalue() else ""}))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
