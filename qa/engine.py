"""The library entry point: an Engine holds one index and one query encoder, loaded once.

The CLI and the web app are thin adapters over ``Engine.search`` and ``Engine.ask``.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .index import indexer
from .answer import answer
from .answer_types import Answer
from .conversation import Conversation
from .index.dense import Encoder, ModelFiles, load_encoder, resolve_model
from .errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from .index.indexer import BuildReport, ProgressFactory
from .inputs import clean_k, clean_question, clean_threshold
from .reader import Reader
from .reader import load as load_reader
from .index.retriever import Hit, Retriever
from .scoring import Answerability
from .settings import DEFAULT_DOCS, DEFAULT_MODEL, Mode, Settings
from .index.store import index_exists, read_index, recorded_sources

log = logging.getLogger(__name__)

DEFAULT_K = 5


@dataclass(frozen=True)
class SearchResult:
    query: str
    mode: Mode
    hits: tuple[Hit, ...]

    def to_json(self) -> dict:
        return {"query": self.query, "mode": self.mode.value, "hits": [h.to_json() for h in self.hits]}


def _same_path(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve()


def _holds_files(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() for p in folder.iterdir())


class Engine:
    """One index folder, its documents and the query encoder. Safe to share between threads."""

    def __init__(self, settings: Settings | None = None, *, auto_build: bool = True,
                 progress: ProgressFactory | None = None, document_encoder: Encoder | None = None,
                 reading: tuple[Reader, Answerability] | None = None):
        self.settings = settings or Settings()
        self.auto_build = auto_build
        self._progress = progress
        self._lock = threading.RLock()
        self._retriever: Retriever | None = None
        self._encoder: Encoder | None = None
        self._doc_encoder: Encoder | None = document_encoder
        self._reader: tuple[Reader, Answerability] | None = reading
        self._model: ModelFiles = resolve_model(self.settings.model, self.settings.cache_dir)
        self._warn_of_old_uploads()

    def _warn_of_old_uploads(self) -> None:
        """Uploads used to be kept in INDEX_DIR/uploads, inside the checkout by default, where
        `git clean -fdx` deletes them. Files left there are named, never moved or indexed."""
        old, uploads = self.settings.legacy_uploads_dir, self.settings.uploads_dir
        if self.settings.include_uploads and _holds_files(old) and not _same_path(old, uploads):
            log.warning("%s holds documents added in the web chat before uploads moved to %s; they are "
                        "not indexed any more: move them there (mkdir -p %s && mv %s/* %s/) or pass "
                        "--uploads-dir %s", old, uploads, uploads, old, uploads, old)

    # -- documents and index -------------------------------------------------------------
    def sources(self) -> tuple[Path, ...]:
        """The document paths: --docs when given, else those the index was built from, else (no
        index yet) seeds/; and the uploads folder whenever it holds files (unless the settings
        leave uploads out: then only a --docs that names the uploads folder brings it in).

        Raises IndexCorruptError when an index exists but no longer says what it was built from:
        answering from seeds/ instead would silently swap the user's corpus."""
        uploads = self.settings.uploads_dir
        if self.settings.docs:
            docs = self.settings.docs
        else:
            recorded = recorded_sources(self.settings.index_dir)  # an old or damaged index still says
            if recorded is None and index_exists(self.settings.index_dir):
                raise IndexCorruptError(
                    f"the index in {self.settings.index_dir} is damaged and no longer records which documents "
                    f"it was built from; rebuild it with `qa index PATH` (or pass --docs PATH)")
            docs = tuple(Path(p) for p in recorded) if recorded is not None else (DEFAULT_DOCS,)
            if not self.settings.include_uploads:
                return tuple(p for p in docs if not _same_path(p, uploads))
        if not self.settings.include_uploads:
            return docs
        docs = tuple(p for p in docs if not _same_path(p, uploads))
        return docs + (uploads,) if _holds_files(uploads) else docs

    def _document_encoder(self, files: ModelFiles) -> Encoder:
        """Loaded once per engine (sentence-transformers takes seconds), on the first build that needs it."""
        with self._lock:
            if self._doc_encoder is None:
                self._doc_encoder = load_encoder(files, for_queries=False)
            return self._doc_encoder

    def build(self, paths: Sequence[Path] | None = None) -> BuildReport:
        with self._lock:
            kwargs = {"progress": self._progress} if self._progress else {}
            if paths and self.settings.include_uploads:  # the uploads always stay in the index
                uploads = self.settings.uploads_dir
                paths = [p for p in paths if not _same_path(p, uploads)] + ([uploads] if _holds_files(uploads) else [])
            report = indexer.build(self.settings, list(paths) if paths else list(self.sources()),
                                   encoder=self._document_encoder, **kwargs)
            self._retriever = None
            return report

    def retriever(self) -> Retriever:
        with self._lock:
            if self._retriever is None:
                if self.auto_build:
                    reason = indexer.stale_reason(self.settings, self.sources())
                    if reason:
                        log.info("updating the index: %s", reason)
                        self.build()
                elif not (self.settings.index_dir / "manifest.json").is_file():
                    raise IndexMissingError(f"no index in {self.settings.index_dir}; run `qa index` to build it")
                try:
                    data = read_index(self.settings.index_dir)
                except (IndexCorruptError, IndexMismatchError):
                    if not self.auto_build:
                        raise
                    # The documents are at hand: rebuild rather than refuse (the build says what it
                    # found, and replaces the damaged files atomically).
                    self.build()
                    data = read_index(self.settings.index_dir)
                self._retriever = Retriever(data)
            return self._retriever

    def _query_encoder(self) -> Encoder:
        with self._lock:
            if self._encoder is None:
                self._encoder = load_encoder(self._model, for_queries=True)
            return self._encoder

    def embed_query(self, text: str) -> np.ndarray:
        return self._query_encoder().encode([text])[0]

    def reading(self) -> tuple[Reader, Answerability]:
        """The reader and its answerability model, loaded once. The reader always builds on the
        packaged MiniLM, whatever model the index uses for retrieval."""
        with self._lock:
            if self._reader is None:
                reader, model = load_reader(resolve_model(DEFAULT_MODEL, self.settings.cache_dir))
                assert model is not None  # load() raises when the file holds none
                self._reader = (reader, model)
            return self._reader

    # -- questions -----------------------------------------------------------------------
    def search(self, query: str, k: int = DEFAULT_K, mode: Mode | str = Mode.HYBRID) -> SearchResult:
        query = clean_question(query, self.settings.max_question_chars, "query")
        mode = Mode.from_str(mode)
        hits = self.retriever().search(query, clean_k(k), mode, self.embed_query)
        return SearchResult(query, mode, tuple(hits))

    def ask(self, question: str, mode: Mode | str = Mode.HYBRID, k: int = DEFAULT_K, *,
            threshold: float | None = None, query: str | None = None) -> Answer:
        """Answer ``question``. ``query``: a follow-up's rewritten, self-contained form, which is what
        is searched and read. ``threshold``: the answer probability below which the tool abstains
        (default: the calibrated one; higher is more cautious)."""
        question = clean_question(question, self.settings.max_question_chars)
        mode, k, threshold = Mode.from_str(mode), clean_k(k), clean_threshold(threshold)
        text = query or question
        retriever = self.retriever()
        reader, model = self.reading()
        return answer(question, retriever=retriever, query_vector=self.embed_query(text), reader=reader,
                      model=model, mode=mode, k=k, threshold=threshold, query=query)

    def conversation(self) -> Conversation:
        return Conversation(self)
