"""qa: citation-first extractive question answering over documents.

The public names are imported on first use (PEP 562 ``__getattr__``): ``qa --help`` and the
indexing side (``import qa.index.fusion``) do not load the answering side (engine, reader, scipy).
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .errors import QAError
from .settings import Mode, Settings

if TYPE_CHECKING:
    from .answer_types import Answer, Quote
    from .conversation import Conversation, Turn
    from .engine import Engine, SearchResult
    from .index.retriever import Hit

__all__ = ["Answer", "Conversation", "Engine", "Hit", "Mode", "QAError", "Quote", "SearchResult",
           "Settings", "Turn", "ask", "search"]

# Each lazily imported public name -> the module that defines it.
_LAZY = {"Answer": ".answer_types", "Quote": ".answer_types", "Conversation": ".conversation",
         "Turn": ".conversation", "Engine": ".engine", "SearchResult": ".engine", "Hit": ".index.retriever"}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(module, __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def ask(question: str, *, mode: Mode | str = Mode.HYBRID, k: int = 5,
        settings: Settings | None = None) -> Answer:
    """Answer one question (builds the index when missing or stale). For many, keep an Engine."""
    from .engine import Engine

    return Engine(settings).ask(question, mode=mode, k=k)


def search(query: str, *, k: int = 5, mode: Mode | str = Mode.HYBRID,
           settings: Settings | None = None) -> SearchResult:
    """Ranked passages for one query. For many, keep an Engine."""
    from .engine import Engine

    return Engine(settings).search(query, k=k, mode=mode)
