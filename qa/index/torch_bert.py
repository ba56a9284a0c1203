"""The BERT forward pass on torch (transformers' ``BertModel``), with bfloat16 matrix products.

On a CPU with bfloat16 dot products (AVX512-BF16) torch runs the model's matrix products and
attention in bfloat16 under ``torch.autocast``, layer norms and residual sums staying in float32: as
fast as the int8 ONNX graph here, and ~300x closer to float32 (1 - cosine ~2e-5 against ~6e-3,
bench/results/2026-11-24-embedding-bf16.md). Without those instructions bfloat16 has no speed to
give (it is converted in software), so ``qa.index.cpu.native_bf16`` decides whether the library uses it at all.

torch and transformers are imported when a ``TorchBert`` is made (about 2.5 s), so only index
builds pay for them: questions are encoded on ONNX Runtime and never import torch.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import ModelError


class TorchBert:
    """A ``BertModel`` holding the verified safetensors weights (not the pooler: mean pooling does
    not use it), run in bfloat16 autocast; ``run`` has ``qa.index.onnx_bert.OnnxBert.run``'s
    signature and returns the final token states in float32. torch's thread pool is its own
    (every core by default); it is process-wide, so it is not changed here."""

    def __init__(self, weights: Path, config: Mapping[str, object]):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local; never reach a hub
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            import torch
            from safetensors.torch import load_file
            from transformers import BertConfig, BertModel
        except ImportError as exc:
            raise ModelError(f"the bfloat16 document encoder needs torch and transformers ({exc}); "
                             "reinstall qa with pip install .") from None

        self._torch = torch
        model = BertModel(BertConfig.from_dict(dict(config)), add_pooling_layer=False)
        state = load_file(str(weights))  # also the pooler's and stored position ids, unused here
        wanted = model.state_dict().keys()
        missing = sorted(wanted - state.keys())
        if missing:
            raise ModelError(f"{weights} lacks {len(missing)} weights of the model ({missing[0]}, …); "
                             "delete its folder to re-extract it")
        model.load_state_dict({k: state[k] for k in wanted}, strict=True)
        self._model = model.eval()

    def run(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray | None = None) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            out = self._model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
                              token_type_ids=None if types is None else torch.from_numpy(types))
        return out.last_hidden_state.float().numpy()
