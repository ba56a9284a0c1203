"""The extractive reader: fine-tuned MiniLM span extraction (``model``), its input windows
(``windows``), its training data and command (``data``, ``train``), and the calibration of the
answerability model (``calibrate``). Importing this package never imports torch."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..index.cpu import native_vnni
from ..index.dense import ModelFiles, document_encoding, prepare_default_model
from ..index.onnx_bert import OnnxBert, ensure
from ..scoring import Answerability
from .model import (
    CARD_PATH,
    WEIGHTS_PATH,
    Reader,
    read_answerability,
    read_card,
    read_weights,
)
from .windows import plain

__all__ = ["PRECISIONS", "Reader", "load"]

# The precisions the reader runs in: float32, or int8 weights (dynamic quantization of the matrix
# products) with one scale per output channel (signed, or unsigned: "int8u") or one per matrix.
PRECISIONS = ("fp32", "int8", "int8u", "int8-per-matrix")
# int8 per channel: about twice as fast as float32 on these CPUs at the same answers. One scale per
# matrix costs F1 with the gold paragraph given (validation articles, 2026-11-24, `python -m
# bench.reader --part gold`: float32 63.7, int8 per matrix 59.0, int8 per channel 64.2).
# Signed int8 weights where the CPU has VNNI, unsigned ones elsewhere (``qa.index.cpu``: ONNX Runtime's
# u8s8 kernels can saturate without VNNI, its u8u8 ones cannot).


def default_precision() -> str:
    return "int8" if native_vnni() else "int8u"


def calibration_key(base: ModelFiles) -> str:
    """Which answerability model serves this CPU: the one calibrated with the document encoding
    the packaged model gets here (``qa.index.dense.document_encoding``; its reader precision
    follows from the same CPU features). An index of another model uses it too."""
    return document_encoding(base).precision.value


def load(base: ModelFiles, *, weights: Path = WEIGHTS_PATH, card: Path = CARD_PATH,
         answerability: Path | None = None, calibrated: bool = True,
         precision: str | None = None) -> tuple[Reader, Answerability | None]:
    """The verified reader over the verified base model, on ONNX Runtime in ``precision`` (one of
    ``PRECISIONS``; default ``default_precision()``), and the verified answerability model
    calibrated for this CPU's document encoding (``calibration_key``; ``answerability``: read from
    that file instead; None when ``calibrated`` is false). The converted graph is cached beside
    the base model under the weights' SHA-256."""
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    prepare_default_model(base.path)
    tensors, _ = read_weights(weights, card)
    digest = read_card(card)["weights"]["sha256"]
    config = json.loads((base.path / "config.json").read_text())

    def merged() -> dict[str, np.ndarray]:
        out = load_file(str(base.path / "model.safetensors"))
        out.update({k: v for k, v in tensors.items() if k.startswith(("embeddings.", "encoder."))})
        return out

    precision = precision or default_precision()
    if precision not in PRECISIONS:
        raise ValueError(f"unknown reader precision {precision!r}; one of {', '.join(PRECISIONS)}")
    # (int8 graphs of earlier versions, one scale per matrix, were cached as "-int8": never reused)
    suffix = {"int8": "int8-per-channel", "int8u": "int8u-per-channel"}.get(precision, precision)
    target = base.path.parent / "onnx" / f"reader-{digest[:16]}-{suffix}.onnx"
    ensure(target, merged, config, head=tensors["qa_outputs.weight"], head_bias=tensors["qa_outputs.bias"],
           quantize=precision != "fp32", per_channel=precision in ("int8", "int8u"), unsigned=precision == "int8u")
    reader = Reader(OnnxBert(target).run, plain(Tokenizer.from_file(str(base.path / "tokenizer.json"))))
    return reader, read_answerability(calibration_key(base), answerability, card) if calibrated else None
