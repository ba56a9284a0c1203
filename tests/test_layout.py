"""The seam between indexing and answering, and between the library and the web chat, as
import-linter contracts (``[tool.importlinter]`` in pyproject.toml)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    linter = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(linter), "--no-cache"], cwd=root, capture_output=True, text=True,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, timeout=300)


def test_the_layout_contracts_hold():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


def test_an_import_across_the_seam_breaks_a_contract(tmp_path):
    """The contracts are live: the indexing side importing the reader, or the library importing
    the web chat, fails the check."""
    for name in ("qa", "ui"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("*.safetensors", "__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    fusion = tmp_path / "qa" / "index" / "fusion.py"
    fusion.write_text(fusion.read_text() + "\nfrom ..reader import model  # noqa\n")
    scoring = tmp_path / "qa" / "scoring.py"
    scoring.write_text(scoring.read_text() + "\nimport ui.render  # noqa\n")
    done = lint_imports(tmp_path)
    assert done.returncode == 1
    assert "0 kept, 2 broken" in done.stdout
    assert "qa.index.fusion -> qa.reader.model" in done.stdout and "qa.scoring -> ui.render" in done.stdout
