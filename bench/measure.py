"""In-process measurements, one fresh process per task so peak and resident memory are its own.

    python -m bench.measure build SPEC.json OUT.json   # build one index, BM25 costs, disk (and with
                                                       # the model loaded, embedding throughput on a sample)
    python -m bench.measure query SPEC.json OUT.json   # memory, warm latency, ask, re-index, comparisons
    python -m bench.measure load SPEC.json OUT.json    # one index load in a fresh process
    python -m bench.measure threads SPEC.json OUT.json # query encoder, ask, flat search: threads A/B

SPEC is a JSON object written by bench.run; OUT receives the figures.
"""
from __future__ import annotations

import gc
import json
import os
import random
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from qa.index import indexer, tokenize
from qa.index.bm25 import BM25Index
from qa.index.dense import (
    MAX_SEQ_LENGTH,
    DocumentEncoding,
    ModelFiles,
    PassageVectors,
    Precision,
    Runtime,
    SentenceTransformerEncoder,
    SentenceVectors,
    cores,
    document_encoding,
    prepare_default_model,
    resolve_model,
)
from qa.index.documents import load_documents
from qa.engine import Engine
from qa.index.passages import make_passages, split_sentences
from qa.index.retriever import Retriever
from qa.index.store import read_index
from qa.settings import Mode, Settings

DIM = 384  # all-MiniLM-L6-v2


def latency(samples_s: Sequence[float]) -> dict:
    """p50/p95/mean in milliseconds."""
    ms = np.asarray(samples_s, dtype=np.float64) * 1000.0
    if not len(ms):
        return {"n": 0}
    return {"n": int(len(ms)), "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "mean_ms": float(ms.mean()), "max_ms": float(ms.max())}


def timed(fn: Callable, items: Sequence) -> tuple[list[float], list]:
    """Seconds per call of ``fn(item)`` and the results."""
    out, times = [], []
    for item in items:
        t = time.perf_counter()
        out.append(fn(item))
        times.append(time.perf_counter() - t)
    return times, out


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2 ** 20


class TimedEncoder:
    """Wraps an encoder and adds up the seconds spent encoding."""

    def __init__(self, inner):
        self.inner, self.model_id, self.dim = inner, inner.model_id, inner.dim
        self.seconds, self.texts = 0.0, 0

    def encode(self, texts, *, batch_size: int | None = None, progress=None):
        t = time.perf_counter()
        out = self.inner.encode(texts, batch_size=batch_size, progress=progress)
        self.seconds += time.perf_counter() - t
        self.texts += len(texts)
        return out

    def __getattr__(self, name):  # encode_with_spans, only where the inner encoder has it
        inner = self.__dict__["inner"]
        if name != "encode_with_spans" or not hasattr(inner, name):
            raise AttributeError(name)

        def timed_spans(texts, spans, *, batch_size: int | None = None, progress=None):
            t = time.perf_counter()
            out = inner.encode_with_spans(texts, spans, batch_size=batch_size, progress=progress)
            self.seconds += time.perf_counter() - t
            self.texts += len(texts)
            return out
        return timed_spans


class RandomEncoder:
    """Random unit vectors in place of model vectors, for corpora too large to embed here: a flat
    faiss search costs the same whatever the values. Never used for answer quality.

    ``dtype`` float16 halves the vectors the build holds per document and concatenated (the store
    writes them as float32 all the same): ~6 GB less at 1M passages (~4M vectors, two copies)."""

    def __init__(self, files: ModelFiles, seed: int = 0, dtype: str = "float32"):
        self.model_id, self.dim = files.model_id, DIM
        self._rng = np.random.default_rng(seed)
        self._dtype = np.dtype(dtype)

    def encode(self, texts, *, batch_size: int | None = None, progress=None):
        out = np.empty((len(texts), self.dim), dtype=self._dtype)
        for start in range(0, len(texts), 65536):  # in blocks: no full-size float32 copy beside ``out``
            v = self._rng.standard_normal((min(65536, len(texts) - start), self.dim), dtype=np.float32)
            out[start:start + len(v)] = v / np.linalg.norm(v, axis=1, keepdims=True)
        if progress:
            progress(len(texts))
        return out


def _no_encoder(_files):
    raise RuntimeError("the no-change re-index tried to embed something")


def passage_texts(docs_dir: Path) -> list[str]:
    docs, _ = load_documents([docs_dir])
    out = []
    for d in docs:
        out += [d.text[p.start:p.end] for p in make_passages(d, split_sentences(d), Settings().splitter)]
    return out


def dir_bytes(folder: Path) -> dict[str, int]:
    """Bytes of every file under ``folder``, the generation folder's included, by path relative to
    ``folder``; lock files are not index data."""
    return {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(".lock")}


# -- build -----------------------------------------------------------------------------------
def encoding_named(name: str | None, files: ModelFiles) -> DocumentEncoding:
    """A document encoding from its bench name, ``<runtime>-<precision>-<vectors>``: runtime ``onnx``,
    ``hf`` (transformers) or ``st``; ``fp32``, ``bf16``, ``int8`` or ``int8s`` (smoothed int8);
    ``encoded`` (passages and sentences each encoded), ``pooled``
    (sentences encoded, passages pooled from them) or ``inpassage`` (passages encoded, sentences
    from their passages' forward pass). None: the library's default for the model."""
    if not name:
        return document_encoding(files)
    runtime, precision, vectors = name.split("-")
    runtime = {"onnx": Runtime.ONNX, "hf": Runtime.TRANSFORMERS, "st": Runtime.TORCH}[runtime]
    passages, sentences = {"encoded": (PassageVectors.ENCODED, SentenceVectors.ALONE),
                           "pooled": (PassageVectors.POOLED, SentenceVectors.ALONE),
                           "inpassage": (PassageVectors.ENCODED, SentenceVectors.IN_PASSAGE)}[vectors]
    return DocumentEncoding(runtime, Precision(precision), passages, sentences,
                            None if runtime is Runtime.TORCH else MAX_SEQ_LENGTH)


def make_document_encoder(files: ModelFiles, encoding: DocumentEncoding, threads: int | None = None):
    """The library's document encoder for ``encoding``; ``threads`` overrides ONNX Runtime's thread count."""
    from qa.index.dense import OnnxMiniLM, load_encoder

    if threads and encoding.runtime is Runtime.ONNX:
        prepare_default_model(files.path)
        return OnnxMiniLM(files, encoding.precision, threads=threads)
    return load_encoder(files, for_queries=False, encoding=encoding)


def task_build(spec: dict) -> dict:
    """One build from an empty folder. With the model, the encoder is loaded inside the build (as
    ``qa index`` does), so ``build_s`` is end to end: read, split, tokenize, load the encoder, embed,
    write. The converted ONNX graph is made beforehand (a one-time cost, reported apart)."""
    index_dir, docs_dir = Path(spec["index_dir"]), Path(spec["docs"])
    shutil.rmtree(index_dir, ignore_errors=True)
    settings = Settings(index_dir=index_dir, docs=(docs_dir,))
    files = resolve_model(settings.model, settings.cache_dir)
    encoding = encoding_named(spec.get("encoding"), files)
    convert_s = 0.0
    if spec["vectors"] == "model":
        prepare_default_model(files.path)
        if encoding.runtime is Runtime.ONNX:
            t = time.perf_counter()
            make_document_encoder(files, encoding, 1)  # converts (once) and checks the cached graph
            convert_s = time.perf_counter() - t
    loaded: dict = {}

    def load(_files):
        t = time.perf_counter()
        inner = (make_document_encoder(files, encoding, spec.get("threads")) if spec["vectors"] == "model"
                 else RandomEncoder(files, dtype=spec.get("random_dtype", "float32")))
        loaded["encoder"], loaded["s"] = TimedEncoder(inner), time.perf_counter() - t
        return loaded["encoder"]

    t, cpu = time.perf_counter(), time.process_time()
    report = indexer.build(settings, [docs_dir], encoder=load, encoding=encoding)
    wall, cpu = time.perf_counter() - t, time.process_time() - cpu
    encoder = loaded["encoder"]
    peak = peak_rss_mb()
    sizes = dir_bytes(index_dir)
    out = {"vectors": spec["vectors"], "encoding": encoding.to_json(), "threads": spec.get("threads") or cores(),
           "documents": report.documents, "passages": report.passages,
           "sentences": report.sentences, "texts_embedded": report.embedded, "build_s": wall, "build_cpu_s": cpu,
           "passages_per_s": report.passages / wall, "model_load_s": loaded["s"], "convert_check_s": convert_s,
           "embed_s": encoder.seconds, "build_without_embedding_s": wall - encoder.seconds - loaded["s"],
           "peak_rss_mb": peak, "disk_bytes": sum(sizes.values()), "disk_files": sizes,
           "disk_bytes_per_passage": sum(sizes.values()) / max(1, report.passages),
           "load_avg": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    if spec["vectors"] == "model":
        out["embed_passages_per_s"] = report.passages / encoder.seconds  # their sentences included
        out["embed_texts_per_s"] = encoder.texts / encoder.seconds
        if spec.get("embed_sample"):  # measure throughput on a sample too
            out["embedding"] = dict(embed_sample(encoder.inner, files, spec["embed_sample"]),
                                    model_load_s=loaded["s"])
    if spec.get("bm25", True):
        out.update(bm25_costs(docs_dir))
    return out


def bm25_costs(docs_dir: Path) -> dict:
    """BM25 separately: tokenizing (a cold stemmer cache, as in a fresh build) and the rank-bm25 model."""
    texts = passage_texts(docs_dir)
    tokenize._stem.cache_clear()
    t = time.perf_counter()
    tokens = [tokenize.tokenize(x) for x in texts]
    tok_s = time.perf_counter() - t
    t = time.perf_counter()
    BM25Index.build(tokens)
    init_s = time.perf_counter() - t
    return dict(bm25_tokenize_s=tok_s, bm25_tokenize_passages_per_s=len(texts) / tok_s, bm25_init_s=init_s,
                bm25_init_passages_per_s=len(texts) / init_s,
                bm25_tokens_per_passage=float(np.mean([len(x) for x in tokens])))


def embed_sample(library, files: ModelFiles, spec: dict) -> dict:
    """Passages/s on a sample of ~130-token passages: sentence-transformers fp32 (``fp32_*``; the
    document encoder before 2026-11-24), torch dynamic int8 on its Linear layers (``int8_*``) and
    the library's document encoder (``library_*``), with cosines to sentence-transformers."""
    import torch
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(files.path / "tokenizer.json"))
    tok.no_truncation()  # count the full passage; the encoder itself cuts at its max_seq_length
    tok.no_padding()
    texts = passage_texts(Path(spec["docs"]))
    lengths = [len(e.ids) for e in tok.encode_batch(texts)]
    lo, hi = spec.get("wordpieces", [115, 145])  # the "~130-token passages"
    fitting = [x for x, n in zip(texts, lengths) if lo <= n <= hi]
    rng = random.Random(0)
    pool = fitting if len(fitting) >= spec["sample"] else texts
    sample = rng.sample(pool, min(spec["sample"], len(pool)))
    wordpieces = [len(e.ids) for e in tok.encode_batch(sample)]
    encoder = SentenceTransformerEncoder(files)
    encoder.encode(sample[:32])  # warm-up: one full batch (torch prepares kernels per shape)
    t = time.perf_counter()
    fp32 = encoder.encode(sample)
    fp32_s = time.perf_counter() - t
    out = {"corpus_wordpieces_mean": float(np.mean(lengths)), "sample_passages": len(sample),
           "sample_from": f"passages of {lo}-{hi} wordpieces" if pool is fitting else "all passages",
           "wordpieces_mean": float(np.mean(wordpieces)), "wordpieces_p95": float(np.percentile(wordpieces, 95)),
           "max_seq_length": encoder._model.max_seq_length, "torch_threads": torch.get_num_threads(),
           "fp32_s": fp32_s, "fp32_passages_per_s": len(sample) / fp32_s}
    library.encode(sample[:32])
    t = time.perf_counter()
    mine = library.encode(sample)
    mine_s = time.perf_counter() - t
    cos = (fp32 * mine).sum(axis=1)
    out.update(library_encoder=type(library).__name__, library_precision=getattr(library, "precision", None)
               and library.precision.value, library_s=mine_s, library_passages_per_s=len(sample) / mine_s,
               library_cosine_mean=float(cos.mean()), library_cosine_min=float(cos.min()))
    if not spec.get("int8", True):
        return out
    model = encoder._model  # the SentenceTransformer (bench only: the library exposes no handle)
    try:
        import warnings

        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        encoder._model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        encoder.encode(sample[:32])
        t = time.perf_counter()
        int8 = encoder.encode(sample)
        int8_s = time.perf_counter() - t
        cos = (fp32 * int8).sum(axis=1)
        out.update(int8_s=int8_s, int8_passages_per_s=len(sample) / int8_s, int8_cosine_mean=float(cos.mean()),
                   int8_cosine_min=float(cos.min()))
    except Exception as exc:  # an optional lever; its absence is reported, not fatal
        out["int8_error"] = f"{type(exc).__name__}: {exc}"
    finally:
        encoder._model = model
    return out


# -- queries ---------------------------------------------------------------------------------
def deep_size(obj, seen: set[int]) -> int:
    """Bytes reachable from ``obj`` (containers, dataclass instances), each object counted once."""
    stack, total = [obj], 0
    while stack:
        o = stack.pop()
        if id(o) in seen:
            continue
        seen.add(id(o))
        total += sys.getsizeof(o)
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        elif hasattr(o, "__dict__") and not isinstance(o, type):
            stack.append(o.__dict__)
        elif isinstance(o, np.ndarray) and o.base is None and not isinstance(o, np.memmap):
            pass  # getsizeof already counts an owning array's buffer
    return total


def memory_breakdown(retriever) -> dict:
    """Approximate bytes per component of a loaded retriever (shared objects counted once, in order)."""
    data, seen = retriever.data, set()
    graph = getattr(data.dense, "hnsw", None)  # HNSW: neighbour lists (int32) and levels beside the vectors
    parts = {"document text": deep_size([d.text for d in data.documents], seen),
             "dense vectors (faiss)": int(data.dense.ntotal * data.dense.d * 4),
             "HNSW graph links": int(graph.neighbors.size() * 4 + graph.offsets.size() * 8
                                     + graph.levels.size() * 4) if graph is not None else 0,
             "passage tokens": deep_size(data.passage_tokens, seen),
             "bm25 term matrix": int(sum(a.nbytes for a in (retriever.bm25._matrix.data,
                                                            retriever.bm25._matrix.indices,
                                                            retriever.bm25._matrix.indptr))),
             "bm25 vocabulary and term counts": deep_size(retriever.bm25._vocab, seen) + retriever.bm25._df.nbytes,
             "passages": deep_size(data.passages, seen),
             "sentences": deep_size(data.sentences, seen),
             "lookup dicts": deep_size(retriever.documents, seen),
             "documents (other fields)": deep_size(data.documents, seen)}
    return {k: int(v) for k, v in parts.items()}


def load_questions(spec: dict) -> list[str]:
    path = Path(spec["questions"])
    if path.suffix == ".jsonl":
        return [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]
    return json.loads(path.read_text())


def cycle(items: list[str], n: int) -> list[str]:
    return [items[i % len(items)] for i in range(n)]


def profile_top(fn: Callable[[], None], limit: int = 12) -> list[dict]:
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    stats = pstats.Stats(prof)
    rows = []
    for (file, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        short = f"{Path(file).parent.name}/{Path(file).name}:{line}({name})" if line else name
        rows.append({"function": short, "calls": calls, "tottime_s": tottime, "cumtime_s": cumtime})
    rows.sort(key=lambda r: -r["tottime_s"])
    return rows[:limit]


def timed_load(engine: Engine) -> tuple[Retriever, float, float, float]:
    """``engine.retriever()`` timed, with the RSS (MB) before and after it. The query encoder,
    faiss and rank-bm25 are loaded before the baseline, so only what grows with the index counts."""
    engine.embed_query("warm up the query encoder")
    import faiss  # noqa: F401  (imported lazily by the store and the BM25 wrapper)
    import rank_bm25  # noqa: F401
    gc.collect()
    rss0 = rss_mb()
    t = time.perf_counter()
    retriever = engine.retriever()
    load_s = time.perf_counter() - t
    gc.collect()
    return retriever, load_s, rss0, rss_mb()


def task_query(spec: dict) -> dict:
    index_dir, docs_dir = Path(spec["index_dir"]), Path(spec["docs"])
    settings = Settings(index_dir=index_dir, docs=(docs_dir,))  # the no-change re-index below uses it too
    engine = Engine(settings, auto_build=False)
    retriever, load_s, rss0, rss1 = timed_load(engine)
    n = len(retriever.passages)
    text_bytes = sum(sys.getsizeof(d.text) for d in retriever.data.documents)
    delta = (rss1 - rss0) * 2 ** 20
    out = {"passages": n, "load_s": load_s, "rss_before_mb": rss0, "rss_after_mb": rss1,
           "resident_bytes_per_passage": delta / n, "text_bytes_per_passage": text_bytes / n,
           "resident_beyond_text_per_passage": (delta - text_bytes) / n}
    if spec.get("memory_breakdown", True):
        out["memory_breakdown_bytes_per_passage"] = {k: v / n for k, v in memory_breakdown(retriever).items()}

    out["dense_index"] = type(retriever.data.dense).__name__
    out["profile_load"] = profile_top(lambda: Retriever(read_index(index_dir)))

    questions = load_questions(spec)
    search_qs = cycle(questions, spec["queries"])
    ask_qs = cycle(questions[::-1], spec["asks"])
    full = not spec.get("search_only", False)  # search_only: latency and memory, no ask, re-index, comparisons
    for q in questions[:10]:  # warm-up: caches, BLAS threads, first-call paths
        for mode in Mode:
            engine.search(q, mode=mode)
        if full:
            engine.ask(q)
    for mode in Mode:
        times, _ = timed(lambda q, m=mode: engine.search(q, mode=m), search_qs)
        out[f"search_{mode.value}"] = latency(times)
    # The hybrid path piece by piece (same calls the retriever makes; pool of 50 per list).
    from qa.index.fusion import reciprocal_rank_fusion
    from qa.index.retriever import FUSION_POOL

    part_qs = search_qs[:spec.get("component_queries", 100)]
    embed_t, vecs = timed(engine.embed_query, part_qs)
    bm25_t, b_lists = timed(lambda q: retriever.bm25_ranking(q, FUSION_POOL)[0], part_qs)
    dense_t, d_lists = timed(lambda v: retriever.dense_ranking(v, FUSION_POOL)[0], vecs)
    fuse_t, _ = timed(lambda pair: reciprocal_rank_fusion([pair[0].tolist(), pair[1].tolist()]),
                      list(zip(b_lists, d_lists)))
    tok_t, qtokens = timed(tokenize.tokenize, part_qs)
    score_t, _ = timed(retriever.bm25.scores, qtokens)
    out["hybrid_components"] = {"embed_query": latency(embed_t), "bm25_top50": latency(bm25_t),
                                "bm25_tokenize": latency(tok_t), "bm25_scores_only": latency(score_t),
                                "faiss_top50": latency(dense_t), "rrf_fusion": latency(fuse_t)}
    prof_qs = search_qs[:spec.get("profile_queries", 30)]
    out["profile_hybrid"] = profile_top(lambda: [engine.search(q, mode=Mode.HYBRID) for q in prof_qs])
    out["load_avg"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if not full:
        return out
    times, _ = timed(engine.ask, ask_qs)
    out["ask"] = latency(times)
    # The same questions again: the engine has the vectors of their answer phrases cached.
    times, _ = timed(engine.ask, ask_qs[:spec.get("asks_repeated", len(ask_qs))])
    out["ask_repeated"] = latency(times)
    out["profile_ask"] = profile_top(lambda: [engine.ask(q) for q in ask_qs[:len(prof_qs)]])

    reindex = []
    for _ in range(spec.get("reindex_repeats", 3)):
        t = time.perf_counter()
        report = indexer.build(settings, [docs_dir], encoder=_no_encoder)
        reindex.append(time.perf_counter() - t)
        if report.written:
            raise RuntimeError("the no-change re-index rewrote the index")
    out["reindex_nochange_s"] = statistics.median(reindex)
    out["load_avg"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    out["reindex_nochange_all_s"] = reindex
    out["profile_reindex"] = profile_top(lambda: indexer.build(settings, [docs_dir], encoder=_no_encoder))

    from . import compare

    out["bm25_compare"] = compare.bm25_vs_bm25s(retriever, search_qs)
    if spec.get("ann"):
        qvecs = [engine.embed_query(q) for q in search_qs[:200]]
        out["ann_compare"] = compare.flat_vs_hnsw(retriever.data.passage_vectors(), qvecs, spec["ann"])
    return out


def task_load(spec: dict) -> dict:
    """One index load in a fresh process, as a new ``qa`` process pays it: ``Engine.retriever()``
    (reading the manifest and files, memory-mapping the arrays, reading the faiss index), timed
    after the imports and the query encoder, with the RSS it adds."""
    settings = Settings(index_dir=Path(spec["index_dir"]), docs=(Path(spec["docs"]),))
    retriever, load_s, rss0, rss1 = timed_load(Engine(settings, auto_build=False))
    return {"load_s": load_s, "passages": len(retriever.passages), "rss_delta_mb": rss1 - rss0,
            "load_avg": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def task_threads(spec: dict) -> dict:
    """Query-encoder, ask and flat-search latency with whatever BLAS and OpenMP threads this process
    got (the parent sets OPENBLAS_NUM_THREADS and OMP_NUM_THREADS, or not); the question loops stop
    early after ``budget_s`` seconds."""
    from threadpoolctl import threadpool_info

    settings = Settings(index_dir=Path(spec["index_dir"]), docs=(Path(spec["docs"]),))
    engine = Engine(settings, auto_build=False)
    questions = load_questions(spec)
    for q in questions[:3]:
        engine.ask(q)
    import faiss

    from qa.index.store import flat_index

    numpy_blas = [i["num_threads"] for i in threadpool_info() if "numpy" in i["filepath"]]
    out = {"blas_threads": numpy_blas[0] if numpy_blas else None,
           "faiss_omp_threads": faiss.omp_get_max_threads(), "load_avg": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    qvecs = np.stack([engine.embed_query(q) for q in questions[:30]])
    rng = np.random.default_rng(0)
    for n in spec.get("flat_sizes", [10_000, 100_000]):  # a flat search's cost does not depend on the values
        v = rng.standard_normal((n, DIM), dtype=np.float32)
        index = flat_index(v / np.linalg.norm(v, axis=1, keepdims=True))
        index.search(qvecs[:1], 50)
        times, _ = timed(lambda q: index.search(q.reshape(1, -1), 50), qvecs)
        out[f"flat_{n}"] = latency(times)
    calls = {"embed_query": engine.embed_query, "ask": engine.ask}
    for name in spec["calls"]:
        fn = calls[name]
        times, t0 = [], time.perf_counter()
        for q in questions[3:3 + spec["n"]]:
            t = time.perf_counter()
            fn(q)
            times.append(time.perf_counter() - t)
            if time.perf_counter() - t0 > spec["budget_s"]:
                break
        out[name] = latency(times)
    return out


TASKS = {"build": task_build, "query": task_query, "load": task_load, "threads": task_threads}


def main(argv: list[str] | None = None) -> int:
    task, spec_path, out_path = sys.argv[1:] if argv is None else argv
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    spec = json.loads(Path(spec_path).read_text())
    result = TASKS[task](spec)
    Path(out_path).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
