"""Measure the activation ranges that smooth the document encoder: ``python -m qa.index.fit_smoothing``.

Runs the float32 MiniLM graph over every paragraph of the SQuAD articles the reader is trained on
and keeps, for each matrix product's input, the largest magnitude per channel. Then, for each
candidate ``alpha``, it builds the smoothed int8 graph and encodes the paragraphs of the reader's
calibration articles; the ``alpha`` whose vectors come closest to float32 (mean cosine) is kept.
The reader's validation articles and the seeds are never read. Writes ``minilm-activations.safetensors``
and its card (SHA-256, data, figures, date) beside ``qa/index/smoothing.py``; the converted graphs of
earlier ranges are never reused, as their cache name carries the ranges' SHA-256.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..settings import DEFAULT_MODEL, Settings
from .dense import MAX_SEQ_LENGTH, OnnxMiniLM, Precision, cores, prepare_default_model, resolve_model
from .hashing import file_sha256
from .onnx_bert import Smoothing, bert_graph, ensure, feeds, product_inputs
from .smoothing import ACTIVATIONS_PATH

DEFAULT_SQUAD = Path(__file__).resolve().parents[3] / "shared" / "data" / "squad" / "squad2-train-10-articles.json"
# The reader's split (qa.reader.data; tests/test_dense.py keeps these in step): ranges come from
# its training articles, alpha is chosen on its calibration articles, its validation ones stay unread.
ALPHA_ARTICLES = ("The_Legend_of_Zelda:_Twilight_Princess", "Solar_energy")
HELD_OUT = ("Spectre_(2015_film)", "To_Kill_a_Mockingbird", "Force")
ALPHAS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.9)


def paragraphs(squad: Path) -> tuple[list[str], list[str]]:
    """(the paragraphs ranges are measured on, those alpha is chosen on)."""
    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    ranges, trial = [], []
    for article in data:
        if article["title"] in HELD_OUT:
            continue
        (trial if article["title"] in ALPHA_ARTICLES else ranges).extend(p["context"] for p in article["paragraphs"])
    return ranges, trial


def activation_ranges(weights: dict, config: dict, tokenizer, texts: Sequence[str]) -> dict[str, np.ndarray]:
    """The largest magnitude per channel of each matrix product's input, over ``texts`` (one at a time)."""
    import onnx
    import onnxruntime as ort

    graph = bert_graph(weights, config, None, None)
    inputs = product_inputs(int(config["num_hidden_layers"]))
    for name in inputs.values():
        graph.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(graph.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    ranges = {key: np.zeros(0, dtype=np.float32) for key in inputs}
    for text in texts:
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        outs = session.run(list(inputs.values()), feeds(ids, np.ones_like(ids)))
        for key, out in zip(inputs, outs):
            peak = np.abs(out).reshape(-1, out.shape[-1]).max(0)
            ranges[key] = peak if not ranges[key].size else np.maximum(ranges[key], peak)
    return ranges


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m qa.index.fit_smoothing", description=__doc__.split("\n\n")[0])
    ap.add_argument("--squad", type=Path, default=DEFAULT_SQUAD, help="SQuAD 2.0 JSON (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=ACTIVATIONS_PATH, help="ranges file (the card goes beside it)")
    args = ap.parse_args(argv)
    if not args.squad.is_file():
        print(f"error: {args.squad} not found; pass --squad FILE", file=sys.stderr)
        return 2
    from safetensors.numpy import load_file, save_file
    from tokenizers import Tokenizer

    started = time.perf_counter()
    files = resolve_model(DEFAULT_MODEL, Settings().cache_dir)
    prepare_default_model(files.path)
    weights = load_file(str(files.path / "model.safetensors"))
    config = json.loads((files.path / "config.json").read_text())
    tokenizer = Tokenizer.from_file(str(files.path / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
    ranges_texts, trial_texts = paragraphs(args.squad)
    print(f"ranges over {len(ranges_texts)} paragraphs; alpha chosen on {len(trial_texts)}", file=sys.stderr)
    ranges = activation_ranges(weights, config, tokenizer, ranges_texts)
    threads = cores()
    reference = OnnxMiniLM(files, Precision.FP32, threads=threads).encode(trial_texts)
    scan = {}
    with tempfile.TemporaryDirectory(prefix="qa-smoothing-") as tmp:
        for alpha in ALPHAS:
            target = Path(tmp) / f"alpha-{alpha}.onnx"
            ensure(target, lambda: weights, config, quantize=True, per_channel=True,
                   smoothing=Smoothing(ranges, alpha))
            vectors = OnnxMiniLM(files, Precision.INT8S, threads=threads, graph=target).encode(trial_texts)
            cos = (vectors * reference).sum(1)
            scan[alpha] = {"cosine_mean": round(float(cos.mean()), 5), "cosine_min": round(float(cos.min()), 5)}
            print(f"alpha {alpha}: cosine to float32 mean {cos.mean():.5f}, min {cos.min():.5f}", file=sys.stderr)
    alpha = max(scan, key=lambda a: scan[a]["cosine_mean"])
    plain = (OnnxMiniLM(files, Precision.INT8, threads=threads).encode(trial_texts) * reference).sum(1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.astype(np.float32) for k, v in ranges.items()}, str(args.out))
    card = {
        "what": "per-channel activation ranges of all-MiniLM-L6-v2's matrix product inputs, for smoothing "
                "its int8 document encoder (qa.index.onnx_bert.Smoothing)",
        "command": "python -m qa.index.fit_smoothing",
        "date": dt.date.today().isoformat(),
        "file": args.out.name,
        "sha256": file_sha256(args.out),
        "base_model": {"id": DEFAULT_MODEL, "sha256": files.checksum},
        "data": {"file": args.squad.name, "sha256": file_sha256(args.squad),
                 "licence": "SQuAD 2.0 (Rajpurkar et al. 2018), CC BY-SA 4.0",
                 "ranges_paragraphs": len(ranges_texts), "alpha_articles": list(ALPHA_ARTICLES),
                 "alpha_paragraphs": len(trial_texts), "never_read": list(HELD_OUT) + ["the seeds"]},
        "alpha": alpha,
        "alpha_scan": {str(a): v for a, v in scan.items()},
        "unsmoothed": {"cosine_mean": round(float(plain.mean()), 5), "cosine_min": round(float(plain.min()), 5)},
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"alpha {alpha}; wrote {args.out} and {args.out.with_suffix('.json')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
