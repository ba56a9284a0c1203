"""Which documents agree with the answer and which give a different value for the same fact.

Each other document's best span that gives the same value is cited beside the answer; a
document whose own confident best span gives a different value for a question that asks for a
value is shown side by side and flagged as a conflict.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .values import number_value, same_value

# Set by design, not fitted: a supporting span may be much less sure than the answer itself (the
# fact is already established, and its value must match the answer's), down to a quarter of the
# abstention threshold; a conflicting one must be at least as sure as an answer would be, and
# never below an even chance. Checked on the seeds' dev split (`qa eval --split dev`, 2026-11-24):
# a quarter rather than half cites every document holding the fact for 41% of the answerable
# questions instead of 30%, citation accuracy staying 1.0; with no floor it fell to 0.97.
SUPPORT_SHARE = 0.25
CONFLICT_MIN_P = 0.5


@dataclass(frozen=True)
class Scored:
    """A candidate answer span as support sees it."""

    doc_id: str
    value: str
    probability: float
    heading: bool  # it lies in a headline


@dataclass(frozen=True)
class Selection:
    chosen: tuple[int, ...]  # indices into the candidates: the answer first, then support and conflict
    conflict: bool


def _prefer_body(best: int, cands: Sequence[Scored], floor: float, among: Sequence[int] | None = None) -> int:
    """A headline is not quoted alone when a body sentence gives the same value."""
    if not cands[best].heading:
        return best
    for i in among if among is not None else range(len(cands)):
        c = cands[i]
        if not c.heading and c.probability >= floor and same_value(c.value, cands[best].value):
            return i
    return best


def select(cands: Sequence[Scored], threshold: float, asks_value: bool) -> Selection:
    """``cands`` sorted best first; the first is the answer (already above ``threshold``)."""
    floor = threshold * SUPPORT_SHARE
    best = _prefer_body(0, cands, floor)
    value = cands[best].value
    numeric = number_value(value) is not None
    chosen, conflict = [best], False
    for doc_id in dict.fromkeys(c.doc_id for c in cands):
        if doc_id == cands[best].doc_id:
            continue
        mine = [i for i, c in enumerate(cands) if c.doc_id == doc_id]
        same = [i for i in mine if cands[i].probability >= floor and same_value(cands[i].value, value)]
        top = _prefer_body(mine[0], cands, floor, mine)
        differs = not same_value(cands[top].value, value)
        confident = cands[top].probability >= max(threshold, CONFLICT_MIN_P) and not cands[top].heading
        if same and not (differs and confident and cands[top].probability > cands[same[0]].probability):
            chosen.append(same[0])
        elif differs and confident and (asks_value or (numeric and number_value(cands[top].value) is not None)):
            chosen.append(top)
            conflict = True
    return Selection(tuple(chosen), conflict)
