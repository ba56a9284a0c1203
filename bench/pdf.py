"""PDF reading speed and memory: pages per second of ``qa.index.pdf`` and a 500-page PDF indexed.

    python -m bench.pdf                     # 50- and 500-page PDFs, one and two columns
    python -m bench.pdf --pages 500 --runs 3

PDFs are written with reportlab (the tests' generator, tests/docgen.py: news paragraphs, running
header, page numbers, two columns where asked) into ``--work``. Reading is timed as the library
does it (``read_pdf``: a child process with its memory limit), median of ``--runs``; the child's
peak RSS is its ``ru_maxrss``. The 500-page PDF is then indexed end to end by ``qa index`` in a
fresh process (real embeddings), whose peak RSS, children included, is the figure the 1 GB target
is about. Results go to bench/results/<date>-pdf.{md,json}.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PARAGRAPHS = [
    "Harbour officials said on Tuesday that the new ferry terminal would open in March, after two years of "
    "delays caused by flooding and a dispute over the contract with the builder.",
    "The mayor told reporters that the final cost was 41 million euros, well above the first estimate. She "
    "said the city would not pay the builder any penalty for the delay.",
    "Residents of the old quarter have complained about the noise for months. A petition signed by 3,200 "
    "people asked the council to limit work to daytime hours.",
    "The terminal will handle up to 12 ferries a day and is expected to carry 900,000 passengers a year once "
    "the second pier is finished in the autumn.",
]
TARGET_RSS_MB = 1024


def write(path: Path, pages: int, columns: int) -> int:
    """A PDF of at least ``pages`` pages; returns its page count."""
    sys.path.insert(0, str(ROOT))
    import pypdfium2 as pdfium

    from tests.docgen import write_pdf

    count, got = 8 * columns * pages, 0  # paragraphs: a first guess, then scaled to what one page holds
    for _ in range(3):
        write_pdf(path, [f"Report {i}. " + PARAGRAPHS[i % len(PARAGRAPHS)] for i in range(count)], columns=columns)
        pdf = pdfium.PdfDocument(str(path))
        got = len(pdf)
        pdf.close()
        if got >= pages:
            break
        count = int(count * pages / got) + 4 * columns
    return got


def child_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def read_runs(path: Path, runs: int) -> dict:
    from qa.index.pdf import read_pdf

    walls = []
    for _ in range(runs):
        t = time.perf_counter()
        text, layout = read_pdf(path, str(path))
        walls.append(time.perf_counter() - t)
    return {"wall_s": walls, "median_s": statistics.median(walls), "chars": len(text),
            "lines": len(layout.lines), "pages": len(layout.page_sizes)}


def index_once(path: Path, work: Path) -> dict:
    """``qa index`` of a folder holding only ``path``, in a fresh process: wall and peak RSS
    (the build process and, separately, its PDF reading child)."""
    docs = work / f"docs-{path.stem}"
    docs.mkdir(parents=True, exist_ok=True)
    target = docs / path.name
    if not target.exists():
        target.symlink_to(path)
    index = work / f"index-{path.stem}"
    script = ("import resource, subprocess, sys, time, json\n"
              "t = time.perf_counter()\n"
              f"done = subprocess.run([sys.executable, '-m', 'qa', '--index-dir', {str(index)!r}, 'index', {str(docs)!r}],"
              " capture_output=True, text=True)\n"
              "wall = time.perf_counter() - t\n"
              "print(json.dumps({'rc': done.returncode, 'wall_s': wall, 'stderr': done.stderr[-400:],"
              " 'peak_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n")
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def markdown(res: dict) -> str:
    lines = [f"# PDF reading — {res['date']}", "",
             f"Machine: {res['machine']}; load average {res['load_before']} at start, {res['load_after']} at end "
             "(the cores are shared with other work).", "",
             f"Command: `{res['command']}`.", "",
             "| PDF | pages | columns | characters | read wall median (s) | pages/s | runs (s) |",
             "|---|---|---|---|---|---|---|"]
    for r in res["reads"]:
        lines.append(f"| {r['name']} | {r['pages']} | {r['columns']} | {r['chars']:,} | {r['median_s']:.2f} | "
                     f"**{r['pages'] / r['median_s']:.1f}** | {', '.join(f'{w:.2f}' for w in r['wall_s'])} |")
    lines += ["", f"Peak RSS of a reading child process (largest seen): {res['child_peak_mb']:.0f} MB "
                  f"(its limit: qa.index.pdf.MEMORY_LIMIT_BYTES).", ""]
    if res.get("index"):
        i = res["index"]
        ok = "pass" if i["peak_mb"] <= TARGET_RSS_MB and i["rc"] == 0 else "FAIL"
        lines += [f"`qa index` of the {i['pages']}-page PDF from an empty index, fresh process: exit {i['rc']}, "
                  f"{i['wall_s']:.1f} s, peak RSS of the largest process {i['peak_mb']:.0f} MB "
                  f"(target ≤ {TARGET_RSS_MB} MB: **{ok}**)."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pdf", description=__doc__.split("\n\n")[0])
    p.add_argument("--pages", type=int, nargs="+", default=[50, 500])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--work", type=Path, default=Path("/tmp/qa-bench/pdf"))
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument("--no-index", action="store_true", help="skip indexing the largest PDF")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    import platform

    res = {"date": dt.date.today().isoformat(), "command": "python -m bench.pdf " + " ".join(argv or sys.argv[1:]),
           "machine": f"{os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}",
           "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()), "reads": []}
    for pages in args.pages:
        for columns in (1, 2):
            path = args.work / f"news-{pages}p-{columns}col.pdf"
            n = write(path, pages, columns) if not path.exists() else None
            r = read_runs(path, args.runs)
            r.update(name=path.name, columns=columns, pages=n or r["pages"])
            res["reads"].append(r)
            print(f"{path.name}: {r['pages'] / r['median_s']:.1f} pages/s", flush=True)
    res["child_peak_mb"] = child_peak_mb()
    if not args.no_index:
        largest = args.work / f"news-{max(args.pages)}p-2col.pdf"
        res["index"] = dict(index_once(largest, args.work), pages=max(args.pages))
        print(f"qa index: {res['index']}", flush=True)
    res["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{res['date']}-pdf"
    stem.with_suffix(".json").write_text(json.dumps(res, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(res))
    print(markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
