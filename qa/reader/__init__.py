"""The extractive reader: fine-tuned MiniLM span extraction (``model``), its input windows
(``windows``), its training data and command (``data``, ``train``), and the calibration of the
answerability model (``calibrate``). Importing this package never imports torch."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..index.dense import ModelFiles, prepare_default_model
from ..index.onnx_bert import OnnxBert, ensure
from ..scoring import Answerability
from .model import (
    ANSWERABILITY_PATH,
    CARD_PATH,
    WEIGHTS_PATH,
    Reader,
    read_answerability,
    read_card,
    read_weights,
)
from .windows import plain

__all__ = ["Reader", "load"]

# int8 (dynamic quantization of the matrix products) rather than float32: about twice as fast on
# these CPUs; the answer figures of both are in the model card's "quantization" entry.
QUANTIZE = True


def load(base: ModelFiles, *, weights: Path = WEIGHTS_PATH, card: Path = CARD_PATH,
         answerability: Path = ANSWERABILITY_PATH, calibrated: bool = True,
         quantize: bool = QUANTIZE) -> tuple[Reader, Answerability | None]:
    """The verified reader over the verified base model, on ONNX Runtime, and its verified
    answerability model (None when ``calibrated`` is false). The converted graph is cached beside
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

    target = base.path.parent / "onnx" / f"reader-{digest[:16]}-{'int8' if quantize else 'fp32'}.onnx"
    ensure(target, merged, config, head=tensors["qa_outputs.weight"], head_bias=tensors["qa_outputs.bias"],
           quantize=quantize)
    reader = Reader(OnnxBert(target).run, plain(Tokenizer.from_file(str(base.path / "tokenizer.json"))))
    return reader, read_answerability(answerability, card) if calibrated else None
