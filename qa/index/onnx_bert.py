"""The BERT forward pass as an ONNX Runtime session, built from the verified weights.

The graph is written here, node by node, from the verified safetensors weights, so no model hub,
exporter or torch is involved; one builder serves the MiniLM encoder and the reader. The reader's
copy and the document encoder's are quantized to int8 (dynamic quantization of the matrix products,
ONNX Runtime's ``quantize_dynamic``), which roughly halves their time on a CPU. A graph can be
smoothed first (``Smoothing``, after Xiao et al. 2023, "SmoothQuant"): each matrix product's input
is divided per channel by a scale that the weights' rows are multiplied by, which leaves the float32
result unchanged but moves the activations' outlier channels into the weights, where int8 keeps
them better (the document encoder's ``Precision.INT8S``). Built graphs are cached by the SHA-256 of the weights they came from
and checked against their own recorded SHA-256 before every load.
"""
from __future__ import annotations

import logging
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .hashing import file_sha256

log = logging.getLogger(__name__)


def product_inputs(layers: int) -> dict[str, str]:
    """The input tensor of each layer's matrix products in the graph ``bert_graph`` writes, by the
    weights' key (the attention's query, key and value share one input, keyed by their parent)."""
    out = {}
    for i in range(layers):
        p = f"encoder.layer.{i}"
        out |= {f"{p}.attention.self": "h0" if i == 0 else f"encoder.layer.{i - 1}.h2",
                f"{p}.attention.output.dense": f"{p}.ctx2", f"{p}.intermediate.dense": f"{p}.h1",
                f"{p}.output.dense": f"{p}.gelu"}
    return out


@dataclass(frozen=True)
class Smoothing:
    """Per-channel scales for the matrix products' inputs: ``activations`` holds each input's largest
    magnitude per channel on real text (keys as ``product_inputs``), ``alpha`` how much of the range
    moves into the weights: s = max|x|^alpha / max|w|^(1 - alpha), per input channel."""

    activations: Mapping[str, np.ndarray]
    alpha: float

    def scales(self, key: str, weights: Sequence[np.ndarray]) -> np.ndarray:
        """``weights``: the (out, in) matrices that read the input ``key``."""
        rows = np.max([np.abs(w).max(0) for w in weights], axis=0)
        s = self.activations[key] ** self.alpha / np.maximum(rows, 1e-5) ** (1 - self.alpha)
        return np.clip(s, 1e-2, 1e2).astype(np.float32)


def bert_graph(weights: Mapping[str, np.ndarray], config: Mapping[str, object], head: np.ndarray | None,
               head_bias: np.ndarray | None, smoothing: Smoothing | None = None):
    from onnx import TensorProto, helper, numpy_helper

    heads, layers = int(config["num_attention_heads"]), int(config["num_hidden_layers"])
    dim, eps = int(config["hidden_size"]), float(config["layer_norm_eps"])
    d = dim // heads
    inits, nodes = [], []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], name: str, **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def smoothed(x: str, key: str, readers: Sequence[str]) -> tuple[str, np.ndarray | None]:
        """``x`` divided by its smoothing scales (and the scales), or ``x`` as it is."""
        if smoothing is None:
            return x, None
        s = smoothing.scales(key, [weights[r + ".weight"] for r in readers])
        return node("Mul", [x, const(key + ".inv_s", 1.0 / s)], key + ".smoothed"), s

    def linear(x: str, key: str, out: str, s: np.ndarray | None = None) -> str:
        wt = weights[key + ".weight"].astype(np.float32).T
        w = const(key + ".wT", wt if s is None else wt * s[:, None])
        b = const(key + ".b", weights[key + ".bias"].astype(np.float32))
        return node("Add", [node("MatMul", [x, w], out + ".mm"), b], out)

    def dense(x: str, key: str, out: str) -> str:
        sx, s = smoothed(x, key, [key])
        return linear(sx, key, out, s)

    def norm(x: str, key: str, out: str) -> str:
        return node("LayerNormalization", [x, const(key + ".g", weights[key + ".weight"].astype(np.float32)),
                                           const(key + ".beta", weights[key + ".bias"].astype(np.float32))],
                    out, axis=-1, epsilon=eps)

    w = {k: v.astype(np.float32) for k, v in weights.items() if k.startswith("embeddings.")}
    x = node("Add", [node("Gather", [const("word", w["embeddings.word_embeddings.weight"]), "input_ids"], "we"),
                     node("Gather", [const("pos", w["embeddings.position_embeddings.weight"]), "position_ids"], "pe")],
             "wpe")
    x = node("Add", [x, node("Gather", [const("type", w["embeddings.token_type_embeddings.weight"]), "token_type_ids"],
                             "te")], "emb")
    x = norm(x, "embeddings.LayerNorm", "h0")
    split = const("split_heads", np.array([0, 0, heads, d], dtype=np.int64))
    merge = const("merge_heads", np.array([0, 0, dim], dtype=np.int64))
    scale = const("scale", np.array(1.0 / math.sqrt(d), dtype=np.float32))
    half, one = const("half", np.array(0.5, dtype=np.float32)), const("one", np.array(1.0, dtype=np.float32))
    root2 = const("root2", np.array(math.sqrt(2.0), dtype=np.float32))
    for i in range(layers):
        p = f"encoder.layer.{i}"
        qkv = [f"{p}.attention.self.{m}" for m in ("query", "key", "value")]
        sx, s = smoothed(x, f"{p}.attention.self", qkv)
        q, k, v = (node("Reshape", [linear(sx, key, f"{p}.{m}", s), split], f"{p}.{m}.heads")
                   for key, m in zip(qkv, ("query", "key", "value")))
        q = node("Transpose", [q], f"{p}.qT", perm=[0, 2, 1, 3])
        k = node("Transpose", [k], f"{p}.kT", perm=[0, 2, 3, 1])
        v = node("Transpose", [v], f"{p}.vT", perm=[0, 2, 1, 3])
        scores = node("Add", [node("Mul", [node("MatMul", [q, k], f"{p}.qk"), scale], f"{p}.scaled"),
                              "attention_bias"], f"{p}.scores")
        probs = node("Softmax", [scores], f"{p}.probs", axis=-1)
        ctx = node("Transpose", [node("MatMul", [probs, v], f"{p}.ctx")], f"{p}.ctxT", perm=[0, 2, 1, 3])
        ctx = node("Reshape", [ctx, merge], f"{p}.ctx2")
        x = norm(node("Add", [x, dense(ctx, f"{p}.attention.output.dense", f"{p}.ao")], f"{p}.res1"),
                 f"{p}.attention.output.LayerNorm", f"{p}.h1")
        inner = dense(x, f"{p}.intermediate.dense", f"{p}.inner")
        gelu = node("Mul", [node("Mul", [inner, half], f"{p}.g1"),
                            node("Add", [node("Erf", [node("Div", [inner, root2], f"{p}.g2")], f"{p}.g3"), one],
                                 f"{p}.g4")], f"{p}.gelu")
        x = norm(node("Add", [x, dense(gelu, f"{p}.output.dense", f"{p}.out")], f"{p}.res2"),
                 f"{p}.output.LayerNorm", f"{p}.h2")
    out = x
    if head is not None:
        out = node("Add", [node("MatMul", [x, const("head.wT", head.astype(np.float32).T)], "head.mm"),
                           const("head.b", head_bias.astype(np.float32))], "logits")
    ints = [helper.make_tensor_value_info(n, TensorProto.INT64, ["n", "t"])
            for n in ("input_ids", "position_ids", "token_type_ids")]
    bias = helper.make_tensor_value_info("attention_bias", TensorProto.FLOAT, ["n", 1, 1, "t"])
    result = helper.make_tensor_value_info(out, TensorProto.FLOAT, ["n", "t", 2 if head is not None else dim])
    graph = helper.make_graph(nodes, "bert", ints + [bias], [result], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="qa")



def _intact(target: Path) -> bool:
    sidecar = target.with_suffix(".sha256")
    return target.is_file() and sidecar.is_file() and file_sha256(target) == sidecar.read_text().strip()


def ensure(target: Path, weights: Callable[[], Mapping[str, np.ndarray]], config: Mapping[str, object], *,
           head: np.ndarray | None = None, head_bias: np.ndarray | None = None, quantize: bool = False,
           per_channel: bool = False, unsigned: bool = False, smoothing: Smoothing | None = None,
           float_nodes: Sequence[str] = ()) -> Path:
    """The graph at ``target``, built from ``weights()`` (already verified) unless an intact copy is
    there: one whose SHA-256 matches the one recorded when it was built. A damaged or edited copy is
    rebuilt, never loaded. Concurrent processes build it once (a file lock). ``quantize``: int8
    weights (dynamic quantization); ``per_channel``: one scale per output column of each weight
    matrix rather than one per matrix (for the MiniLM encoder: cosine to float32 ~0.99 instead of ~0.96);
    ``unsigned``: uint8 weights with a zero point rather than int8 ones (u8u8 kernels, which sum
    exactly on CPUs without VNNI, where u8s8 ones can saturate: ``qa.index.cpu``);
    ``smoothing``: the graph is smoothed before it is quantized (the same float32 function);
    ``float_nodes``: names of ``bert_graph`` nodes left in float32 when the rest is quantized.
    The caller names ``target`` after the weights and these choices. A cached graph costs only its
    checksum: ``onnx`` (0.6-1.5 s of C extensions to load) is imported only when a graph must be written."""
    if _intact(target):
        return target
    import onnx
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.with_suffix(".lock"))):
        if _intact(target):
            return target
        log.info("converting the model for ONNX Runtime (once): %s", target.name)
        with tempfile.TemporaryDirectory(prefix=".onnx-", dir=target.parent) as tmp:
            plain = Path(tmp) / "fp32.onnx"
            onnx.save(bert_graph(weights(), config, head, head_bias, smoothing), str(plain))
            made = plain
            if quantize:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                made = Path(tmp) / "int8.onnx"
                quiet = logging.getLogger()
                level = quiet.level
                quiet.setLevel(logging.ERROR)  # it suggests pre-processing on the root logger
                try:
                    quantize_dynamic(str(plain), str(made), weight_type=QuantType.QUInt8 if unsigned else QuantType.QInt8,
                                     per_channel=per_channel,
                                     nodes_to_exclude=list(float_nodes),
                                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
                finally:
                    quiet.setLevel(level)
            sidecar = Path(tmp) / "sha256"
            sidecar.write_text(file_sha256(made) + "\n")
            os.replace(made, target)
            os.replace(sidecar, target.with_suffix(".sha256"))
    return target


class OnnxBert:
    """An ONNX Runtime session over a graph made by ``ensure``; one thread by default (on a busy
    2-core machine more threads make a question slower, not faster)."""

    def __init__(self, path: Path, threads: int = 1):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # a truncated or foreign file: name it and say what to do
            raise ModelError(f"cannot load the converted model {path} ({str(exc).splitlines()[0][:120]}); "
                             "delete it to rebuild it") from None

    def run(self, ids: np.ndarray, mask: np.ndarray, types: np.ndarray | None = None) -> np.ndarray:
        return self._session.run(None, feeds(ids, mask, types))[0]


def feeds(ids: np.ndarray, mask: np.ndarray, types: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The inputs of a graph ``bert_graph`` wrote, for a padded batch of word piece ids."""
    n, t = ids.shape
    return {"input_ids": ids, "position_ids": np.broadcast_to(np.arange(t, dtype=np.int64), (n, t)).copy(),
            "token_type_ids": types if types is not None else np.zeros_like(ids),
            "attention_bias": np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)}
