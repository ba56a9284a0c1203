"""The results as a markdown page: targets first, then the per-size table and the comparisons."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str
    goal: float
    unit: str
    higher_is_better: bool = False


TARGETS = {
    "build_rate": Target("build, end to end, 10k passages, real embeddings", 100.0, "passages/s",
                         higher_is_better=True),
    "hybrid_p50": Target("hybrid search p50 at 100k passages", 25.0, "ms"),
    "hybrid_p95": Target("hybrid search p95 at 100k passages", 50.0, "ms"),
    "hybrid_p50_1m": Target("hybrid search p50 at 1M passages", 100.0, "ms"),
    "load": Target("index load (`Engine.retriever()`, fresh process) at 100k passages", 0.5, "s"),
    "reindex": Target("no-change re-index", 0.5, "s"),
    "memory": Target("resident per passage beyond the text at 100k passages", 4096.0, "bytes"),
    "ask_p50": Target("ask p50 on the seeds", 15.0, "ms"),
    "cold": Target("cold `qa ask` to first answer", 2.0, "s"),
}


def _fmt(x: float | None, digits: int = 1) -> str:
    if x is None:
        return "—"
    if isinstance(x, int):
        return f"{x:,}"
    if abs(x) >= 10000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}f}" if abs(x) >= 1 or x == 0 else f"{x:.{max(digits, 2)}g}"


def judge(key: str, measured: float | None, where: str = "") -> dict:
    t = TARGETS[key]
    row = {"key": key, "target": t.name, "goal": t.goal, "unit": t.unit, "measured": measured, "where": where}
    if measured is None:
        return dict(row, met=None, verdict="not measured")
    met = measured >= t.goal if t.higher_is_better else measured <= t.goal
    gap = abs(measured - t.goal)
    ratio = (t.goal / measured if t.higher_is_better else measured / t.goal) if measured else float("inf")
    if met:
        verdict = f"met ({_fmt(gap)} {t.unit} to spare)"
    else:
        verdict = f"**missed** by {_fmt(gap)} {t.unit} ({ratio:.1f}× the goal)" if not t.higher_is_better else \
            f"**missed** by {_fmt(gap)} {t.unit} (goal is {ratio:.1f}× the measured rate)"
    return dict(row, met=met, verdict=verdict)


def _lat(d: dict | None) -> str:
    return f"{_fmt(d['p50_ms'], 2)} / {_fmt(d['p95_ms'], 2)}" if d and d.get("n") else "—"


def _row(label: str, sizes: list[dict], get) -> str:
    cells = []
    for s in sizes:
        try:
            v = get(s)
        except (KeyError, TypeError, ZeroDivisionError):
            v = None
        cells.append(v if isinstance(v, str) else _fmt(v))
    return f"| {label} | " + " | ".join(cells) + " |"


def _vectors(s: dict) -> str:
    b = s["build"]
    if b["vectors"] == "model":
        return "real (" + b.get("encoding", {}).get("runtime", "model") + " " + \
            b.get("encoding", {}).get("precision", "") + ")"
    return "random (float16 in the build)" if s.get("search_only") else "random"


def _file_bytes(s: dict, name: str) -> int:
    return sum(v for k, v in s["build"]["disk_files"].items() if k.split("/")[-1] == name)


def markdown(res: dict) -> str:
    m, sizes = res["machine"], res["sizes"]
    out = [f"# Benchmarks — {res['date']} ({res['mode']})", "",
           f"Machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), "
           f"{m['ram_gb']:.1f} GB RAM; {m['platform']}; Python {m['python']}. "
           f"Load average {res['load_avg_start']} at start, {res['load_avg_end']} at end (the cores are shared).",
           "", "Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()) + ".",
           "", f"Command: `{res['command'].strip()}` — {res['elapsed_s'] / 60:.1f} min. Library sources (qa/**/*.py) "
               f"SHA-256 {res.get('library_sha256', '?')}.", ""]
    end = res.get("library_sha256_end")
    if end and end != res.get("library_sha256"):
        out += [f"- **The library changed during this run** (qa/**/*.py SHA-256 {res.get('library_sha256')} at the "
                f"start, {end} at the end): other work was editing the tree; "
                + res.get("library_change_note", "figures measured before and after the change are mixed.")]
    out += [f"- {n}" for n in res["notes"]] + [""]

    out += ["## Targets", "", "The issue's figures first (index at scale), then the earlier ones (issue 6).", "",
            "| target | goal | measured | result |", "|---|---|---|---|"]
    for t in res["targets"]:
        where = f" ({t['where']})" if t["where"] else ""
        out.append(f"| {t['target']}{where} | {'≥' if TARGETS[t['key']].higher_is_better else '≤'} "
                   f"{_fmt(t['goal'])} {t['unit']} | {_fmt(t['measured'], 2)} {t['unit']} | {t['verdict']} |")
    out.append("")

    head = "| | " + " | ".join(s["name"] for s in sizes) + " |"
    out += ["## Per corpus size", "", head, "|---|" + "---|" * len(sizes)]
    rows = [
        ("documents", lambda s: s["build"]["documents"]),
        ("passages", lambda s: s["build"]["passages"]),
        ("sentences", lambda s: s["build"]["sentences"]),
        ("vectors", _vectors),
        ("what is measured", lambda s: "search, load, memory" if s.get("search_only") else "all"),
        ("corpus generation (s)", lambda s: "reused" if s["corpus"].get("reused") else s["corpus"]["generate_s"]),
        ("build runs (fresh processes)", lambda s: len(s["build"].get("runs", [None]))),
        ("build wall, median (s)", lambda s: s["build"]["build_s"]),
        ("build wall, every run (s)", lambda s: " / ".join(f"{r['build_s']:.1f}" for r in s["build"]["runs"])),
        ("**build passages/s, end to end** (median run)", lambda s: s["build"]["passages_per_s"]),
        ("build passages/s, every run", lambda s: " / ".join(f"{r['passages_per_s']:.0f}" for r in s["build"]["runs"])),
        ("build CPU seconds (median run)", lambda s: s["build"]["build_cpu_s"]),
        ("… CPU ms per passage", lambda s: s["build"]["build_cpu_s"] / s["build"]["passages"] * 1000),
        ("load average at the end of each build run",
         lambda s: " / ".join(r["load_avg"].split()[0] for r in s["build"]["runs"])),
        ("… of which embedding (s)", lambda s: s["build"]["embed_s"] if s["build"]["vectors"] == "model" else "n/a"),
        ("build estimated with real embedding (s)", lambda s: s.get("build_estimated_s")),
        ("embedding in build: passages/s (sentences from their passages)",
         lambda s: s["build"].get("embed_passages_per_s")),
        ("embedding in build: texts through the encoder", lambda s: s["build"]["texts_embedded"]),
        ("BM25 tokenize: passages/s", lambda s: s["build"]["bm25_tokenize_passages_per_s"]),
        ("BM25 term matrix (rank-bm25 model + CSR): passages/s", lambda s: s["build"]["bm25_init_passages_per_s"]),
        ("peak RSS of the build (MB)", lambda s: s["build"]["peak_rss_mb"]),
        ("disk bytes per passage (all files)", lambda s: s["build"]["disk_bytes_per_passage"]),
        ("… of which sentence_vectors.npy", lambda s: _file_bytes(s, "sentence_vectors.npy")
         / s["build"]["passages"]),
        ("… of which dense.faiss", lambda s: _file_bytes(s, "dense.faiss") / s["build"]["passages"]),
        ("dense index", lambda s: s["query"].get("dense_index")),
        ("**index load, median of fresh processes (s)**", lambda s: s["load"]["median_s"]),
        ("index load, every process (s)", lambda s: " / ".join(f"{x:.2f}" for x in s["load"]["all_s"])),
        ("index load in the query process (s)", lambda s: s["query"]["load_s"]),
        ("resident bytes per passage (RSS delta)", lambda s: s["query"]["resident_bytes_per_passage"]),
        ("… beyond the text", lambda s: s["query"]["resident_beyond_text_per_passage"]),
        ("search bm25 p50 / p95 (ms)", lambda s: _lat(s["query"]["search_bm25"])),
        ("search dense p50 / p95 (ms)", lambda s: _lat(s["query"]["search_dense"])),
        ("search hybrid p50 / p95 (ms)", lambda s: _lat(s["query"]["search_hybrid"])),
        ("ask p50 / p95 (ms)", lambda s: _lat(s["query"]["ask"])),
        ("ask, same questions again p50 / p95 (ms)", lambda s: _lat(s["query"]["ask_repeated"])),
        ("no-change re-index (s)", lambda s: s["query"]["reindex_nochange_s"]),
        ("load average when the size started", lambda s: s["load_avg"]),
        ("load average at the end of the query run", lambda s: s["query"].get("load_avg")),
    ]
    out += [_row(label, sizes, get) for label, get in rows] + [""]
    q = sizes[0]["query"]
    out.append(f"Warm queries: {q['search_hybrid']['n']} per mode, {q['ask']['n']} `ask` calls (none at the "
               f"search-only sizes), k = 5, "
               f"after 10 warm-up questions; p50 / p95 in milliseconds. The second `ask` row repeats the same "
               f"questions, when the engine has the vectors of their answer phrases cached.")
    out.append("")

    bt = res.get("threads")
    if bt:
        out += ["### Threads on the query side: one vs the libraries' default", "",
                "| threads | numpy BLAS / faiss OpenMP | load average | query embedding p50 / p95 (ms) | "
                "ask p50 / p95 (ms) | flat top-50, 10k p50 / p95 (ms) | flat top-50, 100k p50 / p95 (ms) |",
                "|---|---|---|---|---|---|---|"]
        for label, r in (("OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1", bt["one"]), ("defaults", bt["default"])):
            out.append(f"| {label} | {r['blas_threads']} / {r['faiss_omp_threads']} | {r['load_avg']} | "
                       f"{_lat(r.get('embed_query'))} | {_lat(r.get('ask'))} | {_lat(r.get('flat_10000'))} | "
                       f"{_lat(r.get('flat_100000'))} |")
        pinned = f"pinned to {bt['pinned']} thread(s)" if bt["pinned"] else "left at the defaults"
        out += ["", f"In this run, the query workers and the cold-start processes had their threads {pinned} "
                    f"(`--threads`). Flat search here is over random unit vectors, 30 real questions.", ""]

    out += ["### Hybrid search piece by piece (p50 ms)", "", head, "|---|" + "---|" * len(sizes)]
    for label, key in (("query embedding (ONNX Runtime MiniLM, fp32)", "embed_query"),
                       ("BM25 top-50 (sparse term matrix)", "bm25_top50"), ("… scoring only", "bm25_scores_only"),
                       ("faiss top-50 (flat below 50k, HNSW from 50k)", "faiss_top50"), ("RRF fusion", "rrf_fusion")):
        out.append(_row(label, sizes, lambda s, k=key: s["query"]["hybrid_components"][k]["p50_ms"]))
    out.append("")

    keys = list(dict.fromkeys(k for s in sizes for k in s["query"].get("memory_breakdown_bytes_per_passage", {})))
    if keys:
        out += ["### Resident memory per passage, by component (bytes; object sizes, shared objects once)", "",
                head, "|---|" + "---|" * len(sizes)]
        out += [_row(k, sizes, lambda s, k=k: s["query"]["memory_breakdown_bytes_per_passage"][k]) for k in keys]
        out += [_row("total of the above", sizes,
                     lambda s: sum(s["query"]["memory_breakdown_bytes_per_passage"].values())), "",
                "The `.npy` arrays (passages, sentences, tokens, the BM25 matrix, `sentence_vectors.npy`) are "
                "memory-mapped: their pages count in the RSS only once read (a search reads the BM25 rows of "
                "its terms, an answer the sentence vectors of its passages).", ""]

    e = res.get("embedding")
    if e:
        out += ["## Embedding throughput on a sample of passages (CPU)", "",
                f"Sample: {e['sample_passages']} {e['sample_from']} (mean {e['wordpieces_mean']:.0f} wordpieces, "
                f"p95 {e['wordpieces_p95']:.0f}; corpus mean {e['corpus_wordpieces_mean']:.0f}); batch 32, "
                f"{e['torch_threads']} torch threads; model load {e['model_load_s']:.1f} s.", "",
                "| encoder | passages/s | cosine to fp32 (mean / min) |", "|---|---|---|",
                f"| sentence-transformers fp32 (the document encoder before 2026-11-24) | "
                f"{_fmt(e['fp32_passages_per_s'])} | 1 |"]
        if "library_passages_per_s" in e:
            out.append(f"| the library's document encoder ({e['library_encoder']} {e.get('library_precision') or ''}),"
                       f" passages only | {_fmt(e['library_passages_per_s'])} | "
                       f"{e['library_cosine_mean']:.4f} / {e['library_cosine_min']:.4f} |")
        if "int8_passages_per_s" in e:
            out.append(f"| torch dynamic int8 (Linear layers) | {_fmt(e['int8_passages_per_s'])} | "
                       f"{e['int8_cosine_mean']:.4f} / {e['int8_cosine_min']:.4f} |")
        else:
            out.append(f"| torch dynamic int8 | — | {e.get('int8_error', 'not measured (--quick)')} |")
        out += ["", "The build's own rate (the per-size table) is end to end: reading, splitting, tokenizing, "
                    "embedding every passage once (sentence vectors from the same forward pass), writing.", ""]

    out += ["## rank-bm25 vs bm25s (same tokens, score every passage + top-10)", "",
            "| passages | rank-bm25 p50 / p95 (ms) | bm25s p50 / p95 (ms) | speed-up (p50) | overlap@10 | "
            "identical top-10 | same top-1 | bm25s index (s) |", "|---|---|---|---|---|---|---|---|"]
    for s in (s for s in sizes if "bm25_compare" in s["query"]):
        c = s["query"]["bm25_compare"]
        out.append(f"| {s['name']} ({c['passages']:,}) | {_lat(c['rank_bm25'])} | {_lat(c['bm25s'])} | "
                   f"{c['latency_ratio_p50']:.1f}× | {c['overlap_at_10']:.3f} | {c['exact_top10_share']:.3f} | "
                   f"{c['top1_agreement']:.3f} | {_fmt(c['bm25s_init_s'], 2)} |")
    out += ["", sizes[0]["query"]["bm25_compare"]["note"] + ".", ""]

    for s in sizes:
        a = s["query"].get("ann_compare")
        if not a:
            continue
        out += [f"## faiss flat vs HNSW at {s['name']} ({a['queries']} real query vectors, k = 10)", "",
                "| vectors | n | flat p50 / p95 (ms) | HNSW efSearch | HNSW p50 / p95 (ms) | speed-up (p50) | "
                "recall@10 (ids) | recall@10 (scores) | HNSW build (s) | HNSW bytes/vector |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        cases = [("index vectors (" + a.get("index_vectors_kind", "") + ")", a["index_vectors"])]
        if "embedding_like" in a:
            cases += [("embedding-like (mixes of real MiniLM vectors)", a["embedding_like"]),
                      ("real MiniLM vectors", a["real_vectors"])]
        for label, c in cases:
            for ef, r in c["ef"].items():
                out.append(f"| {label} | {c['vectors']:,} | {_lat(c['flat'])} | {ef} (M={c['hnsw_M']}) | "
                           f"{_lat(r['latency'])} | {r['speedup_p50']:.1f}× | {r['recall_at_10']:.3f} | "
                           f"{r.get('recall_at_10_ties', float('nan')):.3f} | "
                           f"{_fmt(c['hnsw_build_s'])} | {_fmt(c['hnsw_bytes_per_vector'])} |")
        out += ["", "recall@10 (ids): share of the flat top-10 ids that HNSW returns; (scores): share of HNSW "
                    "hits scoring at least the flat 10th score, so that duplicate passages (equal vectors) count "
                    "whichever copy comes back."]
        if "embedding_like_from" in a:
            out += ["", f"Embedding-like vectors: each a random mix of three of {a['embedding_like_from']} "
                        "plus noise; random unit vectors in 384 dimensions have no neighbourhood structure and "
                        "are the hard case for HNSW."]
        out.append("")

    c = res.get("cold_start")
    if c:
        b = c["breakdown"]["median_s"]
        out += ["## Cold start: `python -m qa ask` on the seeds", "",
                f"Median of {c['total']['runs']} fresh processes: first answer after "
                f"**{c['total']['first_answer_s']:.2f} s**, exit after {c['total']['exit_s']:.2f} s "
                f"(answer: “{c['total']['answer']}”). Breakdown: median of {c['breakdown']['runs']} instrumented "
                f"runs of the same command (`bench/coldstart.py`).", "", "| stage | median (s) |", "|---|---|"]
        out += [f"| {k} | {v:.3f} |" for k, v in b.items() if k != "total"]
        out += [f"| total (instrumented) | {b['total']:.3f} |", "",
                "`import qa.cli`, self time per package (`python -X importtime`): "
                + ", ".join(f"{r['package']} {r['self_ms']:.0f} ms" for r in c["imports"]) + ".", ""]

    n = res.get("profile_queries", 30)
    full = [s for s in sizes if "profile_ask" in s["query"]]
    for big in ([full[-1]] if full else []) + [s for s in sizes if s.get("search_only")]:
        out += [f"## Profiles at {big['name']} (cProfile, top functions by self time)", ""]
        for key, title in (("profile_load", "one index load (`read_index` + `Retriever`, page cache warm)"),
                           ("profile_hybrid", f"{n} hybrid searches"), ("profile_ask", f"{n} ask calls"),
                           ("profile_reindex", "one no-change re-index")):
            if key not in big["query"]:
                continue
            out += [f"{title}:", "", "| function | calls | self (s) | cumulative (s) |", "|---|---|---|---|"]
            out += [f"| `{r['function']}` | {r['calls']} | {r['tottime_s']:.3f} | {r['cumtime_s']:.3f} |"
                    for r in big["query"][key][:8]] + [""]
    if res.get("findings"):
        out += ["## Findings", ""] + [f"- {f}" for f in res["findings"]] + [""]
    return "\n".join(out)
