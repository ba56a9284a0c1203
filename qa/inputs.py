"""Questions and settings checked at the boundary: one clear error for each bad value."""
from __future__ import annotations

from .errors import InputError

_TYPE = {"question": "type a question", "query": "type what to search for"}


def clean_question(text: object, max_chars: int, what: str = "question") -> str:
    """Validate a question (or, with ``what="query"``, a search query) at the boundary; returns it
    stripped."""
    if not isinstance(text, str):
        raise InputError(f"a {what} must be text, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise InputError(f"the {what} is empty; {_TYPE[what]}")
    if len(stripped) > max_chars:
        raise InputError(f"the {what} is {len(stripped):,} characters long; the limit is {max_chars:,}")
    try:
        stripped.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: bytes that were not UTF-8, decoded with surrogateescape
        raise InputError(f"the {what} holds bytes that are not UTF-8 text; check the terminal's "
                         "encoding and type it again") from None
    if not any(c.isalnum() for c in stripped):
        raise InputError(f"the {what} has no words in it; {_TYPE[what]}")
    return stripped


def clean_threshold(value: object) -> float | None:
    if value is None:
        return None
    try:
        t = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"the threshold must be a number between 0 and 1, not {value!r}") from None
    if not 0.0 <= t <= 1.0:
        raise InputError(f"the threshold must be between 0 and 1, not {t}")
    return t


def clean_k(k: object) -> int:
    try:
        value = int(k)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"k must be a whole number, not {k!r}") from None
    if not 1 <= value <= 100:
        raise InputError(f"k must be between 1 and 100, not {value}")
    return value
