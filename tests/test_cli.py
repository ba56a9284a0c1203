"""The real entry point, run as a subprocess: exit codes, one-line errors, JSON contracts."""
import json
import os
import subprocess
import sys

import pytest

from qa.index.store import data_dir

from .conftest import ROOT, read_file


def qa(*args, index=None, cwd=None, timeout=300, python=()):
    """``python -m qa ARGS``; ``python``: the interpreter's own options (``-X importtime``)."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    if index is not None:
        env["QA_INDEX_DIR"] = str(index)
    return subprocess.run([sys.executable, *python, "-m", "qa", *args], capture_output=True, text=True, env=env,
                          cwd=cwd or ROOT, timeout=timeout)


def one_line_error(result, code=1):
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_help_lists_every_command():
    result = qa("--help")
    assert result.returncode == 0
    for command in ("index", "search", "ask", "chat", "eval", "serve"):
        assert command in result.stdout
    for command in ("index", "search", "ask", "chat", "eval", "serve"):
        assert qa(command, "--help").returncode == 0


def test_search_json_hits_are_verbatim(own_index):
    index, docs = own_index
    result = qa("search", "How many Cuban soldiers were killed?", "--json", "--docs", str(docs), index=index)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["query"] == "How many Cuban soldiers were killed?" and data["mode"] == "hybrid"
    assert [h["rank"] for h in data["hits"]] == list(range(1, len(data["hits"]) + 1))
    for hit in data["hits"]:
        assert set(hit) == {"rank", "doc_id", "path", "start", "end", "text", "score"}
        assert hit["text"] == read_file(hit["path"])[hit["start"]:hit["end"]]
        assert "Leave a Reply" not in hit["text"]
    assert "32" in data["hits"][0]["text"]


@pytest.mark.parametrize("mode", ["bm25", "dense"])
def test_search_modes(own_index, mode):
    index, docs = own_index
    result = qa("search", "Rodriguez", "--mode", mode, "-k", "2", "--json", index=index)
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)["hits"]
    assert len(hits) == 2 and json.loads(result.stdout)["mode"] == mode
    if mode == "bm25":  # accent folding: the query reaches "Rodríguez"
        assert any("Rodríguez" in h["text"] for h in hits)


def test_ask_json_and_text(own_index):
    index, docs = own_index
    result = qa("ask", "How many Cuban soldiers were killed?", "--json", index=index)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["answered"] and data["answer"] == "32"
    for q in data["quotes"]:
        assert q["text"] == read_file(q["path"])[q["start"]:q["end"]]
    text = qa("ask", "How many tanks were destroyed in the bombing?", index=index)
    assert text.returncode == 0 and text.stdout.startswith("The documents don't say.")


def test_ask_with_cached_graphs_imports_no_onnx(own_index):
    """Answering needs ONNX Runtime and the graphs' checksums; ``onnx`` only writes a graph."""
    index, _ = own_index
    assert qa("ask", "How many Cuban soldiers were killed?", index=index).returncode == 0  # graphs cached
    result = qa("ask", "How many Cuban soldiers were killed?", index=index, python=("-X", "importtime"))
    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "onnxruntime" in imported
    assert sorted(m for m in imported if m == "onnx" or m.startswith("onnx.")) == []


def test_search_builds_a_missing_index(tmp_path):
    index = tmp_path / "fresh"
    result = qa("search", "Cilia Flores", "--mode", "bm25", "--json", index=index, timeout=600)
    assert result.returncode == 0, result.stderr
    assert (index / "manifest.json").is_file()
    again = qa("index", index=index)
    assert again.returncode == 0 and "nothing re-embedded" in again.stdout


@pytest.mark.parametrize("args,message", [
    (("search", ""), "the query is empty; type what to search for"),
    (("search", "   "), "the query is empty"),
    (("ask", "?!"), "no words"),
    (("ask", "x" * 100_000), "100,000 characters"),
])
def test_bad_queries(own_index, args, message):
    index, _ = own_index
    assert message in one_line_error(qa(*args, index=index))


def test_usage_errors_exit_2(own_index):
    index, _ = own_index
    result = qa("search", "x", "--mode", "fuzzy", index=index)
    assert result.returncode == 2 and "hybrid, bm25, dense" in result.stderr
    assert qa("search", "x", "-k", "0", index=index).returncode == 2
    assert qa("frobnicate").returncode == 2


@pytest.mark.parametrize("port, message", [("99999", "must be between 1 and 65535, got 99999"),
                                           ("-1", "must be between 1 and 65535, got -1"),
                                           ("0", "must be between 1 and 65535, got 0"),
                                           ("http", "expected a whole number, got 'http'")])
def test_serve_port_out_of_range_is_a_usage_error(tmp_path, port, message):
    result = qa("serve", "--port", port, index=tmp_path / "i")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith("usage: qa serve")
    assert result.stderr.splitlines()[-1] == f"qa serve: error: argument --port: {message}"
    assert not (tmp_path / "i").exists()


def test_serve_on_a_busy_port_says_so_before_loading_anything(tmp_path):
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        result = qa("serve", "--port", str(port), index=tmp_path / "i", python=("-X", "importtime"))
    assert one_line_error(result) == f"error: port {port} is in use; choose another with --port"
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "ui.listen" in imported
    assert not {"gradio", "qa.engine", "ui.app"} & imported  # seconds of loading, for nothing
    assert result.stdout == "" and not (tmp_path / "i").exists()


def test_index_counts_read_as_english(tmp_path):
    doc = tmp_path / "one.txt"
    doc.write_text("Lake news\n\nThe festival drew 4,200 visitors.\n", encoding="utf-8")
    out = qa("index", str(doc), index=tmp_path / "i").stdout
    assert out.startswith("indexed 1 document (1 added, 0 changed, 0 removed, 0 unchanged): 1 passage, ")
    assert "1 documents" not in out and "1 passages" not in out


def test_help_names_every_argument():
    for command, argument in (("index", "PATH"), ("search", "query"), ("ask", "question"), ("eval", "file")):
        out = qa(command, "--help").stdout
        lines = out.split("positional arguments:")[1].split("options:")[0].strip().splitlines()
        assert lines[0].split()[0] == argument and len(lines[0].split()) > 1 or len(lines) > 1, out


def test_index_bad_paths(tmp_path):
    assert "no such file" in one_line_error(qa("index", str(tmp_path / "missing"), index=tmp_path / "i"))
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "no readable documents" in one_line_error(qa("index", str(empty), index=tmp_path / "i"))
    assert not (tmp_path / "i" / "manifest.json").exists()


def test_index_warns_about_skipped_files(tmp_path, seeds_copy):
    import shutil

    docs = tmp_path / "docs"
    shutil.copytree(seeds_copy, docs)
    (docs / "image.txt").write_bytes(b"\x89PNG\x00\x00")
    (docs / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    (docs / "empty.md").write_bytes(b"")
    result = qa("index", str(docs), index=tmp_path / "i", timeout=600)
    assert result.returncode == 0, result.stderr
    for name in ("image.txt", "latin.txt", "empty.md"):
        assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_index_is_rebuilt_by_search(own_index):
    index, docs = own_index
    (data_dir(index) / "sentences.npy").write_bytes(b"\x93NUMPY broken")
    result = qa("search", "Cilia Flores", "--json", index=index, timeout=600)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["hits"]


def fill_with_infinity(path, keep_time=False):
    """Overwrite an array's values with +inf: the same size and header, other bytes."""
    import numpy as np

    st = path.stat()
    header = st.st_size - np.load(path, mmap_mode="r").nbytes
    with open(path, "r+b") as f:
        f.seek(header)
        f.write(np.full((st.st_size - header) // 4, np.inf, dtype=np.float32).tobytes())
    if keep_time:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_ask_rebuilds_sentence_vectors_overwritten_at_their_size(own_index):
    index, docs = own_index
    damaged = data_dir(index) / "sentence_vectors.npy"
    fill_with_infinity(damaged)
    result = qa("ask", "How many Cuban soldiers were killed?", "--json", index=index, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [f"warning: index file {damaged} does not match its checksum; "
                                          f"rebuilding the index from {docs}"]
    assert json.loads(result.stdout)["answer"] == "32"


def test_python_warnings_never_reach_the_terminal(own_index):
    """Vectors damaged behind the checks' back (same size, same time) make numpy warn; a user sees an
    answer and no warning with a source path, ``-v`` shows it."""
    index, _ = own_index
    fill_with_infinity(data_dir(index) / "sentence_vectors.npy", keep_time=True)
    result = qa("ask", "How many Cuban soldiers were killed?", index=index)
    assert result.returncode == 0 and result.stdout.startswith("Answer: ")
    assert result.stderr == ""
    verbose = qa("-v", "ask", "How many Cuban soldiers were killed?", index=index)
    assert verbose.returncode == 0 and "RuntimeWarning" in verbose.stderr


def test_index_from_another_model_is_named(own_index):
    index, docs = own_index
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["model"]["checksum"] = "0" * 64
    (index / "manifest.json").write_text(json.dumps(manifest))
    from qa.errors import IndexMismatchError
    from qa.index.store import check_config

    with pytest.raises(IndexMismatchError, match="model"):
        check_config(manifest, {"model": {"id": manifest["model"]["id"], "checksum": "x"}}, index)
    # `qa search` notices the stale model and rebuilds instead of answering from the wrong vectors
    result = qa("search", "Cilia Flores", "--mode", "dense", "--json", index=index, timeout=600)
    assert result.returncode == 0, result.stderr
    assert json.loads((index / "manifest.json").read_text())["model"]["checksum"] != "0" * 64


def test_chat_reads_follow_ups_from_stdin(own_index):
    index, _ = own_index
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), QA_INDEX_DIR=str(index))
    result = subprocess.run([sys.executable, "-m", "qa", "chat"], input="How many Venezuelan soldiers were killed?\n"
                            "And how many were Cuban?\n\nWhat happened?\nexit\n", capture_output=True, text=True, env=env,
                            cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Answer: 32" in result.stdout
    assert "(understood as: How many Cuban soldiers were killed?)" in result.stdout
    assert "(asked as it stands: it seems to refer to an earlier question" in result.stdout
    assert "What happened —" not in result.stdout
