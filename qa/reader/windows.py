"""Question + passage token windows for the reader, shared by training and answering.

A window is ``[CLS] question [SEP] context-piece [SEP]`` with token types 0 then 1, as BERT reads
a sentence pair. A context longer than one window is covered by several that overlap by
``stride`` tokens, so an answer near a cut is whole in at least one of them. Each context token
keeps its character offsets into the context, so a predicted token span maps back to exact
characters.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tokenizers import Tokenizer

MAX_LENGTH = 256  # tokens in a window (the encoder was trained on 256)
STRIDE = 96  # tokens shared by consecutive windows of one context
MAX_QUESTION_TOKENS = 64
CLS, SEP = 101, 102  # BERT's [CLS] and [SEP] ids in the MiniLM vocabulary


@dataclass(frozen=True)
class Window:
    """One reader input. ``offsets[i]`` is the ``[start, end)`` character span of token ``i`` in the
    context, or ``(-1, -1)`` for the question and special tokens."""

    context: int  # which context of the batch this window reads
    ids: np.ndarray  # int64 token ids
    types: np.ndarray  # int64 token types: 0 question, 1 context
    offsets: np.ndarray  # (len, 2) int64 character offsets into the context

    @property
    def first_context_token(self) -> int:
        return int(np.argmax(self.types))


def plain(tok: Tokenizer) -> Tokenizer:
    """The tokenizer without the truncation and padding that the model's tokenizer.json asks for
    (128 tokens, padded): windows are cut here, with their stride, and padded per batch."""
    tok.no_truncation()
    tok.no_padding()
    return tok


def _check(tok: Tokenizer) -> None:
    if tok.truncation is not None or tok.padding is not None:
        raise ValueError("the reader's tokenizer must not truncate or pad; pass it through plain()")


def _tokens(tok: Tokenizer, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    enc = tok.encode(text, add_special_tokens=False)
    return enc.ids, enc.offsets


def question_ids(tok: Tokenizer, question: str) -> list[int]:
    return _tokens(tok, question)[0][:MAX_QUESTION_TOKENS]


def windows(tok: Tokenizer, question: str, contexts: list[str], *, max_length: int = MAX_LENGTH,
            stride: int = STRIDE) -> list[Window]:
    """All windows of ``question`` against each context, in context order."""
    _check(tok)
    q = question_ids(tok, question)
    room = max_length - len(q) - 3
    step = max(room - stride, 1)
    head = [CLS] + q + [SEP]
    out: list[Window] = []
    for ci, ctx_tokens in enumerate(tok.encode_batch(contexts, add_special_tokens=False)):
        ids, offs = ctx_tokens.ids, ctx_tokens.offsets
        first = 0
        while True:
            piece = slice(first, first + room)
            n = len(ids[piece])
            out.append(Window(
                ci,
                np.array(head + ids[piece] + [SEP], dtype=np.int64),
                np.array([0] * len(head) + [1] * (n + 1), dtype=np.int64),
                np.array([(-1, -1)] * len(head) + list(offs[piece]) + [(-1, -1)], dtype=np.int64)))
            if first + room >= len(ids):
                break
            first += step
    return out


def batch(ws: list[Window]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Padded ids, types and attention mask for a list of windows."""
    n, t = len(ws), max(len(w.ids) for w in ws)
    ids = np.zeros((n, t), dtype=np.int64)
    types = np.zeros((n, t), dtype=np.int64)
    mask = np.zeros((n, t), dtype=np.int64)
    for i, w in enumerate(ws):
        ids[i, :len(w.ids)] = w.ids
        types[i, :len(w.ids)] = w.types
        mask[i, :len(w.ids)] = 1
    return ids, types, mask
