"""Import direction: the answering modules take their collaborators explicitly and never reach
back into the engine, the conversation or the UI; a question never imports torch."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

ANSWERING = ["answer", "scoring", "support", "spans", "values", "question", "answer_types",
             "reader/model", "reader/windows", "reader/__init__"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


@pytest.mark.parametrize("module", ANSWERING)
def test_answering_never_imports_engine_conversation_or_ui(module):
    names = imported_modules(ROOT / "qa" / f"{module}.py")
    for name in names:
        last = name.lstrip(".").split(".")
        assert not {"engine", "conversation", "cli", "ui", "torch", "transformers"} & set(last), (module, name)


def test_library_never_imports_ui():
    # qa/cli.py is an adapter like ui/ itself: `qa serve` starts the web app.
    for path in (p for p in (ROOT / "qa").rglob("*.py") if p.name != "cli.py"):
        assert not any(n == "ui" or n.startswith("ui.") for n in imported_modules(path)), path


def test_answering_a_question_imports_no_torch(tmp_path):
    code = ("import sys, qa.engine, qa.answer, qa.reader, qa.conversation; "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.split() == ["False", "False"]


def _loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``statement``."""
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(out.stdout.split())


ANSWERING_SIDE = ("qa.answer", "qa.answer_types", "qa.engine", "qa.reader", "qa.conversation", "scipy", "onnx",
                  "onnxruntime", "faiss", "torch")


@pytest.mark.parametrize("statement", ["import qa.index.fusion", "import qa", "import qa.cli"])
def test_importing_qa_or_the_indexing_side_loads_no_answering_module(statement):
    loaded = _loaded_after(statement)
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in ANSWERING_SIDE))
    assert heavy == [], heavy


def test_qa_still_exports_its_public_names():
    import qa
    from qa.answer_types import Answer
    from qa.engine import Engine
    from qa.index.retriever import Hit

    assert {n for n in qa.__all__ if not hasattr(qa, n)} == set()
    assert (qa.Engine, qa.Answer, qa.Hit) == (Engine, Answer, Hit)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        qa.nope  # noqa: B018
