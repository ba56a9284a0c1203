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

from . import indexer
from .dense import Encoder, ModelFiles, load_encoder, resolve_model
from .errors import IndexCorruptError, IndexMismatchError, IndexMissingError, InputError
from .indexer import BuildReport, ProgressFactory
from .retriever import Hit, Retriever
from .settings import DEFAULT_DOCS, Mode, Settings
from .store import read_index, recorded_sources

log = logging.getLogger(__name__)

DEFAULT_K = 5
PHRASE_CACHE_SIZE = 50_000


@dataclass(frozen=True)
class SearchResult:
    query: str
    mode: Mode
    hits: tuple[Hit, ...]

    def to_json(self) -> dict:
        return {"query": self.query, "mode": self.mode.value, "hits": [h.to_json() for h in self.hits]}


def clean_question(text: object, max_chars: int) -> str:
    """Validate a question or query at the boundary; returns it stripped."""
    if not isinstance(text, str):
        raise InputError(f"a question must be text, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise InputError("the question is empty; type a question")
    if len(stripped) > max_chars:
        raise InputError(f"the question is {len(stripped):,} characters long; the limit is {max_chars:,}")
    try:
        stripped.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8, decoded with surrogateescape
        raise InputError("the question holds bytes that are not UTF-8 text; check the terminal's "
                         "encoding and type it again") from None
    if not any(c.isalnum() for c in stripped):
        raise InputError("the question has no words in it; type a question")
    return stripped


def clean_k(k: object) -> int:
    try:
        value = int(k)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"k must be a whole number, not {k!r}") from None
    if not 1 <= value <= 100:
        raise InputError(f"k must be between 1 and 100, not {value}")
    return value


class Engine:
    """One index folder, its documents and the query encoder. Safe to share between threads."""

    def __init__(self, settings: Settings | None = None, *, auto_build: bool = True,
                 progress: ProgressFactory | None = None, document_encoder: Encoder | None = None):
        self.settings = settings or Settings()
        self.auto_build = auto_build
        self._progress = progress
        self._lock = threading.RLock()
        self._retriever: Retriever | None = None
        self._encoder: Encoder | None = None
        self._doc_encoder: Encoder | None = document_encoder
        self._phrase_cache: dict[str, np.ndarray] = {}
        self._model: ModelFiles = resolve_model(self.settings.model, self.settings.cache_dir)

    # -- documents and index -------------------------------------------------------------
    def sources(self) -> tuple[Path, ...]:
        """The document paths: --docs when given, else those the index was built from, else seeds/."""
        if self.settings.docs:
            return self.settings.docs
        recorded = recorded_sources(self.settings.index_dir)  # an old or damaged index still says
        return tuple(Path(p) for p in recorded) if recorded else (DEFAULT_DOCS,)

    def _document_encoder(self, files: ModelFiles) -> Encoder:
        """Loaded once per engine (sentence-transformers takes seconds), on the first build that needs it."""
        with self._lock:
            if self._doc_encoder is None:
                self._doc_encoder = load_encoder(files, for_queries=False)
            return self._doc_encoder

    def build(self, paths: Sequence[Path] | None = None) -> BuildReport:
        with self._lock:
            kwargs = {"progress": self._progress} if self._progress else {}
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
                except (IndexCorruptError, IndexMismatchError) as exc:
                    if not self.auto_build:
                        raise
                    # The documents are at hand: rebuild rather than refuse (the build replaces
                    # the damaged files atomically).
                    log.warning("%s; rebuilding it from %s", str(exc).split("; run")[0],
                                ", ".join(map(str, self.sources())))
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

    def word_vectors(self, words: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors for single words, for synonym matching: static input embeddings when the query
        encoder has them (the packaged model), else the encoder's phrase vectors."""
        encoder = self._query_encoder()
        static = getattr(encoder, "word_vectors", None)
        if static is None:
            return self.embed_phrases(words)
        unique = list(dict.fromkeys(words))
        return dict(zip(unique, static(unique))) if unique else {}

    def embed_phrases(self, phrases: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors of short phrases (answer candidates, counted nouns), cached per engine."""
        with self._lock:
            found = {p: self._phrase_cache[p] for p in phrases if p in self._phrase_cache}
        todo = sorted(set(phrases) - set(found))
        if todo:
            found.update(zip(todo, self._query_encoder().encode(todo, batch_size=64)))
            with self._lock:
                if len(self._phrase_cache) > PHRASE_CACHE_SIZE:
                    self._phrase_cache.clear()
                self._phrase_cache.update((p, found[p]) for p in todo)
        return found

    # -- questions -----------------------------------------------------------------------
    def search(self, query: str, k: int = DEFAULT_K, mode: Mode | str = Mode.HYBRID) -> SearchResult:
        query = clean_question(query, self.settings.max_question_chars)
        mode = Mode.from_str(mode)
        hits = self.retriever().search(query, clean_k(k), mode, self.embed_query)
        return SearchResult(query, mode, tuple(hits))

    def ask(self, question: str, mode: Mode | str = Mode.HYBRID, k: int = DEFAULT_K):
        from .answer import answer_question

        question = clean_question(question, self.settings.max_question_chars)
        return answer_question(self, question, Mode.from_str(mode), clean_k(k))

    def conversation(self):
        from .conversation import Conversation

        return Conversation(self)
