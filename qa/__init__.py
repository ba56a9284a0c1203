"""qa: citation-first extractive question answering over documents."""
from __future__ import annotations

from .answer_types import Answer, Quote
from .conversation import Conversation, Turn
from .engine import Engine, SearchResult
from .errors import QAError
from .index.retriever import Hit
from .settings import Mode, Settings

__all__ = ["Answer", "Conversation", "Engine", "Hit", "Mode", "QAError", "Quote", "SearchResult",
           "Settings", "Turn", "ask", "search"]


def ask(question: str, *, mode: Mode | str = Mode.HYBRID, k: int = 5,
        settings: Settings | None = None) -> Answer:
    """Answer one question (builds the index when missing or stale). For many, keep an Engine."""
    return Engine(settings).ask(question, mode=mode, k=k)


def search(query: str, *, k: int = 5, mode: Mode | str = Mode.HYBRID,
           settings: Settings | None = None) -> SearchResult:
    """Ranked passages for one query. For many, keep an Engine."""
    return Engine(settings).search(query, k=k, mode=mode)
