"""The web server from outside: gradio_client against /ask, the port-in-use error, upload handling."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from qa.engine import Engine
from qa.settings import Settings
from ui.handlers import WebChat
from ui.uploads import (MAX_UPLOAD_BYTES, UploadError, check_upload, destination, remove_upload, safe_name,
                        store_upload, uploaded_files)
from tests.ui_server import ROOT, Server, server_env, ui_cache_dir, ui_command, ui_server  # noqa: F401

QUESTION, ANSWER = "How many Cuban soldiers were killed?", "32"


@pytest.fixture(scope="module")
def client(ui_server: Server) -> Client:  # noqa: F811
    return Client(ui_server.url, verbose=False, download_files=False)


@pytest.fixture(scope="module")
def engine(ui_server: Server, ui_cache_dir: Path) -> Engine:  # noqa: F811
    """The library over the server's own documents and index: what the API must reproduce."""
    settings = Settings(index_dir=ui_server.index_dir, docs=(ui_server.docs,), uploads=ui_server.uploads,
                        cache_dir=ui_cache_dir)
    return Engine(settings)


# -- /ask ----------------------------------------------------------------------------------------

def test_ask_round_trip_equals_the_library_json(client: Client, engine: Engine):
    raw = client.predict(QUESTION, "hybrid", 5, api_name="/ask")
    assert isinstance(raw, str)  # a JSON string: gradio_client would treat dicts with "path" as files
    got = json.loads(raw)
    assert got == engine.ask(QUESTION, mode="hybrid", k=5).to_json()
    assert got["answered"] is True and got["answer"] == ANSWER
    assert got["quotes"] and all(isinstance(q["path"], str) for q in got["quotes"])
    for q in got["quotes"]:
        text = Path(q["path"]).read_text(encoding="utf-8")
        assert text[q["start"]:q["end"]] == q["text"]


@pytest.mark.parametrize("mode", ["bm25", "dense"])
def test_ask_other_modes_and_k(client: Client, engine: Engine, mode: str):
    got = json.loads(client.predict("How many Cuban soldiers were killed?", mode, 3, api_name="/ask"))
    assert got == engine.ask("How many Cuban soldiers were killed?", mode=mode, k=3).to_json()
    assert len(got["passages"]) <= 3


def test_ask_defaults_mode_and_k(client: Client):
    got = json.loads(client.predict(QUESTION, api_name="/ask"))
    assert got["answer"] == ANSWER


@pytest.mark.parametrize("args,message", [
    ((123, "hybrid", 5), "question must be text"),
    (("", "hybrid", 5), "question is empty"),
    ((QUESTION, "fast", 5), "hybrid, bm25, dense"),
    ((QUESTION, 7, 5), "mode must be one of"),
    ((QUESTION, "hybrid", "abc"), "k must be a whole number"),
    ((QUESTION, "hybrid", 2.5), "k must be a whole number"),
    ((QUESTION, "hybrid", 0), "k must be between 1 and 100"),
    (("why " * 25_000, "hybrid", 5), "characters long; the limit is"),
    ((["a list"], "hybrid", 5), "question must be text"),
])
def test_ask_bad_input_gives_a_clear_error(client: Client, args, message):
    with pytest.raises(AppError, match=message):
        client.predict(*args, api_name="/ask")
    assert json.loads(client.predict(QUESTION, "bm25", 5, api_name="/ask"))["passages"]  # still serving


def test_raw_json_with_a_lone_surrogate_is_refused(ui_server: Server):  # noqa: F811
    """JSON can carry "\\udcff", which no UTF-8 client would send; posted raw, it gets a clear error."""
    body = json.dumps({"data": ["Who is Maduro's \udcff wife?", "hybrid", 5, None]}).encode("ascii")
    request = urllib.request.Request(ui_server.url + "gradio_api/call/ask", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        event_id = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{ui_server.url}gradio_api/call/ask/{event_id}", timeout=60) as r:
        stream = r.read().decode("utf-8")
    assert "event: error" in stream and "not UTF-8 text" in stream, stream


def test_only_ask_is_a_public_endpoint(client: Client):
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask"]


def test_concurrent_clients_all_get_answers(ui_server: Server):  # noqa: F811
    questions = ["How many Venezuelan soldiers were killed?", "How many Cuban soldiers were killed?",
                 "Who is Maduro's wife?", "How many Cubans protested outside the U.S. embassy?"] * 3

    def one(question: str) -> dict:
        return json.loads(Client(ui_server.url, verbose=False).predict(question, "hybrid", 5, api_name="/ask"))

    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        results = list(pool.map(one, questions))
    assert [r["question"] for r in results] == questions
    assert results[1]["answer"] == "32" and results[3]["answered"]
    assert all(r == results[i % 4] for i, r in enumerate(results))  # the same answer for every client


# -- an over-long question in the chat ----------------------------------------------------------

def test_chat_says_a_follow_up_was_asked_as_it_stands(engine: Engine):
    chat = WebChat(engine)
    session, _ = chat.ask("How many Venezuelan soldiers were killed?", None, "hybrid", 5)
    session, _ = chat.ask("What happened?", session, "hybrid", 5)
    last = session.messages[-1]["content"]
    assert "(asked as it stands: it seems to refer to an earlier question" in last
    assert "What happened \u2014" not in last


def test_chat_never_echoes_an_overlong_question(tmp_path: Path, ui_cache_dir: Path):  # noqa: F811
    """Neither the pending message nor the refused turn shows the 21,000 characters."""
    chat = WebChat(Engine(Settings(index_dir=tmp_path / "index", docs=(tmp_path,), cache_dir=ui_cache_dir)))
    question = ("why " * 5250)[:-1] + "?"
    session, shown = chat.pending(question, None)
    assert [m["role"] for m in shown] == ["user", "assistant"]
    assert "(21,000 characters)" in shown[0]["content"] and len(shown[0]["content"]) < 400
    session, sources = chat.ask(question, session, "hybrid", 5)
    assert sources is None
    user, error = session.messages
    assert user == shown[0] and "21,000 characters long; the limit is 2,000" in error["content"]
    assert not (tmp_path / "index").exists()  # refused before the index was touched


# -- port in use ---------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["ui", "qa serve"])
def test_port_in_use_is_one_clear_line(command: str, ui_cache_dir: Path, tmp_path: Path):  # noqa: F811
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        args = ["--port", str(port), "--index-dir", str(tmp_path / "index")]
        argv = ui_command(*args) if command == "ui" else [sys.executable, "-m", "qa", "serve", *args]
        done = subprocess.run(argv, cwd=ROOT, env=server_env(ui_cache_dir), capture_output=True, text=True,
                              timeout=120)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [f"error: port {port} is in use; choose another with --port"], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not (tmp_path / "index").exists()  # refused before loading anything


def test_bad_port_argument_is_a_usage_error():
    done = subprocess.run(ui_command("--port", "99999"), cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "between 1 and 65535" in done.stderr


# -- upload handling (the server side of the Documents panel) ------------------------------------

@pytest.mark.parametrize("name,expected", [
    ("notes.txt", "notes.txt"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\win\\evil.md", "evil.md"),
    ("/abs/path/Report 2024 (final).HTML", "Report_2024_final.html"),
    ("Caf\u00e9 r\u00e9sum\u00e9.txt", "Cafe_resume.txt"),
    ("<img src=x onerror=alert(1)>.txt", "img_src_x_onerror_alert_1.txt"),
    (".hidden.txt", "hidden.txt"),
    ("....txt", "document.txt"),
    ("", "document"),
    ("a" * 300 + ".txt", "a" * 80 + ".txt"),
])
def test_safe_name(name: str, expected: str):
    got = safe_name(name)
    assert got == expected
    assert "/" not in got and "\\" not in got and not got.startswith(".")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name,data,reason", [
    ("photo.png", b"\x89PNG\r\n\x1a\n", ".png file type"),
    ("noext", b"hello", "no file type"),
    ("latin1.txt", "caf\xe9".encode("latin-1"), "not valid UTF-8"),
    ("blob.txt", b"abc\x00def", "looks binary"),
    ("empty.md", b"  \n", "is empty"),
])
def test_rejected_uploads_say_why(tmp_path: Path, name: str, data: bytes, reason: str):
    src = write(tmp_path / "upload.bin", data)
    assert reason in check_upload(src, name)
    folder = tmp_path / "docs"
    outcome = store_upload(src, name, folder, known_ids=())
    assert not outcome.ok and reason in outcome.message
    assert not folder.exists() or not any(folder.iterdir())


def test_size_limit(tmp_path: Path):
    src = write(tmp_path / "big.txt", b"word " * 300)
    assert "over the 0 MB limit" in check_upload(src, "big.txt", max_bytes=1000)
    assert check_upload(src, "big.txt") is None and MAX_UPLOAD_BYTES == 50 * 1024 * 1024


def test_store_upload_never_leaves_the_folder_and_avoids_clashes(tmp_path: Path):
    folder = tmp_path / "docs"
    folder.mkdir()
    first = store_upload(write(tmp_path / "a", b"One fact.\n"), "../../x/notes.txt", folder, known_ids=())
    assert first.ok and first.saved == folder / "notes.txt"
    again = store_upload(write(tmp_path / "b", b"One fact.\n"), "notes.txt", folder, known_ids=())
    assert again.saved == folder / "notes.txt" and "already" in again.message
    other = store_upload(write(tmp_path / "c", b"Other fact.\n"), "notes.txt", folder, known_ids=())
    assert other.saved == folder / "notes-1.txt" and (folder / "notes.txt").read_bytes() == b"One fact.\n"
    same_stem = store_upload(write(tmp_path / "d", b"# Third\n"), "notes.md", folder, known_ids=())
    assert same_stem.saved == folder / "notes-2.md"  # the id (stem) must differ from notes.txt's
    indexed = store_upload(write(tmp_path / "e", b"Fourth.\n"), "seed.txt", folder, known_ids={"seed"})
    assert indexed.saved == folder / "seed-1.txt"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.parent != tmp_path) == \
        ["notes-1.txt", "notes-2.md", "notes.txt", "seed-1.txt"]


def test_destination_reuses_identical_file(tmp_path: Path):
    write(tmp_path / "a.txt", b"same")
    assert destination(tmp_path, "a.txt", b"same", ()) == (tmp_path / "a.txt", True)
    assert destination(tmp_path, "a.txt", b"diff", ()) == (tmp_path / "a-1.txt", False)


def uploads_folder(tmp_path: Path) -> Path:
    """An uploads folder with two uploads, a write in progress and a sub-folder; a file beside it."""
    folder = tmp_path / "uploads"
    (folder / "sub").mkdir(parents=True)
    write(folder / "a.txt", b"A.\n")
    write(folder / "b.md", b"B.\n")
    write(folder / ".upload-x1", b"partial")
    write(folder / "sub" / "c.txt", b"C.\n")
    write(tmp_path / "outside.txt", b"Outside.\n")
    return folder


def test_uploaded_files_are_the_plain_files_in_the_folder(tmp_path: Path):
    folder = uploads_folder(tmp_path)
    assert [p.name for p in uploaded_files(folder)] == ["a.txt", "b.md"]
    assert uploaded_files(tmp_path / "missing") == []


def test_remove_upload_deletes_that_file_only(tmp_path: Path):
    folder = uploads_folder(tmp_path)
    assert remove_upload(folder, "a.txt") == folder / "a.txt"
    assert [p.name for p in uploaded_files(folder)] == ["b.md"]
    assert (folder / ".upload-x1").exists() and (folder / "sub" / "c.txt").exists()


@pytest.mark.parametrize("name", ["../outside.txt", str(Path("/etc/passwd")), "sub/c.txt", "sub", ".upload-x1",
                                  "", ".", "..", "missing.txt", None, 3, ["a.txt"], "a.txt/"])
def test_remove_upload_refuses_anything_but_an_upload(tmp_path: Path, name):
    folder = uploads_folder(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(UploadError, match="no uploaded document named"):
        remove_upload(folder, name)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_uploads_go_to_the_users_data_folder_and_examples_follow_the_index(own_index, tmp_path: Path,
                                                                          st_encoder, cache_dir):
    """Issue 30: an upload lands in the per-user data folder (here conftest's XDG_DATA_HOME), never
    in the index folder or the checkout; the example questions are those of indexed documents only."""
    import shutil

    index, docs = own_index
    shutil.copy(ROOT / "seeds" / "questions.jsonl", docs)
    engine = Engine(Settings(index_dir=index, docs=(docs,), cache_dir=cache_dir), document_encoder=st_encoder)
    chat = WebChat(engine)
    examples = chat.examples()
    assert len(examples) == 5
    before = sorted(p.name for p in docs.iterdir())
    (tmp_path / "picked").mkdir()
    upload = write(tmp_path / "picked" / "lake.txt", b"Lake news\n\nThe Zorblatt Festival drew 4,200 visitors.\n")
    notices, _ = chat.upload([str(upload)])
    assert "lake.txt: added" in notices
    uploads = tmp_path / "user-data" / "qa-cite" / "uploads"
    assert chat.uploads_dir == uploads and (uploads / "lake.txt").read_bytes() == upload.read_bytes()
    assert not (index / "uploads").exists() and sorted(p.name for p in docs.iterdir()) == before
    assert "lake" in engine.retriever().documents
    assert chat.examples() == examples  # the seeds are still there; the upload has no question set
    for seed in docs.glob("*.txt"):  # every seed removed: no example may ask about them
        seed.unlink()
    engine.build()
    assert set(engine.retriever().documents) == {"lake"}
    assert chat.examples() == []


# -- the server's log ----------------------------------------------------------------------------

def test_server_log_says_what_it_does_in_one_line(ui_server: Server):  # noqa: F811
    log = ui_server.log_text()
    assert f"building the index in {ui_server.index_dir}/\u2026" in log.splitlines()
    assert "Loading weights" not in log and "building it" not in log and "\r" not in log
