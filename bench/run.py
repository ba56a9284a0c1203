"""Run the benchmarks: per corpus size build, load, query, ask and re-index; embedding throughput;
cold start; rank-bm25 vs bm25s and flat vs HNSW. Writes ``<out>/<date>-<quick|full>.{md,json}``.

    python -m bench --quick                 # the seeds and ~1k passages, under two minutes
    python -m bench                         # the seeds, ~1k, ~10k and ~100k passages
    python -m bench --sizes 1k 10k          # chosen sizes
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from . import coldstart, corpus, report

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
COLD_QUESTION = "How many Venezuelan soldiers were killed?"


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kK]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"a size is a passage count like 1000 or 10k, not {text!r}")
    return int(float(m.group(1)) * (1000 if m.group(2) else 1))


def size_name(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def machine() -> dict:
    import psutil

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "cores_usable": len(os.sched_getaffinity(0)),
            "ram_gb": psutil.virtual_memory().total / 2 ** 30, "platform": platform.platform(),
            "python": platform.python_version()}


def versions() -> dict:
    out = {}
    for pkg in ("numpy", "faiss-cpu", "rank-bm25", "bm25s", "torch", "sentence-transformers"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def thread_env(threads: int) -> dict:
    """The environment for query-side processes: OpenBLAS and OpenMP (faiss) pinned to ``threads``
    (0: the libraries' default, one thread per core)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if threads:
            env[var] = str(threads)
        else:
            env.pop(var, None)
    return env


def library_fingerprint() -> str:
    """SHA-256 of the library sources (qa/*.py), to tell which code a result file measured."""
    h = hashlib.sha256()
    for path in sorted((ROOT / "qa").glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def worker(task: str, spec: dict, work: Path, tag: str, env: dict | None = None) -> dict:
    """Run one measurement task in a fresh process (its memory figures are its own)."""
    spec_path, out_path = work / f"{tag}-{task}.spec.json", work / f"{tag}-{task}.out.json"
    spec_path.write_text(json.dumps(spec))
    out_path.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, "-m", "bench.measure", task, str(spec_path), str(out_path)],
                          cwd=ROOT, env=env or thread_env(0))
    if proc.returncode != 0:
        raise SystemExit(f"bench: the {task} task for {tag} failed (exit {proc.returncode})")
    return json.loads(out_path.read_text())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="the seeds and ~1k passages only (under two minutes)")
    p.add_argument("--sizes", nargs="+", type=parse_size, metavar="N",
                   help="corpus sizes in passages, e.g. 1k 10k 100k (default: 1k 10k 100k; --quick: 1k)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="results folder")
    p.add_argument("--work", type=Path, default=Path("/tmp/qa-bench"),
                   help="corpora and indexes (reused corpora; indexes are rebuilt)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed")
    p.add_argument("--queries", type=int, default=200, help="warm queries per mode (default 200)")
    p.add_argument("--asks", type=int, default=100, help="warm ask calls (default 100)")
    p.add_argument("--cold-runs", type=int, default=5, help="cold-start processes (default 5)")
    p.add_argument("--real-max", type=int, default=2000,
                   help="largest size embedded with the model; larger ones get random vectors (default 2000; "
                        "--quick: 0)")
    p.add_argument("--embed-sample", type=int, help="passages in the embedding sample (default 1000; --quick 64)")
    p.add_argument("--threads", type=int, default=1,
                   help="OpenBLAS and OpenMP threads for query-side processes and cold start (default 1; "
                        "0 = the libraries' default, one per core). Builds keep the default.")
    p.add_argument("--render", type=Path, metavar="JSON",
                   help="only rewrite the markdown page of an earlier result file")
    p.add_argument("--ann-size", type=parse_size,
                   help="size for the flat vs HNSW comparison (default: the largest)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.render:
        res = json.loads(args.render.read_text(encoding="utf-8"))
        args.render.with_suffix(".md").write_text(report.markdown(res) + "\n", encoding="utf-8")
        return 0
    started = time.perf_counter()
    mode = "quick" if args.quick else "full"
    sizes = sorted(args.sizes or ([1000] if args.quick else [1000, 10_000, 100_000]))
    real_max = 0 if args.quick and args.real_max == 2000 else args.real_max
    embed_sample = args.embed_sample or (64 if args.quick else 1000)
    ann_size = args.ann_size or sizes[-1]
    effort = {"queries": args.queries, "asks": args.asks, "component_queries": min(50 if args.quick else 100,
                                                                                  args.queries),
              "asks_repeated": 25 if args.quick else args.asks, "profile_queries": 10 if args.quick else 30}
    work = args.work / mode
    work.mkdir(parents=True, exist_ok=True)
    res = {"date": dt.date.today().isoformat(), "started": dt.datetime.now().isoformat(timespec="seconds"),
           "mode": mode, "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
           "machine": machine(), "versions": versions(), "load_avg_start": load_avg(), "sizes": [], "notes": [],
           "profile_queries": effort["profile_queries"], "library_sha256": library_fingerprint()}

    corpora = {}
    for n in sizes:
        log(f"{size_name(n)}: corpus")
        t = time.perf_counter()
        corpora[n] = dict(corpus.write(n, work / size_name(n), seed=args.seed), generate_s=time.perf_counter() - t)

    log("seeds: build with the model, then embedding throughput on a sample")
    seeds_index = work / "seeds" / "index"
    seeds = {"name": "seeds", "passages_target": None, "corpus": {"documents": 2, "docs": str(SEEDS)},
             "load_avg": load_avg()}
    # Sampled from a corpus big enough to hold that many ~130-token passages, without reading 100k.
    enough = [n for n in sizes if corpora[n]["passages"] >= 10 * embed_sample] or [sizes[-1]]
    sample = {"docs": corpora[enough[0]]["docs"], "sample": embed_sample, "int8": not args.quick}
    seeds["build"] = worker("build", {"index_dir": str(seeds_index), "docs": str(SEEDS), "vectors": "model",
                                      "embed_sample": sample}, work, "seeds")
    res["embedding"] = seeds["build"].pop("embedding")
    log("seeds: queries")
    qenv = thread_env(args.threads)
    seeds["query"] = worker("query", dict(effort, index_dir=str(seeds_index), docs=str(SEEDS),
                                          questions=str(SEEDS / "questions.jsonl")), work, "seeds", qenv)
    log("threads: 1 vs the default for the query encoder and flat search")
    spec = {"index_dir": str(seeds_index), "docs": str(SEEDS), "questions": str(SEEDS / "questions.jsonl"),
            "n": 10 if args.quick else 30, "budget_s": 3 if args.quick else 30,
            "calls": ["embed_query"] if args.quick else ["embed_query", "ask"]}
    res["threads"] = {"pinned": args.threads,
                           "one": worker("threads", spec, work, "threads-1", thread_env(1)),
                           "default": worker("threads", spec, work, "threads-default", thread_env(0))}
    res["sizes"].append(seeds)

    real_index = seeds_index
    for n in sizes:
        name, meta = size_name(n), corpora[n]
        folder = work / name
        vectors = "model" if n <= real_max else "random"
        log(f"{name}: build ({meta['passages']} passages, {vectors} vectors)")
        entry = {"name": name, "passages_target": n, "corpus": meta, "load_avg": load_avg()}
        entry["build"] = worker("build", {"index_dir": str(folder / "index"), "docs": meta["docs"],
                                          "vectors": vectors}, work, name)
        if vectors == "model":
            real_index = folder / "index"
        spec = dict(effort, index_dir=str(folder / "index"), docs=meta["docs"], questions=meta["questions"])
        if n == ann_size:
            spec["ann"] = {"M": 32, "ef": [64, 128], "kind": vectors if vectors == "model" else "random unit",
                           "real_vectors": str(real_index)}
        log(f"{name}: queries")
        entry["query"] = worker("query", spec, work, name, qenv)
        res["sizes"].append(entry)

    for s in res["sizes"]:
        b = s["build"]
        if b["vectors"] != "model":  # what the build would take with the model at the measured rate
            rate = res["embedding"]["fp32_passages_per_s"]  # ~130-token passages; sentences are shorter
            s["build_estimated_s"] = b["build_without_embedding_s"] + b["texts_embedded"] / rate

    log("cold start")
    res["cold_start"] = {"total": coldstart.total(seeds_index, COLD_QUESTION, args.cold_runs, qenv),
                         "breakdown": coldstart.breakdown(seeds_index, COLD_QUESTION,
                                                          3 if args.quick else args.cold_runs, qenv),
                         "imports": coldstart.import_times()}

    res["library_sha256_end"] = library_fingerprint()
    res["notes"] = notes(res, real_max)
    res["targets"] = targets(res)
    res["findings"] = findings(res)
    res["load_avg_end"] = load_avg()
    res["elapsed_s"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{res['date']}-{mode}"
    stem.with_suffix(".json").write_text(json.dumps(res, indent=1, ensure_ascii=False))
    page = report.markdown(res)
    stem.with_suffix(".md").write_text(page + "\n", encoding="utf-8")
    print(page)
    log(f"wrote {stem}.md and {stem}.json in {res['elapsed_s']:.0f} s")
    return 0


def notes(res: dict, real_max: int) -> list[str]:
    out = []
    random_sizes = [s["name"] for s in res["sizes"] if s["build"]["vectors"] != "model"]
    if random_sizes:
        e = res["embedding"]
        out.append(
            f"**Random vectors** at {', '.join(random_sizes)}: embedding every passage and sentence with the model "
            f"runs at ~{e['fp32_passages_per_s']:.0f} passages/s here, so those indexes were built with random "
            f"unit vectors in place of model vectors ("
            + (f"only sizes up to {real_max:,} passages are embedded for real" if real_max else
               "--quick embeds only the seeds for real") + "). "
            f"BM25, the index files and the flat faiss index are real and full size, and flat search latency does "
            f"not depend on the vector values; answers on those indexes are meaningless, only their cost counts. "
            f"Embedding throughput is measured on a sample instead (below), and the build time with real "
            f"embedding is estimated from it.")
    out.append("The synthetic corpora (`bench/corpus.py`, seed "
               f"{res['sizes'][-1]['corpus'].get('seed', 0)}) recombine the seed sentences and ~40 written ones "
               "with substituted people, places, organisations, numbers and dates; their questions are templates "
               "filled with entities of random documents.")
    bt = res["threads"]
    out.append(f"Query-side processes (query workers, cold start) ran with OpenBLAS and OpenMP (faiss) "
               f"{'pinned to ' + str(bt['pinned']) + ' thread(s)' if bt['pinned'] else 'at their defaults'} "
               f"(`--threads`); builds keep the defaults. On these shared cores a second thread mostly waits "
               f"for a descheduled one: see the threads A/B table (flat search over 100k vectors: "
               f"{bt['one']['flat_100000']['p50_ms']:.1f} ms with one thread, "
               f"{bt['default']['flat_100000']['p50_ms']:.1f} ms with the default).")
    out.append("Each build and each query run is a fresh process: peak RSS is `ru_maxrss` of the build process "
               "(imports included); resident memory per passage is the RSS growth of loading the index after the "
               "query encoder and faiss are loaded, divided by the passages.")
    return out


def targets(res: dict) -> list[dict]:
    sizes = {s["name"]: s for s in res["sizes"]}
    big = res["sizes"][-1]
    where = big["name"] if big["name"] == "100k" else f"at {big['name']}, not 100k"
    rows = [report.judge("hybrid_p50", big["query"]["search_hybrid"]["p50_ms"], where),
            report.judge("hybrid_p95", big["query"]["search_hybrid"]["p95_ms"], where),
            report.judge("ask_p50", sizes["seeds"]["query"]["ask"]["p50_ms"]),
            report.judge("cold", res["cold_start"]["total"]["first_answer_s"]),
            report.judge("embed", res["embedding"]["fp32_passages_per_s"], "fp32, sample"),
            report.judge("reindex", sizes["seeds"]["query"]["reindex_nochange_s"], "seeds")]
    for s in res["sizes"][1:]:
        rows.append(report.judge("reindex", s["query"]["reindex_nochange_s"], s["name"]))
    rows.append(report.judge("memory", big["query"]["resident_beyond_text_per_passage"], big["name"]))
    return rows


def findings(res: dict) -> list[str]:
    """Which component dominates each figure, read off the measurements."""
    out = []
    names = {"embed_query": "query embedding", "bm25_top50": "BM25 (rank-bm25)", "faiss_flat_top50": "faiss flat",
             "rrf_fusion": "fusion"}
    for s in res["sizes"]:
        c = s["query"]["hybrid_components"]
        parts = {k: c[k]["p50_ms"] for k in names}
        top = max(parts, key=parts.get)
        out.append(f"Hybrid at {s['name']}: p50 {s['query']['search_hybrid']['p50_ms']:.1f} ms = "
                   + ", ".join(f"{names[k]} {v:.1f}" for k, v in parts.items()) + f" ms; {names[top]} dominates.")
    big = res["sizes"][-1]
    c, b = big["query"]["hybrid_components"], big["query"]["bm25_compare"]
    est = sum(c[k]["p50_ms"] for k in ("embed_query", "faiss_flat_top50", "rrf_fusion")) + b["bm25s"]["p50_ms"]
    out.append(f"Estimate at {big['name']}: with BM25 scored the way bm25s scores it ({b['bm25s']['p50_ms']:.1f} ms "
               f"p50 instead of {b['rank_bm25']['p50_ms']:.0f} ms), hybrid p50 would be about {est:.0f} ms "
               f"(the sum of the measured p50s of its parts).")
    seeds = res["sizes"][0]["query"]
    prof = seeds["profile_ask"][0]
    out.append(f"ask on the seeds: p50 {seeds['ask']['p50_ms']:.1f} ms, of which the query embedding alone is "
               f"{seeds['hybrid_components']['embed_query']['p50_ms']:.1f} ms; top self time in the profile: "
               f"`{prof['function']}` ({prof['tottime_s'] / res['profile_queries'] * 1000:.1f} ms per ask).")
    mem = big["query"].get("memory_breakdown_bytes_per_passage")
    if mem:
        top2 = sorted(mem.items(), key=lambda kv: -kv[1])[:3]
        out.append(f"Memory at {big['name']}: {big['query']['resident_beyond_text_per_passage']:,.0f} bytes per "
                   f"passage beyond the text; largest parts: "
                   + ", ".join(f"{k} {v:,.0f}" for k, v in top2) + " bytes.")
    r = big["query"]["profile_reindex"][:3]
    out.append(f"No-change re-index at {big['name']}: {big['query']['reindex_nochange_s']:.2f} s; top self time: "
               + ", ".join(f"`{x['function']}` {x['tottime_s']:.2f} s" for x in r) + ".")
    b = res["cold_start"]["breakdown"]["median_s"]
    stage = max((k for k in b if k != "total"), key=b.get)
    out.append(f"Cold start: {res['cold_start']['total']['first_answer_s']:.2f} s to the first answer; the largest "
               f"stage is {stage} ({b[stage]:.2f} s).")
    return out
