"""The index folder: plain files, no pickle, written atomically.

Files: ``manifest.json`` (schema, model, settings, documents and, for each file, its size, SHA-256
and modification time), ``documents.jsonl`` (each document's path, title, checksum, boilerplate and
layout), ``texts.txt`` (the documents' texts as indexed, one after the other, UTF-8; where each
starts and ends is ``text_offsets.npy``) and, as ``.npy`` arrays
saved with ``allow_pickle=False`` and memory-mapped on load: ``passages.npy`` and ``sentences.npy``
(offsets as integer columns, see ``qa.index.columns``), ``tokens.npy`` and ``token_offsets.npy`` (each
passage's BM25 tokens as ids into ``vocabulary.json``), ``bm25_weights.npy``, ``bm25_passages.npy``
and ``bm25_rows.npy`` (rank-bm25's scores as a sparse term x passage matrix, see ``qa.index.bm25``),
``dense.faiss`` (passage vectors) and ``sentence_vectors.npy``. Passage and sentence text is never
stored twice: it is read from the document text by offset.

The data files of one build live together in a generation folder (``data-<id>/``), named by the
manifest's ``data`` key. A build writes its files into a hidden ``.build-<id>/`` folder, syncs them,
renames the folder to ``data-<id>/`` and then atomically replaces ``manifest.json``: that rename is
the single commit point. A build killed at any moment leaves the previous manifest pointing at
the previous, intact generation; the next build removes generations no manifest names.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from .bm25 import term_matrix
from .columns import (
    PASSAGE_COLUMNS,
    SENTENCE_COLUMNS,
    PassageTable,
    SentenceTable,
    TokenTable,
    passage_rows,
    sentence_rows,
    token_columns,
)
from .documents import Document
from ..errors import (
    IndexCorruptError,
    IndexError_,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    IndexWriteError,
)
from .hashing import file_sha256
from .passages import Passage, Sentence

log = logging.getLogger(__name__)

# 2: data files in a generation folder named by the manifest; 3: binary columns; 4: the texts in one
# plain file of their own (reading 100,000 passages' documents as JSON strings took ~0.2 s)
SCHEMA_VERSION = 4
MANIFEST = "manifest.json"
# The document paths again, in a file of their own written with every manifest: a damaged manifest
# must not lose what to rebuild from.
SOURCES = "sources.json"
ARRAYS = ("passages.npy", "sentences.npy", "tokens.npy", "token_offsets.npy", "bm25_weights.npy",
          "bm25_passages.npy", "bm25_rows.npy", "sentence_vectors.npy", "text_offsets.npy")
DATA_FILES = ("documents.jsonl", "texts.txt", "vocabulary.json", *ARRAYS, "dense.faiss")
# Hashed on every load: the small files. The large arrays are hashed only when their modification
# time is not the one recorded (hashing them on every load would cost more than loading them);
# see ``damaged_file``.
HASHED = ("documents.jsonl", "texts.txt", "vocabulary.json", "passages.npy", "sentences.npy", "text_offsets.npy")
# What the error of every corrupt or mismatched index says to do, after "; " and what it found.
REBUILD = "run `qa index` to rebuild"
LEGACY_FILES = ("documents.jsonl", "passages.jsonl", "sentences.jsonl", "dense.faiss",
                "sentences.npy")  # schema 1 kept them beside the manifest
# Passages from which dense search goes through an HNSW graph (see served_index). Flat search costs
# ~0.1 ms per 1,000 vectors here (bench/results/2026-11-22-full.md); from 50,000 it passes 5 ms, a
# fifth of the 25 ms hybrid budget, while the graph stays under 1 ms and builds in ~18 s per 100,000
# vectors, small beside embedding them.
HNSW_MIN = 50_000
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 40, 128  # as measured in bench (40: faiss's default)
LOCK_TIMEOUT_S = 600
READ_ATTEMPTS = 3  # a reader racing a build retries when the generation it started on is replaced


@dataclass(frozen=True)
class IndexData:
    """Everything an index holds, in memory. Sentence and passage lists are in document order."""

    manifest: dict
    documents: tuple[Document, ...]
    passages: Sequence[Passage]
    passage_tokens: Sequence[Sequence[str]]
    sentences: Sequence[Sentence]
    dense: object  # faiss index over unit passage vectors (inner product = cosine): flat, or HNSW when large
    sentence_vectors: np.ndarray  # float32 [n_sentences, dim], memory-mapped when read
    # rank-bm25's term x passage matrix and its term -> row map; None: computed when written
    bm25: tuple[Mapping[str, int], sparse.csr_matrix] | None = None

    def passage_vectors(self) -> np.ndarray:
        n = self.dense.ntotal
        return self.dense.reconstruct_n(0, n) if n else np.zeros((0, self.dense.d), dtype=np.float32)



def found(exc: IndexError_) -> str:
    """What an index error found, without its remedy (``REBUILD``): for a caller that rebuilds."""
    return str(exc).removesuffix(f"; {REBUILD}")


def _write_jsonl(path: Path, rows: Iterator[dict]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def _read_jsonl(path: Path) -> list[dict]:
    try:
        with path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        raise IndexCorruptError(f"index file {path} is missing; {REBUILD}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"index file {path} is unreadable ({type(exc).__name__}); {REBUILD}") from None


def flat_index(vectors: np.ndarray):
    import faiss

    # Inner product on unit-length vectors is cosine similarity.
    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def served_index(index):
    """How the passage vectors are searched: exactly (flat) below ``HNSW_MIN`` passages, through an
    HNSW graph above it. A flat search over 100,000 vectors takes ~10 ms on these cores and grows
    with the corpus; the graph answers in under a millisecond with recall@10 0.987 against flat on
    embedding-like vectors at efSearch 128 (bench/results/2026-11-22-full.md, "faiss flat vs HNSW")."""
    import faiss

    if index.ntotal < HNSW_MIN or not isinstance(index, faiss.IndexFlat):
        return index
    graph = faiss.IndexHNSWFlat(index.d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    graph.add(index.reconstruct_n(0, index.ntotal))
    graph.hnsw.efSearch = HNSW_EF_SEARCH
    return graph


def _read_faiss(path: Path):
    import faiss

    # Flat vectors (the flat index, and the HNSW graph's storage) are memory-mapped rather than
    # copied in: loading 100,000 passages' graph takes ~0.01 s instead of ~0.15 s.
    try:
        index = faiss.read_index(str(path), getattr(faiss, "IO_FLAG_MMAP_IFC", 0))
    except RuntimeError:
        raise IndexCorruptError(f"index file {path} is truncated or corrupt; {REBUILD}") from None
    if isinstance(index, faiss.IndexHNSW):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def data_dir(index_dir: Path, manifest: dict | None = None) -> Path:
    """The generation folder holding the data files that ``manifest`` (by default the live one) names."""
    manifest = read_manifest(index_dir) if manifest is None else manifest
    return index_dir / manifest["data"]


def _live_generation(index_dir: Path) -> str | None:
    try:
        return read_manifest(index_dir)["data"]
    except (IndexMissingError, IndexCorruptError, IndexMismatchError):
        return None


def _remove_unreferenced(index_dir: Path, keep: str | None) -> None:
    """Drop what killed or superseded builds left behind. Call it holding the build lock."""
    for path in index_dir.iterdir():
        if path.name.startswith((".build-", ".manifest-", ".sources-")) or (path.name.startswith("data-") and path.name != keep):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        elif path.name in LEGACY_FILES:
            path.unlink(missing_ok=True)


def _make_folder(index_dir: Path) -> None:
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexWriteError(f"{index_dir} is a file, not an index folder; choose another --index-dir")
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexWriteError(f"cannot create the index folder {index_dir} ({exc.strerror or exc}); "
                              f"choose another --index-dir") from None


def write_index(index_dir: Path, data: IndexData) -> None:
    """Write ``data`` as the index in ``index_dir``, replacing what was there atomically.
    Call it holding ``build_lock(index_dir)``. A failed write (a full disk, permissions) raises
    IndexWriteError and leaves the previous index as it was."""
    _make_folder(index_dir)
    try:
        _write_generation(index_dir, data)
    except OSError as exc:
        raise IndexWriteError(f"cannot write the index in {index_dir} ({exc.strerror or exc}); "
                              f"the previous index is unchanged — free space or fix permissions, then "
                              f"run `qa index`") from None


def _write_generation(index_dir: Path, data: IndexData) -> None:
    _remove_unreferenced(index_dir, keep=_live_generation(index_dir))
    build_id = secrets.token_hex(6)
    tmp = index_dir / f".build-{build_id}"
    generation = f"data-{build_id}"
    staged = index_dir / f".manifest-{build_id}"
    tmp.mkdir()  # mkdir, not mkdtemp: the index keeps the umask's permissions, not 0700
    try:
        _write_jsonl(tmp / "documents.jsonl", ({k: v for k, v in d.to_json().items() if k != "text"}
                                               for d in data.documents))
        (tmp / "texts.txt").write_text("".join(d.text for d in data.documents), encoding="utf-8", newline="")
        vocabulary, matrix = data.bm25 if data.bm25 is not None else term_matrix(data.passage_tokens)
        (tmp / "vocabulary.json").write_text(json.dumps(list(vocabulary), ensure_ascii=False), encoding="utf-8")
        doc_index = {d.doc_id: i for i, d in enumerate(data.documents)}
        ids, offsets = token_columns(data.passage_tokens, vocabulary)
        arrays = {"passages.npy": passage_rows(data.passages, doc_index),
                  "sentences.npy": sentence_rows(data.sentences, doc_index),
                  "tokens.npy": ids, "token_offsets.npy": offsets,
                  "bm25_weights.npy": matrix.data.astype(np.float64), "bm25_passages.npy": matrix.indices,
                  "bm25_rows.npy": matrix.indptr,
                  "sentence_vectors.npy": np.ascontiguousarray(data.sentence_vectors, dtype=np.float32),
                  "text_offsets.npy": np.cumsum([0] + [len(d.text) for d in data.documents], dtype=np.int64)}
        for name, array in arrays.items():
            np.save(tmp / name, np.ascontiguousarray(array), allow_pickle=False)
        import faiss

        try:
            faiss.write_index(served_index(data.dense), str(tmp / "dense.faiss"))
        except RuntimeError as exc:  # faiss reports I/O failures as RuntimeError
            raise OSError(str(exc).splitlines()[0]) from None
        files = {}
        for name in DATA_FILES:
            _fsync(tmp / name)
            st = (tmp / name).stat()
            files[name] = {"bytes": st.st_size, "sha256": file_sha256(tmp / name), "mtime_ns": st.st_mtime_ns}
        _fsync(tmp)
        manifest = dict(data.manifest, schema=SCHEMA_VERSION, data=generation, files=files,
                        counts={"documents": len(data.documents), "passages": len(data.passages),
                                "sentences": len(data.sentences)})
        _write_synced(staged, manifest)
        os.replace(tmp, index_dir / generation)
        _fsync(index_dir)
        os.replace(staged, index_dir / MANIFEST)  # the commit point
        _fsync(index_dir)
        _write_sources(index_dir, manifest.get("sources"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        staged.unlink(missing_ok=True)
    _remove_unreferenced(index_dir, keep=_live_generation(index_dir))


def _write_synced(path: Path, manifest: dict) -> None:
    """Write ``manifest`` to the new file ``path`` and sync it, ready to be renamed into place."""
    with path.open("x", encoding="utf-8") as f:
        f.write(json.dumps(manifest, indent=1, ensure_ascii=False))
        f.flush()
        os.fsync(f.fileno())


def rewrite_manifest(index_dir: Path, manifest: dict) -> None:
    """Replace the manifest by ``manifest`` (same generation: only its bookkeeping changes, such as
    the files' stamps), atomically; call under ``build_lock``."""
    staged = index_dir / f".manifest-{secrets.token_hex(6)}"
    try:
        _write_synced(staged, manifest)
        os.replace(staged, index_dir / MANIFEST)
        _fsync(index_dir)
    finally:
        staged.unlink(missing_ok=True)


def read_manifest(index_dir: Path) -> dict:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexMissingError(f"no index in {index_dir}; run `qa index` to build it")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexCorruptError(f"index file {path} is unreadable ({type(exc).__name__}); {REBUILD}") from None
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"index file {path} is not a manifest; {REBUILD}")
    have = manifest.get("schema")
    if have != SCHEMA_VERSION:
        made = "an older" if isinstance(have, int) and have < SCHEMA_VERSION else "another"
        raise IndexMismatchError(f"the index in {index_dir} was made by {made} version of qa; {REBUILD}")
    for key in ("model", "tokenizer", "splitter", "documents", "data", "files", "counts"):
        if key not in manifest:
            raise IndexCorruptError(f"index file {path} lacks {key!r}; {REBUILD}")
    data = manifest["data"]
    if not isinstance(data, str) or not data.startswith("data-") or Path(data).name != data:
        raise IndexCorruptError(f"index file {path} names no valid data folder; {REBUILD}")
    if not isinstance(manifest["files"], dict):
        raise IndexCorruptError(f"index file {path} has no list of data files; {REBUILD}")
    return manifest


def _write_sources(index_dir: Path, sources: object) -> None:
    staged = index_dir / f".sources-{secrets.token_hex(6)}"
    try:
        staged.write_text(json.dumps({"sources": sources}, ensure_ascii=False), encoding="utf-8")
        os.replace(staged, index_dir / SOURCES)
    finally:
        staged.unlink(missing_ok=True)


def _sources_in(path: Path) -> list[str] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    sources = record.get("sources") if isinstance(record, dict) else None
    return sources if isinstance(sources, list) and all(isinstance(p, str) for p in sources) else None


def recorded_sources(index_dir: Path) -> list[str] | None:
    """The document paths the index was built from, read leniently (any schema or settings) from
    the manifest, or from the copy beside it when the manifest is damaged: what to rebuild from
    when the index itself cannot be used. None when neither says."""
    found = _sources_in(index_dir / MANIFEST)
    return found if found is not None else _sources_in(index_dir / SOURCES)


def index_exists(index_dir: Path) -> bool:
    """Whether ``index_dir`` holds an index or what is left of one (a manifest or a data folder)."""
    return (index_dir / MANIFEST).exists() or (index_dir.is_dir() and any(
        p.name.startswith("data-") or p.name in LEGACY_FILES for p in index_dir.iterdir()))


def check_config(manifest: dict, expected: dict, index_dir: Path) -> None:
    """Raise IndexMismatchError naming the first setting that differs from the running configuration."""
    for key, want in expected.items():
        have = manifest.get(key)
        if have != want:
            raise IndexMismatchError(f"index in {index_dir} was built with {key} {have!r}, not {want!r}; {REBUILD}")


def read_index(index_dir: Path) -> IndexData:
    """Load the live index. A build may commit while this reads; then the generation read from
    can vanish, and the read starts again on the new one."""
    for attempt in range(READ_ATTEMPTS):
        manifest = read_manifest(index_dir)
        try:
            return _read_generation(index_dir, manifest)
        except IndexCorruptError:
            if attempt + 1 == READ_ATTEMPTS or _live_generation(index_dir) == manifest["data"]:
                raise
    raise AssertionError("unreachable")


def damaged_file(folder: Path, files: dict) -> str | None:
    """What is wrong with the first damaged data file in ``folder`` (one line that names it), or None.

    One rule for every file: it is there, at the size and with the SHA-256 recorded in the manifest's
    ``files``. The small files (``HASHED``) are hashed every time; a large array only when its
    modification time is not the recorded one, as git and make decide whether a file changed (an
    array overwritten at the same size has a new one). Entries of an index written before the
    large arrays' hashes were recorded are checked by size."""
    for name in DATA_FILES:
        path = folder / name
        entry = files.get(name)
        entry = entry if isinstance(entry, dict) else {}
        try:
            st = path.stat()
        except FileNotFoundError:
            return f"index file {path} is missing"
        if st.st_size != entry.get("bytes"):
            return f"index file {path} has {st.st_size} bytes, the manifest says {entry.get('bytes')}"
        stamped = name not in HASHED and st.st_mtime_ns == entry.get("mtime_ns")
        if "sha256" in entry and not stamped and file_sha256(path) != entry["sha256"]:
            return f"index file {path} does not match its checksum"
    return None


def data_files_intact(index_dir: Path, manifest: dict) -> bool:
    """Whether every data file the manifest names passes ``damaged_file``'s check."""
    try:
        return damaged_file(data_dir(index_dir, manifest), manifest["files"]) is None
    except (OSError, KeyError, TypeError, IndexCorruptError):
        return False


def _documents(folder: Path) -> tuple[Document, ...]:
    """The documents, each row of ``documents.jsonl`` with its text cut from ``texts.txt``."""
    rows = _read_jsonl(folder / "documents.jsonl")
    # bytes decoded, not read_text: no newline translation, so every offset stays the one indexed
    texts = (folder / "texts.txt").read_bytes().decode("utf-8")
    bounds = _read_array(folder / "text_offsets.npy").tolist()
    if len(bounds) != len(rows) + 1 or bounds[0] != 0 or bounds[-1] != len(texts):
        raise ValueError("texts.txt and text_offsets.npy do not match the documents")
    return tuple(Document.from_json(dict(row, text=texts[a:b])) for row, a, b in zip(rows, bounds, bounds[1:]))


def _read_generation(index_dir: Path, manifest: dict) -> IndexData:
    folder = data_dir(index_dir, manifest)
    problem = damaged_file(folder, manifest["files"])
    if problem:
        raise IndexCorruptError(f"{problem}; {REBUILD}")
    try:
        documents = _documents(folder)
        words = json.loads((folder / "vocabulary.json").read_text(encoding="utf-8"))
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ValueError("vocabulary.json is not a list of words")
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise IndexCorruptError(f"index in {index_dir} has malformed rows ({exc}); {REBUILD}") from None
    a = {name: _read_array(folder / name) for name in ARRAYS}
    counts = manifest["counts"]
    dim = manifest["model"].get("dim")
    n_docs, n_passages, n_sentences = len(documents), len(a["passages.npy"]), len(a["sentences.npy"])
    dense = _read_faiss(folder / "dense.faiss")
    svec = a["sentence_vectors.npy"]
    shapes_ok = (a["passages.npy"].ndim == 2 and a["passages.npy"].shape[1] == len(PASSAGE_COLUMNS)
                 and a["sentences.npy"].ndim == 2 and a["sentences.npy"].shape[1] == len(SENTENCE_COLUMNS)
                 and len(a["token_offsets.npy"]) == n_passages + 1
                 and int(a["token_offsets.npy"][-1]) == len(a["tokens.npy"])
                 and len(a["bm25_rows.npy"]) == (len(words) + 1 if n_passages else 1)
                 and len(a["bm25_weights.npy"]) == len(a["bm25_passages.npy"]) == int(a["bm25_rows.npy"][-1]))
    if not shapes_ok or (n_docs, n_passages, n_sentences) != (
            counts.get("documents"), counts.get("passages"), counts.get("sentences")) \
            or dense.ntotal != n_passages or len(svec) != n_sentences \
            or dense.d != dim or svec.ndim != 2 or svec.shape[1] != dim:
        raise IndexCorruptError(f"index in {index_dir} has inconsistent files (counts differ from the "
                                f"manifest); {REBUILD}")
    doc_ids = [d.doc_id for d in documents]
    passages = PassageTable(a["passages.npy"], doc_ids)
    sentences = SentenceTable(a["sentences.npy"], doc_ids)
    tokens = TokenTable(a["tokens.npy"], a["token_offsets.npy"], words)
    shape = (len(words), n_passages) if n_passages else (0, 0)
    matrix = sparse.csr_matrix((a["bm25_weights.npy"], a["bm25_passages.npy"], a["bm25_rows.npy"]), shape=shape,
                               copy=False)
    bm25 = ({w: i for i, w in enumerate(words)}, matrix)
    return IndexData(manifest, documents, passages, tokens, sentences, dense, svec, bm25)


def _read_array(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"index file {path} is corrupt ({exc}); {REBUILD}") from None


@contextmanager
def build_lock(index_dir: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Serialize builds of one index folder across processes."""
    from filelock import FileLock, Timeout

    _make_folder(index_dir)
    lock_path = index_dir / ".lock"
    lock = FileLock(str(lock_path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("another `qa index` is building %s; waiting for it (up to %d s)", index_dir, timeout)
        try:
            lock.acquire(timeout=timeout)
        except Timeout:
            raise IndexLockedError(f"{lock_path} is still held by another build after {timeout:.0f} s; "
                                   f"wait for it or stop that process") from None
    try:
        yield
    finally:
        lock.release()
