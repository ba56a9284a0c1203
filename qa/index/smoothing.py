"""The activation ranges that smooth the document encoder's int8 graph (``qa.index.onnx_bert.Smoothing``).

They ship with the package beside a card that records their SHA-256, the data they were measured
on, the chosen ``alpha`` and the figures behind it; ``python -m qa.index.fit_smoothing`` rebuilds
both. The file is checked against the card before it is used, like the model itself.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import ModelError
from . import hashing
from .onnx_bert import Smoothing

ACTIVATIONS_PATH = Path(__file__).with_name("minilm-activations.safetensors")
CARD_PATH = Path(__file__).with_name("minilm-activations.json")


def read_card(card: Path = CARD_PATH) -> dict:
    return hashing.read_card(card, "encoder's smoothing card", "python -m qa.index.fit_smoothing")


def load(path: Path = ACTIVATIONS_PATH, card: Path = CARD_PATH) -> Smoothing:
    """The verified activation ranges and the card's ``alpha``."""
    from safetensors.numpy import load_file

    info = read_card(card)
    expected = info["sha256"]
    if not path.is_file():
        raise ModelError(f"{path} is missing; reinstall the package or run `python -m qa.index.fit_smoothing`")
    actual = hashing.file_sha256(path)
    if actual != expected:
        raise ModelError(f"{path} fails its checksum (sha256 {actual[:12]}…, expected {expected[:12]}…); "
                         "refusing to load it — reinstall the package or run `python -m qa.index.fit_smoothing`")
    return Smoothing(load_file(str(path)), float(info["alpha"]))


def recipe(card: Path = CARD_PATH) -> str:
    """A name for graphs smoothed with the shipped ranges: changes whenever they do."""
    return f"int8-smoothed-{read_card(card)['sha256'][:12]}"
