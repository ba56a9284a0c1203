"""The real entry point, run as a subprocess: exit codes, one-line errors, JSON contracts."""
import json
import os
import subprocess
import sys

import pytest

from qa.index.store import data_dir

from .conftest import ROOT, read_file


def qa(*args, index=None, cwd=None, timeout=300):
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT))
    if index is not None:
        env["QA_INDEX_DIR"] = str(index)
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True, env=env,
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
