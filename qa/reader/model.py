"""The shipped reader: fine-tuned MiniLM weights (verified by SHA-256) run on ONNX Runtime.

For each window of question + context it gives start and end logits per token; a span's score is
``start[i] + end[j]`` and the window's no-answer score is the same at [CLS]. The reader proposes the
best spans of each context with their margin over no-answer.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..index import hashing
from ..scoring import Answerability
from .windows import Window, batch, windows

WEIGHTS_PATH = Path(__file__).with_name("reader.safetensors")
CARD_PATH = Path(__file__).with_name("card.json")
# The answerability model in files of their own (recalibrating never rewrites the reader's 21 MB),
# one per document encoding: its features (sentence similarities, the reader's scores) are measured
# with the document vectors and reader precision a kind of CPU gets (``qa.index.cpu``).
ENCODINGS = ("bf16", "int8", "int8u")


def answerability_path(encoding: str) -> Path:
    """The shipped answerability model for documents encoded in ``encoding`` (one of ENCODINGS)."""
    return Path(__file__).with_name(f"answerability-{encoding}.safetensors")
MAX_ANSWER_TOKENS = 30
SPANS_PER_CONTEXT = 5
WINDOW_BATCH = 8


@dataclass(frozen=True)
class Span:
    """A proposed answer: ``context[start:end]`` of context number ``context``."""

    context: int
    start: int
    end: int
    score: float  # start + end logit
    null: float  # the no-answer score of the window it came from
    logprob: float  # log P(start) + log P(end), softmax over the window's [CLS] and context tokens

    @property
    def margin(self) -> float:
        return self.score - self.null


def write_weights(path: Path, state: Mapping[str, np.ndarray], metadata: Mapping[str, str] | None = None,
                  dtype: type = np.float16) -> str:
    """Save tensors in ``dtype`` with safetensors (no pickle); returns the file's SHA-256. The
    reader's weights go in float16, the answerability model in float64."""
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: np.ascontiguousarray(v, dtype=dtype) for k, v in state.items()}
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=dict(metadata or {}))
    tmp.chmod(0o644)
    tmp.replace(path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_weights(weights: Path = WEIGHTS_PATH, card: Path = CARD_PATH, *, entry: Sequence[str] = ("weights",),
                 what: str = "reader weights", remedy: str = "python -m qa.reader.train"
                 ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The shipped tensors and metadata, after checking the file's SHA-256 against the model
    card's ``entry`` (a path of keys)."""
    from safetensors import safe_open

    record = read_card(card)
    for key in entry:
        record = record.get(key, {}) if isinstance(record, dict) else {}
    expected = record.get("sha256")
    try:
        raw = weights.read_bytes()
    except OSError as exc:
        raise ModelError(f"the {what} {weights} cannot be read ({exc.strerror}); reinstall the "
                         f"package or run `{remedy}`") from None
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected:
        raise ModelError(f"the {what} {weights} fail their checksum (sha256 {actual[:12]}…, "
                         f"expected {str(expected)[:12]}…); refusing to load them")
    with safe_open(str(weights), framework="np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def read_answerability(encoding: str, path: Path | None = None, card: Path = CARD_PATH) -> Answerability:
    """The answerability model calibrated for documents in ``encoding``, after checking its SHA-256
    against the model card and that it was calibrated on the reader's current weights."""
    remedy = "python -m qa.reader.calibrate"
    entry = read_card(card).get("answerability", {}).get(encoding)
    if not isinstance(entry, dict):
        raise ModelError(f"the reader has no answerability model calibrated for {encoding} document vectors "
                         f"(this CPU's); run `{remedy}` on it")
    if entry.get("reader_sha256") != read_card(card)["weights"]["sha256"]:
        raise ModelError(f"the answerability model for {encoding} document vectors was calibrated on other "
                         f"reader weights; run `{remedy}`")
    tensors, meta = read_weights(path or answerability_path(encoding), card, entry=("answerability", encoding),
                                 what="answerability model", remedy=remedy)
    return Answerability.from_tensors(tensors, json.loads(meta["features"]))


def write_answerability(model: Answerability, path: Path) -> str:
    return write_weights(path, model.tensors(), {"features": json.dumps(list(model.names))}, dtype=np.float64)


def read_card(card: Path = CARD_PATH) -> dict:
    return hashing.read_card(card, "reader's model card", "python -m qa.reader.train")


def _logsumexp(x: np.ndarray) -> float:
    top = float(x.max())
    return top + float(np.log(np.exp(x - top).sum()))


class Reader:
    """Span extraction over contexts. ``run(ids, mask, types)`` gives the start/end logits of a
    padded batch of windows, shape (n, t, 2): the ONNX Runtime session of ``qa.index.onnx_bert``."""

    def __init__(self, run: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray], tokenizer):
        self._run = run
        self._tok = tokenizer

    def logits(self, ws: list[Window]) -> list[tuple[np.ndarray, np.ndarray]]:
        out = []
        for i in range(0, len(ws), WINDOW_BATCH):
            chunk = ws[i:i + WINDOW_BATCH]
            ids, types, mask = batch(chunk)
            x = self._run(ids, mask, types)
            out += [(x[j, :len(w.ids), 0], x[j, :len(w.ids), 1]) for j, w in enumerate(chunk)]
        return out

    def read(self, question: str, contexts: list[str], *, per_context: int = SPANS_PER_CONTEXT,
             sentence_starts: Sequence[Sequence[int]] | None = None) -> list[Span]:
        """The best spans of each context (at most ``per_context``), best first overall. With
        ``sentence_starts`` (each context's sentence start offsets, ascending), a span never runs
        from one sentence into the next: an answer is a phrase of one sentence, and a span across
        a sentence break is the reader hedging between two places."""
        ws = windows(self._tok, question, contexts)
        found: dict[int, dict[tuple[int, int], Span]] = {}
        for w, (start, end) in zip(ws, self.logits(ws)):
            null = float(start[0] + end[0])
            ctx = np.nonzero(w.types)[0][:-1]
            if not len(ctx):
                continue
            s, e = start[ctx], end[ctx]
            norm = _logsumexp(np.append(s, start[0])) + _logsumexp(np.append(e, end[0]))
            pair = s[:, None] + e[None, :]
            n = len(ctx)
            valid = np.triu(np.ones((n, n), dtype=bool)) & ~np.triu(np.ones((n, n), dtype=bool), MAX_ANSWER_TOKENS)
            if sentence_starts is not None:
                sentence = np.searchsorted(np.asarray(sentence_starts[w.context]), w.offsets[ctx, 0], side="right")
                valid &= sentence[:, None] == sentence[None, :]
            pair = np.where(valid, pair, -np.inf)
            flat = np.argsort(pair, axis=None)[::-1][:per_context]
            best = found.setdefault(w.context, {})
            for f in flat:
                i, j = divmod(int(f), n)
                a, b = int(w.offsets[ctx[i], 0]), int(w.offsets[ctx[j], 1])
                span = Span(w.context, a, b, float(pair[i, j]), null, float(pair[i, j]) - norm)
                if (a, b) not in best or best[(a, b)].margin < span.margin:
                    best[(a, b)] = span
        spans = [s for d in found.values() for s in sorted(d.values(), key=lambda s: -s.margin)[:per_context]]
        return sorted(spans, key=lambda s: -s.margin)
