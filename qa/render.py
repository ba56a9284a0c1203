"""Human-readable text for answers (the CLI); the web app renders its own escaped HTML."""
from __future__ import annotations

import textwrap
from pathlib import Path

from .answer_types import ABSTAIN_TEXT, Answer

WIDTH = 88


def _flat(text: str) -> str:
    return " ".join(text.split())


def count(n: int, noun: str) -> str:
    """ "1 document", "2 documents", "1,204 passages"."""
    return f"{n:,} {noun if n == 1 else noun + 's'}"


def citation(n: int, quote) -> str:
    title = "" if quote.title == Path(quote.path).name else f"{quote.title} — "
    place = f"{quote.place}, " if quote.place else ""
    return f"[{n}] {title}{quote.path}, {place}characters {quote.start}–{quote.end}"


def answer_text(answer: Answer) -> str:
    lines: list[str] = []
    if not answer.answered:
        lines.append(ABSTAIN_TEXT)
        if answer.passages:
            lines.append("Nearest passages:")
            for h in answer.passages[:3]:
                snippet = textwrap.shorten(_flat(h.text), 200, placeholder=" …")
                place = f"{h.place}, " if h.place else ""
                lines.append(f"  - {h.document.path}, {place}characters {h.passage.start}–{h.passage.end}: {snippet}")
        return "\n".join(lines)
    lines.append(f"Answer: {answer.answer}")
    if answer.conflict:
        values = "; ".join(f"“{v.answer}” ({', '.join(f'[{i + 1}]' for i in v.quotes)})"
                           for v in answer.values)
        lines.append(f"Sources differ: {values}")
    for n, q in enumerate(answer.quotes, start=1):
        body = textwrap.fill(f"“{_flat(q.text)}”", WIDTH, initial_indent=f"  [{n}] ",
                             subsequent_indent="      ")
        lines.append(body)
    lines.append("")
    lines += [citation(n, q) for n, q in enumerate(answer.quotes, start=1)]
    return "\n".join(lines)
