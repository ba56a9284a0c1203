"""The README's example sessions are what the tool prints.

Each ```text block that starts with ``$ qa ask ...`` is run on a fresh index of seeds/ (built the
way a new user's first ``qa ask`` builds it) and its output compared line for line. The same output
is expected on every CPU: the answers must not depend on the document encoding the CPU gets.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from .conftest import ROOT
from .test_cli import qa

SESSION = re.compile(r"```text\n\$ qa (ask [^\n]+)\n(.*?)```", re.DOTALL)


def readme_sessions() -> list[tuple[str, str]]:
    return SESSION.findall((ROOT / "README.md").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def fresh_index(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readme") / "index"


def test_the_readme_shows_what_qa_ask_prints_for_its_examples():
    commands = [command for command, _ in readme_sessions()]
    assert 'ask "How many Venezuelan soldiers were killed?"' in commands, commands  # the first example


@pytest.mark.parametrize("command, printed", readme_sessions())
def test_readme_session(command: str, printed: str, fresh_index: Path):
    result = qa(*shlex.split(command), index=fresh_index)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n") == printed.rstrip("\n")
