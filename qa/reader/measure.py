"""The reader alone, measured with each question's own paragraph given (no retrieval, no
answerability model): the F1 of its best span over answerable questions, and how often its
no-answer score beats every span on unanswerable ones. Used by training (the learning curve) and
``python -m bench.reader --part gold``."""
from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable

import numpy as np

from ..metrics import squad_score
from . import data as rc
from .model import Reader

Question = tuple[str, str, tuple[str, ...]]  # (question, paragraph, answer texts; none = unanswerable)


def questions(articles: list[rc.Article], *, limit: int = 0, seed: int = 0) -> list[Question]:
    """The articles' questions with their own paragraphs; with ``limit``, a random sample of that
    many (the same for the same seed)."""
    out = [(q, art.paragraphs[pi], texts) for art in articles for _qid, q, pi, texts, _ in art.questions]
    if limit and limit < len(out):
        out = random.Random(seed).sample(out, limit)
    return out


def gold_paragraph(reader: Reader, qs: list[Question]) -> dict:
    """HasAns F1 of the reader's best span, and the share of unanswerable questions where no span
    beats the no-answer score (both in percent)."""
    f1s, null_wins, started = [], [], time.perf_counter()
    for question, paragraph, texts in qs:
        spans = reader.read(question, [paragraph])
        best = spans[0] if spans else None
        if texts:
            f1s.append(squad_score(paragraph[best.start:best.end], list(texts))[1] if best else 0.0)
        else:
            null_wins.append(best is None or best.margin < 0)
    return {"HasAns_f1": round(100 * statistics.mean(f1s), 1) if f1s else None, "HasAns_total": len(f1s),
            "NoAns_null_wins": round(100 * statistics.mean(null_wins), 1) if null_wins else None,
            "NoAns_total": len(null_wins), "seconds": round(time.perf_counter() - started, 1)}


def torch_run(model, *, bf16: bool) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """``Reader``'s ``run`` over a transformers question-answering model being trained: start and
    end logits, shape (n, t, 2), in eval mode without gradients."""
    import torch

    def run(ids: np.ndarray, mask: np.ndarray, types: np.ndarray) -> np.ndarray:
        device = next(model.parameters()).device
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            out = model(input_ids=torch.from_numpy(ids).to(device), attention_mask=torch.from_numpy(mask).to(device),
                        token_type_ids=torch.from_numpy(types).to(device))
        return torch.stack([out.start_logits, out.end_logits], -1).float().cpu().numpy()

    return run
