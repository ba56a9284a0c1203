"""The README's example sessions are what the tool prints.

Each ```text block that starts with ``$ qa ask ...`` is run on a fresh index of seeds/ (built the
way a new user's first ``qa ask`` builds it) and its output compared line for line. The same output
is expected on every CPU: the answers must not depend on the encodings the CPU gets, so each session
also runs as on a CPU without AVX-512 (QA_CPU=avx2: int8 documents with unsigned weights, the
unsigned int8 reader), whatever this machine has.
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_cli import qa

SESSION = re.compile(r"```text\n\$ qa (ask [^\n]+)\n(.*?)```", re.DOTALL)


def readme_sessions() -> list[tuple[str, str]]:
    return SESSION.findall((ROOT / "README.md").read_text(encoding="utf-8"))


@pytest.fixture(scope="module", params=["native", "avx2"])
def cpu_kind(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def fresh_index(tmp_path_factory, cpu_kind) -> Path:
    return tmp_path_factory.mktemp(f"readme-{cpu_kind}") / "index"


def test_the_readme_shows_what_qa_ask_prints_for_its_examples():
    commands = [command for command, _ in readme_sessions()]
    assert 'ask "How many Venezuelan soldiers were killed?"' in commands, commands  # the first example


@pytest.mark.parametrize("command, printed", readme_sessions())
def test_readme_session(command: str, printed: str, cpu_kind: str, fresh_index: Path, monkeypatch):
    monkeypatch.setenv("QA_CPU", cpu_kind)
    result = qa(*shlex.split(command), index=fresh_index)
    assert result.returncode == 0, result.stderr
    if cpu_kind == "avx2":  # the index really holds what a CPU without AVX-512 gets
        manifest = json.loads((fresh_index / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["embedding"]["precision"] == "int8u", manifest["embedding"]
    assert result.stdout.rstrip("\n") == printed.rstrip("\n")
