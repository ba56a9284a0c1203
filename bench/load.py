"""Load on the web chat: concurrent clients asking questions over loopback.

``python -m bench.load`` starts ``python -m ui`` on a free port over a copy of the seeds, then
``--clients`` threads each open their own client (``gradio_client.Client``, or the same HTTP calls
made with urllib: ``--client``) and ask ``--questions`` questions from ``seeds/questions.jsonl``
through the ``/ask`` API, one after another, all clients at once. Every answer is checked (JSON
with the contract's keys, each quote equal to its document's characters ``[start:end]``); anything
else counts as an error. The server's resident
memory is sampled throughout; ``--rounds`` repeats the load so that growth between rounds shows.

Writes ``bench/results/<date>-load-<client>.md`` and ``.json``. A benchmark, not a test: the latency goal
(p95 <= 1 s on 2 cores) depends on what else the machine is doing, recorded as the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

import psutil

from tests.ui_server import SEEDS, Server, start_server, stop_server

RESULTS = Path(__file__).resolve().parent / "results"
ANSWER_KEYS = {"question", "answered", "answer", "quotes", "conflict", "passages"}
SAMPLE_EVERY_S = 0.25
CLIENTS = {"gradio": "gradio_client", "raw": "plain-HTTP (urllib)",
           "stateless": "plain-HTTP (a new session per call, like curl)"}


@dataclass(frozen=True)
class Call:
    client: int
    round: int
    at: float  # time.perf_counter() when the call was sent
    seconds: float
    error: str | None


@dataclass(frozen=True)
class MemorySample:
    t: float
    rss_mb: float


def questions(count: int, offset: int) -> list[str]:
    rows = [json.loads(line) for line in (SEEDS / "questions.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    asked = [r["question"] for r in rows]
    return [asked[(offset + i) % len(asked)] for i in range(count)]


def check(raw: object, docs: dict[str, str]) -> str | None:
    """None when ``raw`` is a well-formed, verbatim answer; otherwise what is wrong with it."""
    if not isinstance(raw, str):
        return f"not a JSON string: {type(raw).__name__}"
    try:
        got = json.loads(raw)
    except json.JSONDecodeError as exc:
        return f"not JSON: {exc}"
    missing = ANSWER_KEYS - set(got)
    if missing:
        return f"missing keys {sorted(missing)}"
    for q in got["quotes"]:
        text = docs.get(Path(q["path"]).name)
        if text is None or text[q["start"]:q["end"]] != q["text"]:
            return f"quote not verbatim at {q['path']}[{q['start']}:{q['end']}]"
    return None


def server_rss_mb(pid: int) -> float:
    proc = psutil.Process(pid)
    procs = [proc, *proc.children(recursive=True)]
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children so far."""
    procs = [psutil.Process(pid)]
    procs += procs[0].children(recursive=True)
    return sum(sum(p.cpu_times()[:2]) for p in procs)


def sample_memory(pid: int, started: float, stop: threading.Event, out: list[MemorySample]) -> None:
    while not stop.is_set():
        out.append(MemorySample(round(time.perf_counter() - started, 2), round(server_rss_mb(pid), 1)))
        stop.wait(SAMPLE_EVERY_S)


class RawClient:
    """The same /ask call as gradio_client makes (POST the inputs, then read the event stream), with
    urllib: a few ms of client CPU, so that what is measured is the server rather than the clients.
    Like gradio's own clients it keeps one session for all its calls."""

    def __init__(self, url: str, *, keep_session: bool = True):
        self._url = url
        self._session = uuid.uuid4().hex if keep_session else None

    def predict(self, *inputs: object, api_name: str) -> object:
        body = json.dumps({"data": list(inputs), "session_hash": self._session or uuid.uuid4().hex}).encode()
        request = urllib.request.Request(f"{self._url}gradio_api/call{api_name}", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as r:
            event_id = json.loads(r.read())["event_id"]
        with urllib.request.urlopen(f"{self._url}gradio_api/call{api_name}/{event_id}", timeout=120) as r:
            event = None
            for line in r:
                text = line.decode("utf-8").rstrip("\n")
                if text.startswith("event: "):
                    event = text[len("event: "):]
                elif text.startswith("data: ") and event in ("complete", "error"):
                    data = json.loads(text[len("data: "):])
                    if event == "error":
                        raise RuntimeError(f"the server said: {data}")
                    return data[0]
        raise RuntimeError("the event stream ended without a result")

    def close(self) -> None:
        pass


def make_client(kind: str, url: str):
    if kind in ("raw", "stateless"):
        return RawClient(url, keep_session=kind == "raw")
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False)


def client_run(server: Server, kind: str, client_no: int, round_no: int, asked: Sequence[str],
               docs: dict[str, str], start: threading.Barrier) -> list[Call]:
    client = make_client(kind, server.url)
    start.wait()
    calls = []
    for question in asked:
        t = time.perf_counter()
        try:
            error = check(client.predict(question, "hybrid", 5, None, api_name="/ask"), docs)
        except Exception as exc:  # noqa: BLE001 - every failure is a data point, not a crash of the run
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        calls.append(Call(client_no, round_no, t, time.perf_counter() - t, error))
    client.close()
    return calls


def percentile(values: Sequence[float], q: float) -> float:
    return float(statistics.quantiles(values, n=100, method="inclusive")[q - 1]) if len(values) > 1 else values[0]


def run(kind: str, clients: int, per_client: int, rounds: int, workdir: Path) -> dict:
    server = start_server(workdir, Path(os.environ.get("QA_CACHE_DIR", workdir / "cache")))
    docs = {p.name: p.read_text(encoding="utf-8") for p in server.docs.iterdir() if p.is_file()}
    stop = threading.Event()
    try:
        warm = make_client(kind, server.url)  # the first answer loads the model
        warm.predict("How many Cuban soldiers were killed?", "hybrid", 5, None, api_name="/ask")  # threshold None: the calibrated one
        warm.close()
        memory: list[MemorySample] = []
        started = time.perf_counter()
        sampler = threading.Thread(target=sample_memory, args=(server.process.pid, started, stop, memory),
                                   daemon=True)
        sampler.start()
        calls: list[Call] = []
        round_marks = []
        server_cpu, own_cpu = cpu_seconds(server.process.pid), time.process_time()
        for r in range(rounds):
            barrier = threading.Barrier(clients)
            with ThreadPoolExecutor(max_workers=clients) as pool:
                futures = [pool.submit(client_run, server, kind, c, r, questions(per_client, c * per_client),
                                       docs, barrier) for c in range(clients)]
                for f in futures:
                    calls.extend(f.result())
            round_marks.append({"round": r, "ended_s": round(time.perf_counter() - started, 2),
                                "rss_mb": round(server_rss_mb(server.process.pid), 1)})
        cpu = {"server_s": round(cpu_seconds(server.process.pid) - server_cpu, 1),
               "clients_s": round(time.process_time() - own_cpu, 1)}
        log_tail = server.log_text()[-2000:]
    finally:
        stop.set()
        stop_server(server)
    return {"calls": calls, "memory": memory, "rounds": round_marks, "cpu": cpu, "server_log_tail": log_tail}


def summarize(raw: dict, kind: str, clients: int, per_client: int, rounds: int) -> dict:
    calls: list[Call] = raw["calls"]
    seconds = [c.seconds for c in calls]
    errors = [c for c in calls if c.error]
    busy = sum(max(c.at + c.seconds for c in calls if c.round == r) - min(c.at for c in calls if c.round == r)
               for r in range(rounds))  # first question sent to last answer received, per round
    memory: list[MemorySample] = raw["memory"]
    rss = [m.rss_mb for m in memory]
    per_round = []
    for r in range(rounds):
        secs = [c.seconds for c in calls if c.round == r]
        per_round.append({"round": r, "p50_s": round(statistics.median(secs), 3),
                          "p95_s": round(percentile(secs, 95), 3), **raw["rounds"][r]})
    return {
        "date": date.today().isoformat(), "client": kind, "clients": clients,
        "questions_per_client": per_client, "rounds": rounds,
        "requests": len(calls), "errors": len(errors), "error_examples": sorted({e.error for e in errors})[:5],
        "latency_s": {"p50": round(statistics.median(seconds), 3), "p95": round(percentile(seconds, 95), 3),
                      "p99": round(percentile(seconds, 99), 3), "max": round(max(seconds), 3)},
        "throughput_per_s": round(len(calls) / busy, 1),
        "cpu_ms_per_answer": {"server": round(1000 * raw["cpu"]["server_s"] / len(calls), 1),
                              "clients": round(1000 * raw["cpu"]["clients_s"] / len(calls), 1)},
        "per_round": per_round,
        "memory_mb": {"first": rss[0], "max": max(rss), "last": rss[-1],
                      "growth_last_round_mb": round(raw["rounds"][-1]["rss_mb"] - raw["rounds"][0]["rss_mb"], 1)
                      if rounds > 1 else None},
        "memory_samples": [asdict(m) for m in memory],
        "server_log_tail": raw["server_log_tail"] if errors else "",
        "machine": {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
                    "python": sys.version.split()[0]},
    }


def markdown(res: dict) -> str:
    lat, mem = res["latency_s"], res["memory_mb"]
    lines = [f"# Web chat load — {res['date']}", "",
             f"{res['clients']} {CLIENTS[res['client']]} clients × {res['questions_per_client']} questions × "
             f"{res['rounds']} round(s) = {res['requests']} `/ask` calls over loopback, all clients at once, "
             f"on {res['machine']['cpus']} cores (load average after the run {res['machine']['load_average']}). "
             "Clients run in the same machine as the server, so they share its cores.", "",
             "| figure | goal | measured |", "|---|---|---|",
             f"| errors (exceptions, malformed JSON, quotes not verbatim) | 0 | {res['errors']} |",
             f"| latency p50 / p95 / p99 / max | p95 ≤ 1 s | {lat['p50']} / {lat['p95']} / {lat['p99']} / "
             f"{lat['max']} s |",
             f"| throughput | — | {res['throughput_per_s']} answers/s |",
             f"| CPU per answer: server / the clients | — | {res['cpu_ms_per_answer']['server']} / "
             f"{res['cpu_ms_per_answer']['clients']} ms |",
             f"| server memory first / max / last sample | flat | {mem['first']} / {mem['max']} / {mem['last']} MB |",
             ]
    if mem["growth_last_round_mb"] is not None:
        lines.append(f"| server memory growth, end of round 1 to end of last round | ≈ 0 | "
                     f"{mem['growth_last_round_mb']} MB |")
    lines += ["", "| round | p50 s | p95 s | ended at s | server RSS MB |", "|---|---|---|---|---|"]
    lines += [f"| {r['round'] + 1} | {r['p50_s']} | {r['p95_s']} | {r['ended_s']} | {r['rss_mb']} |"
              for r in res["per_round"]]
    if res["error_examples"]:
        lines += ["", "Errors seen: " + "; ".join(f"`{e}`" for e in res["error_examples"])]
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    p.add_argument("--questions", type=int, default=50, help="questions per client per round (default 50)")
    p.add_argument("--rounds", type=int, default=2, help="times the whole load is repeated (default 2)")
    p.add_argument("--client", choices=CLIENTS, default="gradio",
                   help="gradio: gradio_client.Client (default); raw: the same API calls with urllib, "
                        "which cost the shared cores far less CPU; stateless: raw, with a new session "
                        "for every call, as scripts without a session do (the server's memory worst case)")
    p.add_argument("--out", type=Path, default=RESULTS, help="results folder (default bench/results)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="qa-load-") as work:
        raw = run(args.client, args.clients, args.questions, args.rounds, Path(work))
    res = summarize(raw, args.client, args.clients, args.questions, args.rounds)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{res['date']}-load-{args.client}"
    stem.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(markdown(res), encoding="utf-8")
    print(markdown(res))
    return 0 if res["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
