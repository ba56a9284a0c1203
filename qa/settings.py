"""One frozen settings object, passed explicitly. Environment variables only fill defaults."""
from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import InputError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_DOCS = Path("seeds")
MAX_QUESTION_CHARS = 2000
APP = "qa-cite"  # the per-user folders' name: ~/.cache/qa-cite, ~/.local/share/qa-cite
UPLOADS = "uploads"  # the default uploads folder's name, inside the per-user data folder


class Mode(enum.Enum):
    HYBRID = "hybrid"
    BM25 = "bm25"
    DENSE = "dense"

    @classmethod
    def from_str(cls, value: str | Mode) -> Mode:
        if isinstance(value, Mode):
            return value
        try:
            return cls(str(value).strip().lower())
        except ValueError:
            allowed = ", ".join(m.value for m in cls)
            raise InputError(f"unknown retrieval mode {value!r}; choose one of: {allowed}") from None


def _default_cache_dir() -> Path:
    env = os.environ.get("QA_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / APP


def default_data_dir() -> Path:
    """The per-user data folder: $XDG_DATA_HOME/qa-cite, else ~/.local/share/qa-cite. (A relative
    XDG_DATA_HOME is ignored, as the XDG spec asks: it would put the user's files wherever the
    command happens to run, a checkout included.)"""
    xdg = os.environ.get("XDG_DATA_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "share") / APP


def default_uploads_dir() -> Path:
    """Where documents added in the web chat are kept unless QA_UPLOADS_DIR or --uploads-dir
    says otherwise: outside any checkout or index folder, so that neither `git clean` nor
    deleting the index removes a user's documents."""
    env = os.environ.get("QA_UPLOADS_DIR")
    return Path(env) if env else default_data_dir() / UPLOADS


@dataclass(frozen=True)
class Splitter:
    """Passage windowing settings; recorded in the index manifest."""

    sentences_per_passage: int = 4
    overlap: int = 1
    max_chars: int = 900

    def to_json(self) -> dict:
        return {"sentences_per_passage": self.sentences_per_passage,
                "overlap": self.overlap, "max_chars": self.max_chars}


@dataclass(frozen=True)
class Settings:
    index_dir: Path = field(default_factory=lambda: Path(os.environ.get("QA_INDEX_DIR", "index")))
    # None: the folders the index was built from, or seeds/ when there is no index yet.
    docs: tuple[Path, ...] | None = field(
        default_factory=lambda: (Path(os.environ["QA_DOCS"]),) if os.environ.get("QA_DOCS") else None)
    # Documents added from the web chat go here, never into a documents folder. Default: the
    # per-user data folder's "uploads" (see default_uploads_dir).
    uploads: Path = field(default_factory=default_uploads_dir)
    # Whether the uploads folder is indexed with the documents: always for the web chat, ask,
    # search and chat; never for `qa eval`, which scores a question set against its own documents.
    include_uploads: bool = True
    model: str = field(default_factory=lambda: os.environ.get("QA_MODEL", DEFAULT_MODEL))
    cache_dir: Path = field(default_factory=_default_cache_dir)
    splitter: Splitter = Splitter()
    max_question_chars: int = MAX_QUESTION_CHARS

    @property
    def uploads_dir(self) -> Path:
        return self.uploads

    @property
    def legacy_uploads_dir(self) -> Path:
        """Where the web chat kept uploads before they moved to the per-user data folder."""
        return self.index_dir / UPLOADS

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)
