"""SHA-256 of a file, read in blocks (model files are tens of megabytes), and the JSON cards that
record the SHA-256 of the files shipped with the package."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..errors import ModelError


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_card(card: Path, what: str, remedy: str) -> dict:
    """The JSON card ``card``; unreadable, a ModelError naming ``what`` it is and the ``remedy`` command."""
    try:
        return json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"the {what} {card} cannot be read ({exc}); reinstall the package "
                         f"or run `{remedy}`") from None
