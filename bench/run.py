"""Run the benchmarks: per corpus size build, load, query, ask and re-index; embedding throughput;
cold start; rank-bm25 vs bm25s and flat vs HNSW. Writes ``<out>/<date>-<quick|full>.{md,json}``.

    python -m bench --quick                 # the seeds and ~1k passages, a few minutes
    python -m bench                         # the seeds, ~1k, ~10k, ~100k and ~1M passages
    python -m bench --sizes 1k 10k          # chosen sizes

Sizes up to ``--real-max`` (10k) are embedded with the library's document encoder; larger ones get
random unit vectors through the indexer's ``encoder=`` hook. Sizes from ``--search-only-min`` (1M)
measure search latency, index load and memory only (no ask, re-index or comparisons).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from . import coldstart, corpus, report

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
COLD_QUESTION = "How many Venezuelan soldiers were killed?"


DEFAULT_SIZES = (1000, 10_000, 100_000, 1_000_000)
SCALE = {"": 1, "k": 1000, "m": 1_000_000}


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"a size is a passage count like 1000, 10k or 1M, not {text!r}")
    return int(float(m.group(1)) * SCALE[m.group(2).lower()])


def size_name(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
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
    for pkg in ("numpy", "scipy", "faiss-cpu", "onnxruntime", "rank-bm25", "bm25s", "torch", "sentence-transformers"):
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
    """SHA-256 of the library sources (qa/**/*.py), to tell which code a result file measured."""
    h = hashlib.sha256()
    for path in sorted((ROOT / "qa").rglob("*.py")):
        h.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
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
    p.add_argument("--quick", action="store_true", help="the seeds and ~1k passages only (a few minutes)")
    p.add_argument("--sizes", nargs="+", type=parse_size, metavar="N",
                   help="corpus sizes in passages, e.g. 1k 10k 100k 1M (default: 1k 10k 100k 1M; --quick: 1k)")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="results folder")
    p.add_argument("--work", type=Path, default=Path("/tmp/qa-bench"),
                   help="corpora and indexes (reused corpora; indexes are rebuilt)")
    p.add_argument("--seed", type=int, default=0, help="corpus seed")
    p.add_argument("--queries", type=int, default=200, help="warm queries per mode (default 200)")
    p.add_argument("--asks", type=int, default=100, help="warm ask calls (default 100)")
    p.add_argument("--cold-runs", type=int, default=5, help="cold-start processes (default 5)")
    p.add_argument("--real-max", type=parse_size, default=10_000,
                   help="largest size embedded with the library's document encoder; larger ones get random "
                        "unit vectors (default 10k)")
    p.add_argument("--search-only-min", type=parse_size, default=1_000_000,
                   help="sizes from this one measure search latency, load and memory only (default 1M)")
    p.add_argument("--build-runs", type=int, default=3,
                   help="builds per size embedded for real, in fresh processes; the median is reported "
                        "(default 3; random-vector sizes are built once)")
    p.add_argument("--load-runs", type=int, default=5,
                   help="index loads per size, each in a fresh process; the median is reported (default 5)")
    p.add_argument("--embed-sample", type=int, help="passages in the embedding sample (default 1000; --quick 64)")
    p.add_argument("--threads", type=int, default=1,
                   help="OpenBLAS and OpenMP threads for query-side processes and cold start (default 1; "
                        "0 = the libraries' default, one per core). Builds keep the default.")
    p.add_argument("--render", type=Path, metavar="JSON",
                   help="only recompute the notes, targets and findings of an earlier result file and rewrite "
                        "its markdown page")
    p.add_argument("--library", metavar="TEXT",
                   help="which library code this tree holds, said on the page (e.g. the commit a snapshot was "
                        "taken from, when the bench runs from a copy while the checkout is being edited)")
    p.add_argument("--ann-size", type=parse_size,
                   help="size for the flat vs HNSW comparison (default: the largest)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.render:
        res = json.loads(args.render.read_text(encoding="utf-8"))
        derive(res, res.get("real_max", args.real_max))  # what is computed from the measurements, anew
        args.render.write_text(json.dumps(res, indent=1, ensure_ascii=False))
        args.render.with_suffix(".md").write_text(report.markdown(res) + "\n", encoding="utf-8")
        return 0
    started = time.perf_counter()
    mode = "quick" if args.quick else "full"
    sizes = sorted(args.sizes or ([1000] if args.quick else list(DEFAULT_SIZES)))
    real_max = args.real_max
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
           "profile_queries": effort["profile_queries"], "library_sha256": library_fingerprint(),
           "library": args.library or ""}

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
    full_sizes = [n for n in sizes if n < args.search_only_min]
    if args.ann_size is None and full_sizes:
        ann_size = full_sizes[-1]  # the comparisons need the full query run
    for n in sizes:
        name, meta = size_name(n), corpora[n]
        folder = work / name
        vectors = "model" if n <= real_max else "random"
        search_only = n >= args.search_only_min
        entry = {"name": name, "passages_target": n, "corpus": meta, "load_avg": load_avg(),
                 "search_only": search_only}
        spec = {"index_dir": str(folder / "index"), "docs": meta["docs"], "vectors": vectors,
                "bm25": not search_only}
        if search_only and vectors == "random":
            spec["random_dtype"] = "float16"  # see measure.RandomEncoder: ~6 GB less at the build's peak at 1M
        runs = max(1, args.build_runs) if vectors == "model" else 1
        log(f"{name}: build ({meta['passages']} passages, {vectors} vectors, {runs} run(s))")
        entry["build"] = median_build([worker("build", dict(spec, bm25=spec["bm25"] and i == 0), work,
                                              f"{name}-{i}") for i in range(runs)])
        if vectors == "model":
            real_index = folder / "index"
        log(f"{name}: {args.load_runs} index loads in fresh processes")
        loads = [worker("load", spec, work, f"{name}-{i}", qenv) for i in range(args.load_runs)]
        entry["load"] = {"runs": len(loads), "median_s": statistics.median(x["load_s"] for x in loads),
                         "all_s": [x["load_s"] for x in loads], "load_avg": [x["load_avg"] for x in loads],
                         "rss_delta_mb_median": statistics.median(x["rss_delta_mb"] for x in loads)}
        qspec = dict(effort, index_dir=str(folder / "index"), docs=meta["docs"], questions=meta["questions"],
                     search_only=search_only)
        if n == ann_size and not search_only:
            qspec["ann"] = {"M": 32, "ef": [64, 128], "kind": vectors if vectors == "model" else "random unit",
                            "real_vectors": str(real_index)}
        log(f"{name}: queries" + (" (search latency and memory only)" if search_only else ""))
        entry["query"] = worker("query", qspec, work, name, qenv)
        res["sizes"].append(entry)

    log("cold start")
    res["cold_start"] = {"total": coldstart.total(seeds_index, COLD_QUESTION, args.cold_runs, qenv),
                         "breakdown": coldstart.breakdown(seeds_index, COLD_QUESTION,
                                                          3 if args.quick else args.cold_runs, qenv),
                         "imports": coldstart.import_times()}

    res["library_sha256_end"] = library_fingerprint()
    res["real_max"] = real_max
    derive(res, real_max)
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


def derive(res: dict, real_max: int) -> None:
    """The figures computed from the measurements: estimates, notes, targets, findings."""
    estimate_builds(res)
    res["notes"] = notes(res, real_max)
    res["targets"] = targets(res)
    res["findings"] = findings(res)


def median_build(runs: list[dict]) -> dict:
    """The build run with the median wall time (its peak RSS and disk figures with it), the BM25
    costs of the first run, and every run's wall time, rate and load average."""
    chosen = sorted(runs, key=lambda r: r["build_s"])[(len(runs) - 1) // 2]  # of an even count, the faster middle
    bm25 = {k: v for k, v in runs[0].items() if k.startswith("bm25_")}
    return dict(chosen, **bm25, runs=[{"build_s": r["build_s"], "passages_per_s": r["passages_per_s"],
                                       "embed_s": r["embed_s"], "load_avg": r["load_avg"]} for r in runs])


def estimate_builds(res: dict) -> None:
    """For sizes built with random vectors: the build with real embedding, their build minus its
    (random) encoder time plus the passages at the embedding rate measured inside the largest real
    build (the encoder loaded once). Unset when no size was embedded for real."""
    real = [s for s in res["sizes"] if s["build"]["vectors"] == "model" and s.get("passages_target")]
    if not real:
        return
    ref = real[-1]["build"]
    per_passage = ref["embed_s"] / ref["passages"]
    for s in res["sizes"]:
        b = s["build"]
        if b["vectors"] != "model":
            s["build_estimated_s"] = b["build_without_embedding_s"] + ref["model_load_s"] + b["passages"] * per_passage
            s["build_estimated_from"] = real[-1]["name"]


def notes(res: dict, real_max: int) -> list[str]:
    out = [f"Library measured: {res['library']}."] if res.get("library") else []
    sizes = [s for s in res["sizes"] if s.get("passages_target")]
    real_sizes = [s["name"] for s in sizes if s["build"]["vectors"] == "model"]
    random_sizes = [s for s in sizes if s["build"]["vectors"] != "model"]
    out.append("**Real embeddings** (the library's default document encoder: bfloat16 on torch where the CPU has "
               "bfloat16 dot products, else ONNX Runtime int8; one forward pass per passage) at the seeds"
               + (", " + ", ".join(real_sizes) if real_sizes else "")
               + f"; sizes up to {real_max:,} passages (`--real-max`) are embedded for real.")
    if random_sizes:
        est = [s for s in random_sizes if s.get("build_estimated_s")]
        ref = next((s for s in sizes if s["name"] == (est[0]["build_estimated_from"] if est else None)), None)
        out.append(
            f"**Random vectors** at {', '.join(s['name'] for s in random_sizes)}: those indexes were built with "
            f"random unit vectors through the indexer's `encoder=` hook, in place of model vectors. A real build "
            f"of 100k passages would take ~{100_000 / ref['build']['passages_per_s'] / 60:.0f} minutes at the "
            f"{ref['name']} rate measured here ({ref['build']['passages_per_s']:.0f} passages/s end to end), too "
            f"long beside the rest of the run on shared cores; "
            if ref else f"**Random vectors** at {', '.join(s['name'] for s in random_sizes)} (no real build in "
                        f"this run to estimate from); ")
        out[-1] += ("BM25, the index files and the faiss index (flat below 50,000 passages, HNSW from there) are "
                    "real and full size; answers on those indexes are meaningless, only their cost counts. A flat "
                    "search costs the same whatever the values; an HNSW search over random vectors (no "
                    "neighbourhood structure) visits about as many nodes as over embeddings at the same efSearch, "
                    "but its recall is lower (see flat vs HNSW). **build estimated with real embedding** is the "
                    "random build minus its encoder time plus the passages at the embedding rate of the largest "
                    "real build.")
        if any(s.get("search_only") for s in random_sizes):
            out.append(f"**{', '.join(s['name'] for s in random_sizes if s.get('search_only'))}: search latency, "
                       f"index load and memory only** (no ask, re-index or comparisons). Its random vectors are "
                       f"made in float16 by the bench's encoder (the store writes float32 as always): the indexer "
                       f"holds every passage and sentence vector per document and again concatenated, and float16 "
                       f"makes those two copies ~6 GB smaller at 1M (2 x ~4M vectors x 384 x 2 bytes), so the "
                       f"build fits this 24 GB machine beside other work; its peak RSS is in the table.")
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
    out.append("Each build, each index load and each query run is a fresh process: peak RSS is `ru_maxrss` of "
               "the build process (imports included); index load is the median of "
               f"{sizes[0]['load']['runs'] if sizes else '?'} fresh processes timing `Engine.retriever()` after "
               "the imports and the query encoder; resident memory per passage is the RSS growth of that first "
               "load in the query process, divided by the passages. The index files are in the page cache (just "
               "written), as for a `qa` process run after `qa index`.")
    out.append(f"The two cores are shared with other work that ran at the same time (load average "
               f"{res['load_avg_start']} at the start): every figure has the load average of its run beside it, "
               f"and timings move with it.")
    return out


def _get(sizes: dict, name: str, *keys: str) -> float | None:
    v = sizes.get(name)
    for k in keys:
        if not isinstance(v, dict) or k not in v:
            return None
        v = v[k]
    return v


def targets(res: dict) -> list[dict]:
    """The issue's figures with their goals: each at its own size, "not measured" when the run lacks it."""
    sizes = {s["name"]: s for s in res["sizes"]}
    at = {name: f"{name}, load avg {sizes[name]['load_avg']}" if name in sizes else name
          for name in ("10k", "100k", "1M")}
    real10k = _get(sizes, "10k", "build", "vectors") == "model"
    rows = [report.judge("build_rate", _get(sizes, "10k", "build", "passages_per_s") if real10k else None,
                         at["10k"] + ", real embeddings, median of "
                         + str(len(_get(sizes, "10k", "build", "runs") or [])) + " builds"),
            report.judge("hybrid_p50", _get(sizes, "100k", "query", "search_hybrid", "p50_ms"), at["100k"]),
            report.judge("hybrid_p95", _get(sizes, "100k", "query", "search_hybrid", "p95_ms"), at["100k"]),
            report.judge("hybrid_p50_1m", _get(sizes, "1M", "query", "search_hybrid", "p50_ms"), at["1M"]),
            report.judge("load", _get(sizes, "100k", "load", "median_s"), at["100k"]),
            report.judge("reindex", _get(sizes, "100k", "query", "reindex_nochange_s"), at["100k"]),
            report.judge("memory", _get(sizes, "100k", "query", "resident_beyond_text_per_passage"), at["100k"]),
            report.judge("ask_p50", _get(sizes, "seeds", "query", "ask", "p50_ms"), "seeds"),
            report.judge("cold", res["cold_start"]["total"]["first_answer_s"], "seeds"),
            report.judge("reindex", _get(sizes, "seeds", "query", "reindex_nochange_s"), "seeds")]
    for s in res["sizes"][1:]:
        if s["name"] != "100k" and "reindex_nochange_s" in s["query"]:
            rows.append(report.judge("reindex", s["query"]["reindex_nochange_s"], s["name"]))
    return rows


def findings(res: dict) -> list[str]:
    """Which component dominates each figure, read off the measurements."""
    out = []
    names = {"embed_query": "query embedding", "bm25_top50": "BM25 (sparse matrix)", "faiss_top50": "faiss",
             "rrf_fusion": "fusion"}
    for s in res["sizes"]:
        c = s["query"]["hybrid_components"]
        parts = {k: c[k]["p50_ms"] for k in names}
        top = max(parts, key=parts.get)
        out.append(f"Hybrid at {s['name']}: p50 {s['query']['search_hybrid']['p50_ms']:.1f} ms = "
                   + ", ".join(f"{names[k]} {v:.1f}" for k, v in parts.items())
                   + f" ms ({s['query'].get('dense_index', 'faiss')}); {names[top]} dominates.")
        if s.get("search_only") and s["query"].get("profile_hybrid"):
            prof = s["query"]["profile_hybrid"][0]
            out[-1] += (f" Top self time over {res['profile_queries']} profiled hybrid searches: `{prof['function']}` "
                        f"({prof['tottime_s'] / res['profile_queries'] * 1000:.1f} ms per search, "
                        f"{prof['calls']} calls).")
    for s in res["sizes"]:
        b = s["build"]
        if s["name"] == "10k" and b["vectors"] == "model":
            out.append(f"Build at 10k with real embeddings: {b['passages_per_s']:.0f} passages/s end to end (median "
                       f"of {len(b['runs'])}: " + ", ".join(f"{r['passages_per_s']:.0f}" for r in b["runs"])
                       + " at load averages " + ", ".join(r["load_avg"].split()[0] for r in b["runs"])
                       + f"); the encoder is {b['embed_s'] / b['build_s']:.0%} of the wall time, and the build used "
                       f"{b['build_cpu_s'] / b['passages'] * 1000:.0f} ms of CPU per passage on 2 threads. The "
                       f"rate is bound by the encoder's CPU share: on cores another job keeps busy it falls in "
                       f"proportion.")
    full = [s for s in res["sizes"] if "ask" in s["query"]]
    seeds = res["sizes"][0]["query"]
    prof = seeds["profile_ask"][0]
    out.append(f"ask on the seeds: p50 {seeds['ask']['p50_ms']:.1f} ms, of which the query embedding alone is "
               f"{seeds['hybrid_components']['embed_query']['p50_ms']:.1f} ms; top self time in the profile: "
               f"`{prof['function']}` ({prof['tottime_s'] / res['profile_queries'] * 1000:.1f} ms per ask).")
    for s in res["sizes"][1:]:
        mem = s["query"].get("memory_breakdown_bytes_per_passage")
        if mem and s["name"] in ("100k", "1M"):
            top3 = sorted(mem.items(), key=lambda kv: -kv[1])[:3]
            out.append(f"Memory at {s['name']}: {s['query']['resident_beyond_text_per_passage']:,.0f} bytes per "
                       f"passage beyond the text; largest parts: "
                       + ", ".join(f"{k} {v:,.0f}" for k, v in top3) + " bytes.")
        load = s.get("load")
        if load and s["name"] in ("100k", "1M"):
            top3 = s["query"]["profile_load"][:3]
            out.append(f"Index load at {s['name']}: median {load['median_s']:.2f} s over {load['runs']} fresh "
                       f"processes; top self time in a profiled load: "
                       + ", ".join(f"`{x['function']}` {x['tottime_s']:.2f} s" for x in top3) + ".")
    if full:
        big = full[-1]
        r = big["query"]["profile_reindex"][:3]
        out.append(f"No-change re-index at {big['name']}: {big['query']['reindex_nochange_s']:.2f} s; top self "
                   f"time: " + ", ".join(f"`{x['function']}` {x['tottime_s']:.2f} s" for x in r) + ".")
    b = res["cold_start"]["breakdown"]["median_s"]
    stage = max((k for k in b if k != "total"), key=b.get)
    out.append(f"Cold start: {res['cold_start']['total']['first_answer_s']:.2f} s to the first answer; the largest "
               f"stage is {stage} ({b[stage]:.2f} s).")
    return out
