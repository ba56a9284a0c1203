"""Document embedding: retrieval recall and build throughput of each way of making an index's vectors.

    python -m bench.embedding                          # recall (seeds, SQuAD), answers, throughput
    python -m bench.embedding --parts recall           # only the recall table
    python -m bench.embedding --parts throughput --runs 5 3   # builds at 1k (5 runs) and 10k (3 runs)

Variants are named ``<runtime>-<precision>-<vectors>``: ``st`` sentence-transformers (torch),
``onnx`` ONNX Runtime (``qa.index.onnx_bert``) or ``hf`` transformers' BertModel on torch
(``qa.index.torch_bert``); ``fp32``, ``bf16`` (bfloat16 matrix products, ``hf`` only) or ``int8``
(dynamic quantization, int8 weights per output channel; ``int8s``: the same after smoothing the
activations, ``qa.index.smoothing``; ``int8t``: one scale per weight matrix, as the reader's copy;
``int8k<part>``: per channel with one part left in float32, ``l0`` or ``l5`` the matrix products of
the first or last layer, ``ao`` every attention output projection, ``out`` every feed-forward
output); ``encoded`` (each
passage and each sentence run through the model on its own), ``pooled`` (sentences encoded, a
passage's vector the renormalised mean of its sentences' unit vectors) or ``inpassage`` (passages
encoded, a sentence's vector the mean of its wordpieces' final states in its passages' forward
passes). ``st-fp32-encoded`` is how indexes were made before this page.

Recall: every variant builds an index over the same corpus through ``qa.index.indexer.build`` (its
``encoding=`` recorded in the manifest); questions are embedded by the library's query encoder
(ONNX float32) and searched with ``Engine.search``. recall@k is ``qa eval``'s answer recall: the
share of answerable questions with a passage of the gold document holding a gold answer in the top
k. On the seeds the whole of ``qa eval`` runs (follow-ups resolved, the reader answering); on SQuAD
retrieval only, over every answerable question, the contexts of each file being the corpus.
Each text is encoded once per encoder and reused by the variants that share the encoder.

Throughput: ``python -m bench.measure build`` in a fresh process per run, the encoder loaded inside
the build as ``qa index`` does (the converted graph is cached beforehand; the one-time conversion is
reported apart). Median of the runs, with the load average, since the two cores are shared.

Results go to ``bench/results/<date>-embedding.{json,md}``. Nothing here gates CI.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import corpus
from .run import ROOT, SEEDS, library_fingerprint, load_avg, log, machine, versions

SQUAD_DIR = ROOT.parent / "shared" / "data" / "squad"
SQUAD_FILES = ("squad2-train-10-articles.json", "squad1-train-3-articles.json")
BASELINE = "st-fp32-encoded"
VARIANTS = ("st-fp32-encoded", "st-fp32-pooled", "onnx-fp32-encoded", "onnx-fp32-pooled", "onnx-fp32-inpassage",
            "onnx-int8t-encoded", "onnx-int8t-pooled", "onnx-int8-encoded", "onnx-int8-pooled",
            "onnx-int8-inpassage", "onnx-int8s-inpassage", "hf-bf16-inpassage")
CANDIDATE = "hf-bf16-inpassage"  # what the library uses where the CPU has bf16 (qa.index.dense.document_encoding)
FALLBACK = "onnx-int8-inpassage"  # what it uses elsewhere
MODES = ("dense", "hybrid")
THROUGHPUT = (  # (variant, corpus, runs: 0 = --runs SMALL, 1 = --runs LARGE, None = one)
    (CANDIDATE, "1k", 0), (CANDIDATE, "10k", 1), (CANDIDATE, "squad", 0),
    (FALLBACK, "1k", 0), (FALLBACK, "10k", 1), (FALLBACK, "squad", 0), ("onnx-int8s-inpassage", "10k", 1),
    ("onnx-int8-encoded", "1k", 0), ("onnx-int8-pooled", "1k", 0), ("onnx-fp32-inpassage", "1k", 0),
    ("onnx-int8-encoded", "10k", None), ("onnx-int8-pooled", "10k", None), ("onnx-fp32-inpassage", "10k", None),
    ("st-fp32-encoded", "1k", None),
)


# -- encoders ----------------------------------------------------------------------------------
class Memo:
    """An encoder that encodes each distinct text once and remembers its vector."""

    def __init__(self, inner):
        self.inner, self.model_id, self.dim = inner, inner.model_id, inner.dim
        self.vectors: dict[str, np.ndarray] = {}
        self.encoded, self.seconds = 0, 0.0

    def encode(self, texts, *, batch_size: int | None = None, progress=None):
        todo = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if todo:
            t0 = time.perf_counter()
            for text, vec in zip(todo, self.inner.encode(todo, batch_size=batch_size)):
                self.vectors[text] = vec
            self.seconds += time.perf_counter() - t0
            self.encoded += len(todo)
        if progress:
            progress(len(texts))
        return np.stack([self.vectors[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def __getattr__(self, name):  # encode_with_spans, passed through (not remembered) where the inner has it
        inner = self.__dict__["inner"]
        if name != "encode_with_spans" or not hasattr(inner, name):
            raise AttributeError(name)

        def spans(texts, spans, *, batch_size: int | None = None, progress=None):
            t0 = time.perf_counter()
            out = inner.encode_with_spans(texts, spans, batch_size=batch_size, progress=progress)
            self.seconds += time.perf_counter() - t0
            self.encoded += len(texts)
            return out
        return spans


def _encoder_key(variant: str) -> str:
    return variant.rsplit("-", 1)[0]  # the passages part does not change the encoder


# ``int8k<part>``: the names of the matrix products (``qa.index.onnx_bert.bert_graph``) left in float32.
_LAYERS, _PRODUCTS = range(6), ("query", "key", "value", "ao", "inner", "out")
FLOAT_PARTS = {
    "l0": tuple(f"encoder.layer.0.{m}.mm" for m in _PRODUCTS),
    "l5": tuple(f"encoder.layer.5.{m}.mm" for m in _PRODUCTS),
    "ao": tuple(f"encoder.layer.{i}.ao.mm" for i in _LAYERS),
    "out": tuple(f"encoder.layer.{i}.out.mm" for i in _LAYERS),
}


def _bench_precision(precision: str) -> bool:
    return precision == "int8t" or precision.startswith("int8k")


def load_encoder_for(variant: str, files, work: Path):
    """The document encoder of a variant (``int8t``, ``int8k<part>``: int8 graphs of the bench only)."""
    import json as _json

    from qa.index.dense import (OnnxMiniLM, Precision, SentenceTransformerEncoder, TorchMiniLM, cores,
                                prepare_default_model)
    from qa.index.onnx_bert import OnnxBert, ensure

    prepare_default_model(files.path)
    runtime, precision = _encoder_key(variant).split("-")
    if runtime == "st":
        return SentenceTransformerEncoder(files)
    if runtime == "hf":
        return TorchMiniLM(files, Precision(precision))
    if not _bench_precision(precision):
        return OnnxMiniLM(files, Precision(precision), threads=cores())
    from safetensors.numpy import load_file

    part = precision.removeprefix("int8k")
    if precision != "int8t" and part not in FLOAT_PARTS:
        raise SystemExit(f"unknown variant {variant}: int8k<part> takes one of {', '.join(FLOAT_PARTS)}")
    enc = OnnxMiniLM(files, Precision.FP32, threads=cores())
    name = "per-tensor" if precision == "int8t" else f"per-channel-float-{part}"
    target = work / "onnx" / f"minilm-{files.checksum[:16]}-int8-{name}.onnx"
    ensure(target, lambda: load_file(str(files.path / "model.safetensors")),
           _json.loads((files.path / "config.json").read_text()), quantize=True, per_channel=precision != "int8t",
           float_nodes=FLOAT_PARTS.get(part, ()))
    enc._bert = OnnxBert(target, threads=cores())  # bench only: the library ships neither graph
    enc.precision, enc.batch_size = Precision.INT8, 1
    return enc


def encoding_of(variant: str, files):
    from .measure import encoding_named

    runtime, precision, vectors = variant.split("-")
    return encoding_named("-".join((runtime, "int8" if _bench_precision(precision) else precision, vectors)), files)


# -- recall ------------------------------------------------------------------------------------
class QueryVectors:
    """The library's query encoder with every question embedded once (the same for all variants)."""

    def __init__(self, files):
        from qa.index.dense import load_encoder

        self._enc = load_encoder(files, for_queries=True)
        self._memo: dict[str, np.ndarray] = {}

    def prime(self, texts: Sequence[str]) -> None:
        todo = [t for t in dict.fromkeys(texts) if t not in self._memo]
        for text, vec in zip(todo, self._enc.encode(todo)):
            self._memo[text] = vec

    def __call__(self, text: str) -> np.ndarray:
        if text not in self._memo:
            self._memo[text] = self._enc.encode([text])[0]
        return self._memo[text]


def build_variant(variant: str, docs: Path, index_dir: Path, encoders: dict, files, work: Path):
    import shutil

    from qa.index import indexer
    from qa.settings import Settings

    key = _encoder_key(variant)
    if key not in encoders:
        log(f"loading the {key} encoder")
        encoders[key] = Memo(load_encoder_for(variant, files, work))
    shutil.rmtree(index_dir, ignore_errors=True)
    settings = Settings(index_dir=index_dir, docs=(docs,))
    before = encoders[key].seconds
    report = indexer.build(settings, [docs], encoder=lambda _f: encoders[key], encoding=encoding_of(variant, files))
    return settings, report, encoders[key].seconds - before


def retrieval_only(engine, questions, modes: Sequence[str]) -> dict:
    """``qa eval``'s retrieval figures without the reader: every answerable question searched in
    each mode, judged against the passages of its gold document that hold a gold answer."""
    from qa.metrics import RETRIEVAL_DEPTH, relevant_passages, retrieval_scores

    retriever = engine.retriever()
    docs = retriever.documents
    texts = [(p.passage_id, p.doc_id, docs[p.doc_id].text[p.start:p.end]) for p in retriever.passages]
    qs = [q for q in questions if q.answerable and q.follows is None]
    relevant = {q.id: set(relevant_passages(texts, q.doc_ids, q.answers)) for q in qs}
    out = {}
    for mode in modes:
        ranked = {q.id: tuple(h.passage.passage_id for h in engine.search(q.question, RETRIEVAL_DEPTH, mode).hits)
                  for q in qs}
        means, _ = retrieval_scores(relevant, ranked)
        out[mode] = dict(means, questions=sum(1 for q in qs if relevant[q.id]))
    return out


def sentence_recall(engine, questions, queries: QueryVectors, k: int = 5) -> dict:
    """Sentence vectors judged the same way: the share of answerable questions with a sentence of
    the gold document holding a gold answer among the k sentences nearest the question (exact
    search over every sentence vector). Nothing in the answer path reads sentence vectors yet; this
    says whether a variant's are fit for it."""
    from qa.metrics import contains_any

    data = engine.retriever().data
    docs = {d.doc_id: d for d in data.documents}
    vectors = np.asarray(data.sentence_vectors)
    texts = [docs[s.doc_id].text[s.start:s.end] for s in data.sentences]
    by_doc: dict[str, list[int]] = {}
    for i, s in enumerate(data.sentences):
        by_doc.setdefault(s.doc_id, []).append(i)
    hits = []
    for q in questions:
        if not q.answerable or q.follows is not None:
            continue
        relevant = {i for d in q.doc_ids for i in by_doc.get(d, ()) if contains_any(texts[i], q.answers)}
        if relevant:
            top = np.argsort(-(vectors @ queries(q.question)))[:k]
            hits.append(bool(relevant & set(top.tolist())))
    return {f"recall@{k}": float(np.mean(hits)) if hits else None, "questions": len(hits)}


def full_eval(engine, questions, modes: Sequence[str], squad: bool) -> dict:
    """The whole of ``qa eval`` (reader included) in each mode: retrieval and answer figures."""
    from qa.evaluate import evaluate, score

    results = evaluate(engine, questions, modes, 5)
    metrics, _, _ = score(results, modes, squad=squad)
    return {m: metrics[m].to_json() for m in modes}


def cosines(settings, base_settings) -> dict:
    """Cosine of a variant's passage and sentence vectors to the baseline's (same corpus, same order)."""
    from qa.index.store import read_index

    a, b = read_index(settings.index_dir), read_index(base_settings.index_dir)
    out = {}
    for name, x, y in (("passages", a.passage_vectors(), b.passage_vectors()),
                       ("sentences", np.asarray(a.sentence_vectors), np.asarray(b.sentence_vectors))):
        c = (x * y).sum(axis=1)
        out[name] = {"mean": float(c.mean()), "min": float(c.min()), "p1": float(np.percentile(c, 1))}
    return out


def unique_ids(path: Path, work: Path) -> Path:
    """``path``, or where a question id repeats (squad1-train-3-articles.json holds five ids twice,
    which ``qa eval`` refuses), a copy in the work folder with the repeats renamed ``<id>#2``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                seen[qa["id"]] = seen.get(qa["id"], 0) + 1
                if seen[qa["id"]] > 1:
                    qa["id"] = f"{qa['id']}#{seen[qa['id']]}"
    if all(n == 1 for n in seen.values()):
        return path
    copy = work / "squad" / path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return copy


def question_sets(args, work: Path) -> list[dict]:
    from qa.evaluate import load
    from qa.squad import write_corpus

    _, questions, _ = load(SEEDS / "questions.jsonl")
    sets = [{"name": "seeds", "file": "seeds/questions.jsonl", "docs": SEEDS, "questions": questions,
             "squad": False, "full_eval": True}]
    for name in SQUAD_FILES:
        path = args.squad / name
        if not path.is_file():
            log(f"{path} is missing; SQuAD left out")
            continue
        _, questions, squad = load(unique_ids(path, work))
        docs = work / "corpora" / path.stem
        if not docs.is_dir():
            write_corpus(squad, docs)
        sets.append({"name": path.stem, "file": str(path), "docs": docs, "questions": questions, "squad": True,
                     "full_eval": False})
    if args.answers:  # the reader's validation articles, answered in full by the baseline and the candidate
        from qa.reader.calibrate import write_subset
        from qa.reader.data import VALIDATION_ARTICLES

        path = write_subset(args.squad, VALIDATION_ARTICLES, work / "squad-validation.json")
        _, questions, squad = load(unique_ids(path, work))
        docs = work / "corpora" / "squad-validation"
        if not docs.is_dir():
            write_corpus(squad, docs)
        sets.append({"name": "squad-validation", "file": f"SQuAD articles {', '.join(VALIDATION_ARTICLES)}",
                     "docs": docs, "questions": questions, "squad": True, "full_eval": True,
                     "variants": (BASELINE, args.candidate), "modes": ("hybrid",)})
    return sets


def recall(args, work: Path) -> list[dict]:
    from qa.index.dense import resolve_model
    from qa.engine import Engine
    from qa.settings import DEFAULT_MODEL, Settings

    files = resolve_model(DEFAULT_MODEL, Settings().cache_dir)
    queries = QueryVectors(files)
    encoders: dict = {}
    out = []
    for qs in question_sets(args, work):
        queries.prime([q.question for q in qs["questions"]])
        variants = qs.get("variants", args.variants)
        modes = qs.get("modes", MODES)
        entry = {"name": qs["name"], "file": qs["file"], "questions": len(qs["questions"]),
                 "answerable": sum(1 for q in qs["questions"] if q.answerable), "variants": {}}
        base_settings = None
        for variant in variants:
            log(f"recall: {qs['name']} with {variant}")
            settings, report, seconds = build_variant(variant, qs["docs"], work / "indexes" / qs["name"] / variant,
                                                      encoders, files, work)
            engine = Engine(settings, auto_build=False)
            engine.embed_query = queries  # the same question vectors for every variant
            t = time.perf_counter()
            figures = (full_eval(engine, qs["questions"], modes, qs["squad"]) if qs["full_eval"]
                       else retrieval_only(engine, qs["questions"], modes))
            row = {"passages": report.passages, "sentences": report.sentences, "texts_embedded": report.embedded,
                   "encode_s": seconds, "eval_s": time.perf_counter() - t, "modes": figures,
                   "sentence_vectors": sentence_recall(engine, qs["questions"], queries)}
            if variant == BASELINE:
                base_settings = settings
            elif base_settings is not None:
                row["cosine_to_baseline"] = cosines(settings, base_settings)
            entry["variants"][variant] = row
        out.append(entry)
    return out


class Batched:
    """The library's int8 document encoder run ``size`` texts a batch instead of one."""

    def __init__(self, inner, size: int):
        self.inner, self.size, self.model_id, self.dim = inner, size, inner.model_id, inner.dim

    def encode(self, texts, *, batch_size=None, progress=None):
        return self.inner.encode(texts, batch_size=self.size, progress=progress)

    def encode_with_spans(self, texts, spans, *, batch_size=None, progress=None):
        return self.inner.encode_with_spans(texts, spans, batch_size=self.size, progress=progress)


def batching(args, work: Path) -> dict:
    """Int8 vectors against the batch size: dynamic quantization scales activations per batch, so
    a text's vector depends on its batch mates. Recall (retrieval only, questions that follow no
    other) on the seeds and the 3-article SQuAD file at each size, and the cosine of the passage
    vectors to those of one text a batch; float32 beside it."""
    from qa.index import indexer
    from qa.index.dense import OnnxMiniLM, Precision, cores, resolve_model
    from qa.engine import Engine
    from qa.evaluate import load
    from qa.settings import DEFAULT_MODEL, Settings
    from qa.squad import write_corpus
    from qa.index.store import read_index

    files = resolve_model(DEFAULT_MODEL, Settings().cache_dir)
    queries = QueryVectors(files)
    int8, fp32 = OnnxMiniLM(files, Precision.INT8, threads=cores()), OnnxMiniLM(files, Precision.FP32, threads=cores())
    sets = [("seeds", SEEDS / "questions.jsonl", SEEDS)]
    squad1 = args.squad / SQUAD_FILES[1]
    if squad1.is_file():
        path = unique_ids(squad1, work)
        docs = work / "corpora" / squad1.stem
        if not docs.is_dir():
            write_corpus(load(path)[2], docs)
        sets.append((squad1.stem, path, docs))
    out = {}
    for name, qfile, docs in sets:
        _, questions, _ = load(qfile)
        queries.prime([q.question for q in questions])
        rows, one = {}, None
        for label, encoder in [("fp32", fp32)] + [(f"int8, {n} a batch", Batched(int8, n)) for n in args.batch_sizes]:
            log(f"batching: {name}, {label}")
            settings = Settings(index_dir=work / "batching" / name / label.replace(", ", "-").replace(" ", "_"),
                                docs=(docs,))
            indexer.build(settings, [docs], encoder=lambda _f, e=encoder: e,
                          encoding=encoding_of(f"onnx-{'fp32' if label == 'fp32' else 'int8'}-inpassage", files))
            engine = Engine(settings, auto_build=False)
            engine.embed_query = queries
            row = {m: v["recall@5"] for m, v in retrieval_only(engine, questions, MODES).items()}
            row["questions"] = retrieval_only(engine, questions, ("dense",))["dense"]["questions"]
            vectors = read_index(settings.index_dir).passage_vectors()
            if label == "int8, 1 a batch":
                one = vectors
            if one is not None:
                cos = (vectors * one).sum(axis=1)
                row["cosine_to_one_a_batch"] = {"mean": float(cos.mean()), "min": float(cos.min())}
            rows[label] = row
        out[name] = rows
    return out


# -- throughput --------------------------------------------------------------------------------
def throughput(args, work: Path) -> list[dict]:
    corpora = {}
    for name, n in (("1k", 1000), ("10k", 10_000)):
        corpora[name] = corpus.write(n, work / "corpora" / name, seed=0)["docs"]
    squad_docs = work / "corpora" / Path(SQUAD_FILES[0]).stem
    if squad_docs.is_dir():
        corpora["squad"] = str(squad_docs)
    rows = []
    for variant, size, runs_at in THROUGHPUT:
        if variant not in args.variants or size not in corpora:
            continue
        runs = 1 if runs_at is None else args.runs[runs_at]
        done = []
        for i in range(runs):
            log(f"throughput: {variant} at {size}, run {i + 1} of {runs}")
            spec = {"index_dir": str(work / "throughput" / size / variant), "docs": corpora[size], "vectors": "model",
                    "encoding": variant, "bm25": False}
            done.append(measure_build(spec, work, f"{size}-{variant}-{i}"))
        rows.append(summarize_runs(variant, size, done))
    if FALLBACK in args.variants and args.threads_ab:  # ONNX Runtime: one thread against every core
        for threads in (1, 2):
            done = []
            for i in range(args.runs[0]):
                log(f"throughput: threads {threads} at 1k, run {i + 1}")
                spec = {"index_dir": str(work / "throughput" / "1k" / f"t{threads}"), "docs": corpora["1k"],
                        "vectors": "model", "encoding": FALLBACK, "threads": threads, "bm25": False}
                done.append(measure_build(spec, work, f"1k-t{threads}-{i}"))
            rows.append(dict(summarize_runs(FALLBACK, "1k", done), threads_ab=threads))
    return rows


def measure_build(spec: dict, work: Path, tag: str) -> dict:
    spec_path, out_path = work / "specs" / f"{tag}.spec.json", work / "specs" / f"{tag}.out.json"
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(json.dumps(spec))
    env = dict(os.environ, HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run([sys.executable, "-m", "bench.measure", "build", str(spec_path), str(out_path)],
                          cwd=ROOT, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"bench: the build {tag} failed (exit {proc.returncode})")
    return json.loads(out_path.read_text())


def summarize_runs(variant: str, size: str, runs: list[dict]) -> dict:
    first = runs[0]

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    return {"variant": variant, "size": size, "runs": len(runs), "documents": first["documents"],
            "passages": first["passages"], "sentences": first["sentences"], "texts_embedded": first["texts_embedded"],
            "threads": first["threads"], "build_s_median": med("build_s"), "build_s_all": [r["build_s"] for r in runs],
            "passages_per_s_median": first["passages"] / med("build_s"),
            "passages_per_s_all": [r["passages_per_s"] for r in runs],
            "build_cpu_s_median": med("build_cpu_s"), "embed_s_median": med("embed_s"),
            "model_load_s_median": med("model_load_s"), "other_s_median": med("build_without_embedding_s"),
            "convert_check_s": first["convert_check_s"], "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "load_avg": [r["load_avg"] for r in runs]}


# -- page --------------------------------------------------------------------------------------
def _f(v, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def markdown(res: dict) -> str:
    m = res["machine"]
    out = [f"# Document embedding — {res['date']}", "",
           f"Machine: {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), {m['ram_gb']:.1f} GB RAM; "
           f"{m['platform']}; Python {m['python']}. Load average {res['load_avg_start']} at start, "
           f"{res['load_avg_end']} at end (the cores are shared with other work).", "",
           "Versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()) + ".", "",
           f"Command: `{res['command']}` — {res['elapsed_s'] / 60:.1f} min. Library sources (qa/*.py) SHA-256 "
           f"{res['library_sha256']}" + (f" at the start, {res['library_sha256_end']} at the end"
                                          if res['library_sha256_end'] != res['library_sha256'] else "") + ".", "",
           "Variants: " + __doc__.split("Variants are named ")[1].split("\n\n")[0].replace("\n", " "), ""]
    if res.get("decision"):  # written after the run, from the figures below (--render keeps it)
        out += ["## What ships, and why", ""] + [x for para in res["decision"] for x in (para, "")]
    if res.get("recall"):
        out += ["## Retrieval recall@5 (answer recall, as `qa eval`)", "",
                "Questions embedded by the library's query encoder (ONNX float32) for every variant; Δ is against "
                f"`{BASELINE}` (today's fp32).", ""]
        for qs in res["recall"]:
            variants = qs["variants"]
            modes = list(next(iter(variants.values()))["modes"])
            out += [f"### {qs['name']} — {qs['file']}", "",
                    f"{qs['questions']} questions, {qs['answerable']} answerable; "
                    f"{next(iter(variants.values()))['passages']} passages.", ""]
            head = "| variant | " + " | ".join(f"{m} recall@5 | Δ" for m in modes) + \
                   " | sentence vectors recall@5 | Δ | cosine to baseline, passages (mean / min) | " \
                   "sentences (mean / min) | texts encoded | encode s (passages/s) |"
            out += [head, "|---|" + "---|---|" * (len(modes) + 1) + "---|---|---|---|"]
            base = variants.get(BASELINE)
            for name, row in variants.items():
                cells = []
                for mode in modes:
                    r = row["modes"][mode].get("recall@5")
                    b = base["modes"][mode].get("recall@5") if base else None
                    cells += [_f(r), "—" if r is None or b is None or name == BASELINE else f"{r - b:+.3f}"]
                r = row.get("sentence_vectors", {}).get("recall@5")
                b = base.get("sentence_vectors", {}).get("recall@5") if base else None
                cells += [_f(r), "—" if r is None or b is None or name == BASELINE else f"{r - b:+.3f}"]
                cos = row.get("cosine_to_baseline")
                cp = f"{cos['passages']['mean']:.4f} / {cos['passages']['min']:.4f}" if cos else "1"
                cs = f"{cos['sentences']['mean']:.4f} / {cos['sentences']['min']:.4f}" if cos else "1"
                rate = row["passages"] / row["encode_s"] if row.get("encode_s") else None
                enc = f"{row['encode_s']:.1f} ({rate:.0f})" if rate else "—"
                out.append(f"| `{name}` | " + " | ".join(cells)
                           + f" | {cp} | {cs} | {row['texts_embedded']:,} | {enc} |")
            judged = {m: base["modes"][m].get("retrieval_questions", base["modes"][m].get("questions"))
                      for m in modes} if base else {}
            if judged:
                out.append("")
                out.append("Judged questions (answerable, with a passage holding the answer): "
                           + ", ".join(f"{m} {n}" for m, n in judged.items()) + ".")
            answers = [(n, r) for n, r in variants.items() if "f1" in next(iter(r["modes"].values()))]
            if answers:
                out += ["", "Answer figures (`qa eval`, reader included):", "",
                        "| variant | mode | recall@5 | containment | grounded | F1 | abstention precision / recall |"
                        + (" SQuAD 2.0 overall EM / F1 | HasAns F1 |" if qs["name"].startswith("squad") else ""),
                        "|---|---|---|---|---|---|---|" + ("---|---|" if qs["name"].startswith("squad") else "")]
                for name, row in answers:
                    for mode, f in row["modes"].items():
                        sq = f.get("squad")
                        squad = f" {sq['exact']:.1f} / {sq['f1']:.1f} | {sq['HasAns_f1']:.1f} |" if sq else ""
                        out.append(f"| `{name}` | {mode} | {_f(f.get('recall@5'))} | {_f(f.get('containment'))} | "
                                   f"{_f(f.get('grounded'))} | {_f(f.get('f1'))} | "
                                   f"{_f(f.get('abstention_precision'))} / {_f(f.get('abstention_recall'))} |" + squad)
            out.append("")
    if res.get("batching"):
        out += ["## Int8 vectors against the batch size", "",
                "Dynamic quantization scales each matrix product's input by its range over the whole batch, so "
                "in a batch of several texts an int8 vector depends on its batch mates. `onnx-int8-inpassage` "
                "built at each batch size; recall@5 of the questions that follow no other (retrieval only), and "
                "the cosine of the passage vectors to one-text-a-batch vectors.", ""]
        for name, rows in res["batching"].items():
            n = next(iter(rows.values()))["questions"]
            out += [f"**{name}** ({n} judged questions)", "",
                    "| encoder | dense recall@5 | hybrid recall@5 | passage cosine to one a batch (mean / min) |",
                    "|---|---|---|---|"]
            for label, row in rows.items():
                c = row.get("cosine_to_one_a_batch")
                out.append(f"| {label} | {_f(row['dense'])} | {_f(row['hybrid'])} | "
                           + (f"{c['mean']:.4f} / {c['min']:.4f}" if c else "—") + " |")
            out.append("")
    if res.get("throughput"):
        out += ["## Build throughput (end to end, real embeddings)", "",
                "`indexer.build` from an empty folder in a fresh process: read, split, tokenize, load the encoder, "
                "embed, pool, write (the converted ONNX graph already cached). Median of the runs; passages/s = "
                "passages / median wall.", "",
                "| variant | corpus | threads | runs | passages | sentences | texts encoded | build wall median (s) | "
                "passages/s (median; each run) | CPU s | embed s | encoder load s | rest s | peak RSS MB | load avg |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in res["throughput"]:
            each = ", ".join(f"{x:.0f}" for x in r["passages_per_s_all"])
            out.append(f"| `{r['variant']}` | {r['size']} | {r['threads']} | {r['runs']} | {r['passages']:,} | "
                       f"{r['sentences']:,} | {r['texts_embedded']:,} | {r['build_s_median']:.1f} | "
                       f"**{r['passages_per_s_median']:.0f}** ({each}) | {r['build_cpu_s_median']:.1f} | "
                       f"{r['embed_s_median']:.1f} | {r['model_load_s_median']:.2f} | {r['other_s_median']:.1f} | "
                       f"{r['peak_rss_mb']:.0f} | {r['load_avg'][0]} |")
        out.append("")
    out += [f"- {n}" for n in res.get("notes", [])]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.embedding", description=__doc__.split("\n\n")[0])
    p.add_argument("--parts", nargs="+", choices=("recall", "batching", "throughput"),
                   default=["recall", "batching", "throughput"])
    p.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 4, 8, 16, 32, 64],
                   help="int8 batch sizes for the batching part (1 first: the others are compared with it)")
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), help="variants to measure (default: all)")
    p.add_argument("--candidate", default=CANDIDATE, help="the variant answered in full on SQuAD")
    p.add_argument("--no-answers", dest="answers", action="store_false",
                   help="skip the full qa eval (reader) on the SQuAD validation articles")
    p.add_argument("--runs", nargs=2, type=int, default=[5, 3], metavar=("SMALL", "LARGE"),
                   help="builds per measurement at 1k and SQuAD (SMALL) and at 10k (LARGE)")
    p.add_argument("--threads-ab", action="store_true", help="also build at 1k with 1 and 2 ONNX Runtime threads")
    p.add_argument("--squad", type=Path, default=SQUAD_DIR, help="folder of the SQuAD files (read, never copied)")
    p.add_argument("--work", type=Path, default=Path("/tmp/qa-bench/embedding"))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--render", type=Path, metavar="JSON", help="only rewrite the page of an earlier result file")
    args = p.parse_args(argv)
    if args.render:
        args.render.with_suffix(".md").write_text(markdown(json.loads(args.render.read_text())) + "\n")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    started = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    res = {"date": dt.date.today().isoformat(), "started": dt.datetime.now().isoformat(timespec="seconds"),
           "command": "python -m bench.embedding " + " ".join(sys.argv[1:] if argv is None else argv),
           "machine": machine(), "versions": dict(versions(), onnxruntime=_version("onnxruntime")),
           "load_avg_start": load_avg(), "library_sha256": library_fingerprint()}
    if "recall" in args.parts:
        res["recall"] = recall(args, args.work)
    if "batching" in args.parts:
        res["batching"] = batching(args, args.work)
    if "throughput" in args.parts:
        res["throughput"] = throughput(args, args.work)
    res.update(load_avg_end=load_avg(), library_sha256_end=library_fingerprint(),
               elapsed_s=time.perf_counter() - started, notes=[])
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{res['date']}-embedding"
    if stem.with_suffix(".json").is_file():  # a part run alone keeps the other part of the same day's file
        earlier = json.loads(stem.with_suffix(".json").read_text())
        for part in ("recall", "batching", "throughput"):
            if part not in res and part in earlier:
                res[part] = earlier[part]
                res.setdefault("earlier_parts", []).append({"part": part, "command": earlier["command"],
                                                            "started": earlier["started"]})
    stem.with_suffix(".json").write_text(json.dumps(res, indent=1, ensure_ascii=False))
    stem.with_suffix(".md").write_text(markdown(res) + "\n")
    log(f"wrote {stem}.md and {stem}.json")
    return 0


def _version(pkg: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


if __name__ == "__main__":
    sys.exit(main())
