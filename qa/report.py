"""Showing an evaluation: the terminal table, and an HTML page with PNG charts.

Charts are drawn with matplotlib's object API on the Agg canvas (no pyplot, no display needed).
Everything taken from documents or questions is HTML-escaped.
"""
from __future__ import annotations

import html
from pathlib import Path

from .metrics import RETRIEVAL_METRICS, Metrics, SquadFigures

ROWS = (  # (label, attribute or retrieval metric, section)
    ("Recall@1", "recall@1", "retrieval"), ("Recall@3", "recall@3", "retrieval"),
    ("Recall@5", "recall@5", "retrieval"), ("MRR@10", "mrr@10", "retrieval"), ("nDCG@10", "ndcg@10", "retrieval"),
    ("containment", "containment", "answers"), ("grounded top quote", "grounded", "answers"),
    ("exact match", "exact_match", "answers"),
    ("token F1", "f1", "answers"), ("citation accuracy", "citation_accuracy", "answers"),
    ("multi-source coverage", "multi_source_coverage", "answers"),
    ("abstention precision", "abstention_precision", "answers"),
    ("abstention recall", "abstention_recall", "answers"),
    ("wrongly abstained", "wrongly_abstained", "answers"), ("verbatim quotes", "verbatim", "answers"),
    ("latency median ms", "latency_median_ms", "latency"), ("latency p95 ms", "latency_p95_ms", "latency"),
)
SQUAD_ROWS = (  # (label, SquadFigures attribute, the count shown beside it)
    ("HasAns exact", "has_ans_exact", "has_ans_total"), ("HasAns F1", "has_ans_f1", "has_ans_total"),
    ("NoAns accuracy", "no_ans_exact", "no_ans_total"), ("exact", "exact", "total"), ("F1", "f1", "total"),
    ("always abstain", "always_abstain", "total"),
)
SPLIT_COLUMNS = (("R@3", "recall@3"), ("MRR@10", "mrr@10"), ("contain", "containment"), ("F1", "f1"),
                 ("cite", "citation_accuracy"), ("abst-P", "abstention_precision"),
                 ("abst-R", "abstention_recall"))
LABEL = 24
COLUMN = 9


def value(m: Metrics, name: str) -> float | None:
    return m.retrieval.get(name) if name in RETRIEVAL_METRICS else getattr(m, name)


def _fmt(v: float | None, name: str = "") -> str:
    if v is None:
        return "n/a"
    return f"{v:.0f}" if name.startswith("latency") else f"{v:.3f}"


def _row(label: str, cells: list[str], width: int = COLUMN) -> str:
    return f"{label:<{LABEL}}" + "".join(f"{c:>{width}}" for c in cells)


def render_table(ev) -> str:
    """The human summary: one column per mode, then accuracy by kind and by split."""
    modes = list(ev.modes)
    first = ev.metrics[modes[0]]
    threshold = f", threshold {ev.threshold:g}" if ev.threshold is not None else ""
    lines = [f"{ev.file}{f' (split {ev.split})' if ev.split else ''}: {first.questions} questions, "
             f"{first.answerable} answerable, {first.unanswerable} unanswerable; k={ev.k}{threshold}",
             *setup_lines(ev), "", _row("", modes)]
    section = None
    for label, name, sect in ROWS:
        if sect != section:
            section = sect
            head = {"retrieval": f"retrieval ({first.retrieval_questions} answerable questions)",
                    "answers": "answers", "latency": "latency of ask"}[sect]
            lines.append(head)
        lines.append(_row("  " + label, [_fmt(value(ev.metrics[m], name), name) for m in modes]))
    if first.squad is not None:
        lines += _squad_lines(ev)
    lines.append("accuracy by kind (containment; abstention for unanswerable)")
    for kind, (n, _) in first.kinds.items():
        lines.append(_row(f"  {kind} ({n})", [_fmt(ev.metrics[m].kinds[kind][1]) for m in modes]))
    if ev.by_split:
        splits = sorted(next(iter(ev.by_split.values())))
        lines += ["", "by split", _row("", [short for short, _ in SPLIT_COLUMNS], 8)]
        for m in modes:
            for sp in splits:
                n = ev.by_split[m][sp].questions
                lines.append(_row(f"  {m} {sp} ({n})",
                                  [_fmt(value(ev.by_split[m][sp], name)) for _, name in SPLIT_COLUMNS], 8))
    if "hybrid" in modes and len(modes) > 1:
        lines += ["", _hybrid_line(ev)]
    lines.append("Recall@k: share of answerable questions with a passage that holds a gold answer in a gold "
                 "document among the top k.")
    lines.append("grounded top quote: share of answerable questions whose top quote holds a gold answer and "
                 "comes from a gold document.")
    return "\n".join(lines)


DOCUMENTS_PRINTED = 10  # the terminal lists this many documents and counts the rest


def indexed_line(ev) -> str:
    """What was indexed: "2 documents from seeds (the folder holding the question set)"."""
    st = ev.setup
    n = len(st.documents)
    what = f"{n:,} document{'s' * (n != 1)}"
    where = f" from {', '.join(st.sources)}" if st.sources else ""
    return f"{what}{where} ({st.corpus})" if st.corpus else f"{what}{where}"


def setup_lines(ev) -> list[str]:
    """The header's account of the corpus: what was indexed, where the index is, each document."""
    st = ev.setup
    if st is None:
        return []
    lines = [f"indexed: {indexed_line(ev)}", f"index: {st.index}"]
    squad = not st.sources  # a temporary corpus: its paths say nothing, its file names are the ids
    for path, title in st.documents[:DOCUMENTS_PRINTED]:
        name = Path(path).name
        shown = name if squad else path
        lines.append(f"  {shown}" if title == name else f"  {shown} — {title}")
    more = len(st.documents) - DOCUMENTS_PRINTED
    if more > 0:
        lines.append(f"  … and {more:,} more")
    return lines


def _squad_lines(ev) -> list[str]:
    """The official SQuAD 2.0 figures, in percent as the official script prints them."""
    first = ev.metrics[ev.modes[0]].squad
    lines = ["SQuAD 2.0 official (percent; always abstain: exact = F1 if every answer were \"\")"]
    for label, name, count in SQUAD_ROWS:
        cells = [_pct(getattr(ev.metrics[m].squad, name)) for m in ev.modes]
        lines.append(_row(f"  {label} ({getattr(first, count)})", cells))
    return lines


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _hybrid_line(ev) -> str:
    singles = [(value(ev.metrics[m], "recall@3"), m) for m in ev.modes if m != "hybrid"]
    singles = [(v, m) for v, m in singles if v is not None]
    hybrid = value(ev.metrics["hybrid"], "recall@3")
    if not singles or hybrid is None:
        return "Recall@3: n/a"
    best, mode = max(singles)
    return f"Recall@3: hybrid {hybrid:.3f} vs best single mode ({mode}) {best:.3f} ({hybrid - best:+.3f})"


# -- HTML report --------------------------------------------------------------------------------
def write_report(ev, folder: Path) -> Path:
    """Write ``index.html`` and its charts into ``folder``; returns the page's path."""
    folder.mkdir(parents=True, exist_ok=True)
    charts = [("recall_at_k.png", "Recall@k per retrieval mode", _recall_chart),
              ("kind_accuracy.png", "Accuracy per question kind", _kind_chart),
              ("latency.png", "Latency of ask", _latency_chart)]
    for name, _, draw in charts:
        fig = draw(ev)
        fig.savefig(folder / name, dpi=110, bbox_inches="tight")
    e = html.escape
    parts = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>qa eval: {e(ev.file)}</title>", f"<style>{CSS}</style></head><body>",
             f"<h1>qa eval: {e(ev.file)}</h1>"]
    if ev.setup is not None:
        parts.append(_setup_html(ev))
    if ev.metrics[ev.modes[0]].squad is not None:
        parts.append(_squad_html(ev))
    parts.append(f"<pre>{e(render_table(ev))}</pre>")
    for name, title, _ in charts:
        parts.append(f'<figure><img src="{name}" alt="{e(title)}"><figcaption>{e(title)}</figcaption></figure>')
    failed = [r for r in ev.results if not r.scored.judgement.correct or r.scored.judgement.problems]
    parts.append(f"<h2>Failed questions ({len(failed)} of {len(ev.results)} answers)</h2>")
    parts.append("<table><tr><th>id</th><th>mode</th><th>question</th><th>gold</th><th>returned</th></tr>")
    parts += [_failure_row(r) for r in failed]
    parts.append("</table></body></html>")
    page = folder / "index.html"
    page.write_text("\n".join(parts), encoding="utf-8")
    return page


def _setup_html(ev) -> str:
    """What was evaluated: date, question set, index, models, settings and the documents."""
    e, st = html.escape, ev.setup
    split = f", split {ev.split}" if ev.split else ""
    rows = [("date", st.date), ("questions", f"{ev.file} ({len(ev.questions)}{split})"),
            ("indexed", indexed_line(ev)), ("index", st.index), ("embedding model", st.embedding_model),
            ("reader", st.reader),
            ("settings", f"modes {', '.join(ev.modes)}; k {ev.k}; threshold {st.threshold:.4g}")]
    # A document without a headline is named by its file name, which its path already shows.
    docs = "".join(f"<li><small>{e(path)}</small></li>" if title == Path(path).name
                   else f"<li>{e(title)} <small>{e(path)}</small></li>"
                   for path, title in st.documents[:DOCUMENTS_LISTED])
    more = len(st.documents) - DOCUMENTS_LISTED
    docs += f"<li>\u2026 and {more:,} more</li>" if more > 0 else ""
    return ('<table class="setup">' + "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
            + f"<tr><th>documents ({len(st.documents):,})</th><td><ul>{docs}</ul></td></tr></table>")


def _squad_html(ev) -> str:
    """The official SQuAD 2.0 figures as an HTML table, one column per mode."""
    e = html.escape
    squads: list[SquadFigures] = [ev.metrics[m].squad for m in ev.modes]
    head = "".join(f"<th>{e(m)}</th>" for m in ev.modes)
    rows = [f"<tr><th>{e(label)} ({getattr(squads[0], count)})</th>"
            + "".join(f"<td>{_pct(getattr(sq, name))}</td>" for sq in squads) + "</tr>"
            for label, name, count in SQUAD_ROWS]
    return ("<h2>SQuAD 2.0 official figures (percent)</h2>"
            f'<table class=squad><tr><th></th>{head}</tr>{"".join(rows)}</table>'
            "<p><small>As the official evaluate-v2.0.py: HasAns over questions with gold answers, NoAns "
            "accuracy over those without, exact and F1 over all. Always abstain: the score had every "
            "answer been \"\".</small></p>")


DOCUMENTS_LISTED = 50  # a larger corpus is listed to this many and counted

CSS = ("body{font-family:sans-serif;max-width:72em;margin:2em auto;padding:0 1em}"
       "pre{background:#f6f6f6;padding:1em;overflow-x:auto}figure{display:inline-block;margin:1em}"
       "img{max-width:32em}table{border-collapse:collapse;width:100%}table.squad{width:auto}"
       "table.setup{width:auto;margin-bottom:1em}table.setup ul{margin:0;padding-left:1.2em}"
       "td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}"
       "blockquote{margin:.2em 0 .2em 1em;color:#333}.why{color:#a00}")


def _failure_row(r) -> str:
    e = html.escape
    g, j, a = r.scored.gold, r.scored.judgement, r.answer
    gold = e(" | ".join(g.answers)) if g.answers else "<i>unanswerable</i>"
    gold += f"<br><small>{e(', '.join(g.doc_ids))}</small>" if g.doc_ids else ""
    question = e(g.question) + (f"<br><small>understood as: {e(r.resolved)}</small>" if r.resolved != g.question else "")
    if a.answered:
        returned = f"<b>{e(a.answer or '')}</b>" + "".join(
            f"<blockquote>{e(q.text)}<br><small>{e(q.path)} [{q.start}:{q.end})</small></blockquote>" for q in a.quotes)
    else:
        returned = "<i>abstained</i>" + "".join(
            f"<blockquote>{e(h.text[:300])}<br><small>{e(h.document.path)} [{h.passage.start}:{h.passage.end})"
            f"</small></blockquote>" for h in a.passages[:2])
    why = "; ".join(j.problems) or ("should have abstained" if not g.answerable else
                                    "abstained" if j.abstained else "no gold answer in the top quote")
    return (f"<tr><td>{e(g.id)}</td><td>{e(r.scored.mode)}</td><td>{question}</td><td>{gold}</td>"
            f"<td>{returned}<div class=why>{e(why)}</div></td></tr>")


def _figure(width: float = 6.4, height: float = 3.6):
    from matplotlib.figure import Figure  # lazy; Figure.savefig uses the Agg canvas

    fig = Figure(figsize=(width, height))
    return fig, fig.add_subplot()


def _recall_chart(ev):
    fig, ax = _figure()
    ks = [1, 3, 5]
    for m in ev.modes:
        ys = [value(ev.metrics[m], f"recall@{k}") for k in ks]
        ax.plot(ks, [y if y is not None else float("nan") for y in ys], marker="o", label=m)
    ax.set(xlabel="k (passages)", ylabel="Recall@k", xticks=ks, ylim=(0, 1.05))
    ax.grid(alpha=.3)
    ax.legend()
    return fig


def _kind_chart(ev):
    kinds = list(ev.metrics[ev.modes[0]].kinds)
    fig, ax = _figure(max(6.4, 0.6 * len(kinds) * len(ev.modes)), 4)
    width = 0.8 / len(ev.modes)
    for i, m in enumerate(ev.modes):
        accs = [ev.metrics[m].kinds[k][1] or 0 for k in kinds]
        ax.bar([x + i * width for x in range(len(kinds))], accs, width, label=m)
    counts = ev.metrics[ev.modes[0]].kinds
    ax.set_xticks([x + width * (len(ev.modes) - 1) / 2 for x in range(len(kinds))],
                  [f"{k} ({counts[k][0]})" for k in kinds], rotation=30, ha="right")
    ax.set(ylabel="containment; abstention if unanswerable", ylim=(0, 1.05))
    ax.legend()
    return fig


def _latency_chart(ev):
    fig, ax = _figure()
    data = [[r.scored.latency_s * 1000 for r in ev.results if r.scored.mode == m] for m in ev.modes]
    ax.hist(data, bins=20, label=list(ev.modes), alpha=.8)
    ax.set(xlabel="ms per question", ylabel="questions")
    ax.legend()
    return fig
