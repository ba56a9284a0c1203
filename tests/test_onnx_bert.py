"""The converted-graph cache of ``qa.index.onnx_bert``: a cached graph costs a checksum, never ``onnx``."""
import subprocess
import sys

from .conftest import ROOT

# A fresh interpreter: ``ensure`` on a graph whose recorded SHA-256 matches returns it without
# asking for the weights and without importing ``onnx`` (over half a second of C extensions).
CACHED = """
import sys
from pathlib import Path
from qa.index.hashing import file_sha256
from qa.index.onnx_bert import ensure

target = Path(sys.argv[1]) / "graph.onnx"
target.write_bytes(b"a graph, as far as the cache can tell")
target.with_suffix(".sha256").write_text(file_sha256(target) + "\\n")

def weights():
    raise AssertionError("the weights were read for a cached graph")

assert ensure(target, weights, {}) == target
print("onnx" in sys.modules, "filelock" in sys.modules)
"""


def test_a_cached_graph_is_returned_without_importing_onnx(tmp_path):
    out = subprocess.run([sys.executable, "-c", CACHED, str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]


def test_a_graph_whose_checksum_differs_is_rebuilt(tmp_path):
    """The other side of the same check: an edited copy is written again, from the weights."""
    import numpy as np
    import onnx

    from qa.index.hashing import file_sha256
    from qa.index.onnx_bert import ensure

    config = {"num_attention_heads": 1, "num_hidden_layers": 1, "hidden_size": 2, "layer_norm_eps": 1e-12}
    rng = np.random.default_rng(0)
    shapes = {"embeddings.word_embeddings.weight": (5, 2), "embeddings.position_embeddings.weight": (8, 2),
              "embeddings.token_type_embeddings.weight": (2, 2), "embeddings.LayerNorm.weight": (2,),
              "embeddings.LayerNorm.bias": (2,)}
    for part in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                 "intermediate.dense", "output.dense"):
        shapes |= {f"encoder.layer.0.{part}.weight": (2, 2), f"encoder.layer.0.{part}.bias": (2,)}
    for part in ("attention.output.LayerNorm", "output.LayerNorm"):
        shapes |= {f"encoder.layer.0.{part}.weight": (2,), f"encoder.layer.0.{part}.bias": (2,)}
    weights = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    target = tmp_path / "graph.onnx"
    target.write_bytes(b"edited")
    target.with_suffix(".sha256").write_text("0" * 64 + "\n")
    ensure(target, lambda: weights, config)
    assert target.with_suffix(".sha256").read_text().strip() == file_sha256(target)
    assert onnx.load(str(target)).graph.name == "bert"
