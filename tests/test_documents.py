from pathlib import Path

import pytest

from qa.index.documents import (Document, Span, discover, find_boilerplate, is_boilerplate, iter_lines, load_documents,
                          make_title, read_document)
from qa.errors import DocumentError

from .conftest import SEEDS, read_file


@pytest.mark.parametrize("line", [
    "Leave a Reply", "Source link", "Recommended stories", "4 List of itemsEnd of list",
    "Your email address will not be published. Required fields are marked *", "  Leave a Reply  ",
    "Advertisement", "Share this article:", "Read more: the full story",
])
def test_boilerplate_lines(line):
    assert is_boilerplate(line)


@pytest.mark.parametrize("line", [
    "", "Cuba received the remains of its 32 soldiers.", "Leave a Reply to the minister, he said.",
    "Sources link the raid to the CIA.",
])
def test_not_boilerplate(line):
    assert not is_boilerplate(line)


def test_seed_boilerplate_spans_point_at_residue():
    text = read_file(SEEDS / "001_2feeabb1633a6458.txt")
    residue = [text[s.start:s.end].strip() for s in find_boilerplate(text)]
    assert residue == ["Recommended stories", "4 List of itemsEnd of list", "Source link", "Leave a Reply",
                       "Your email address will not be published. Required fields are marked *"]


@pytest.mark.parametrize("text,expected", [
    ("a\nb", ["a", "b"]), ("a\r\nb\r\n", ["a", "b", ""]), ("a\rb", ["a", "b"]), ("", [""]), ("\n\n", ["", "", ""]),
])
def test_iter_lines_handles_all_newlines(text, expected):
    assert [text[s.start:s.end] for s in iter_lines(text)] == expected


def test_titles():
    assert make_title("Nearly 50 Soldiers Killed\n\nBody text here.", "a.txt") == "Nearly 50 Soldiers Killed"
    assert make_title("# River news\n\nBody text here.", "a.md") == "River news"
    long = "Venezuela’s Defense Ministry has confirmed that 47 Venezuelan soldiers, including nine women, were killed."
    assert make_title(long, "defense-report.txt") == "defense-report.txt"  # no headline: the file name
    assert make_title("Leave a Reply\nBody text.", "x.txt", boilerplate=(Span(0, 13),)) == "x.txt"


def test_read_seed_keeps_exact_text():
    doc = read_document(SEEDS / "000_4cf354647c8c7dec.txt")
    assert doc.doc_id == "000_4cf354647c8c7dec"
    assert doc.text == read_file(SEEDS / "000_4cf354647c8c7dec.txt")
    assert Document.from_json(doc.to_json()) == doc


def test_crlf_offsets_are_kept(tmp_path):
    path = tmp_path / "crlf.txt"
    path.write_bytes("Title line\r\n\r\nFirst sentence here. Second one.\r\n".encode())
    doc = read_document(path)
    assert doc.text == read_file(path)
    assert "\r\n" in doc.text


def test_html_is_reduced_to_text(tmp_path):
    path = tmp_path / "page.html"
    path.write_text("<html><head><script>alert(1)</script><style>p{}</style></head><body><h1>Big news</h1>"
                    "<p>The <b>minister</b> said &lt;script&gt; stays text.</p></body></html>", encoding="utf-8")
    doc = read_document(path)
    assert "alert(1)" not in doc.text
    assert "The minister said <script> stays text." in doc.text
    assert doc.title == "Big news"


@pytest.mark.parametrize("name,data,reason", [
    ("binary.txt", b"\x00\x01\x02abc", "binary"),
    ("latin1.txt", "café".encode("latin-1"), "UTF-8"),
    ("empty.txt", b"", "empty"),
    ("blank.md", b"  \n\n ", "empty"),
])
def test_unreadable_files_raise_named_errors(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DocumentError, match=reason):
        read_document(path)


@pytest.mark.parametrize("name", ["binary.txt", "binary.md", "binary.html"])
def test_binary_file_warning_names_every_kind_that_is_read(tmp_path, name):
    """PDF and DOCX are read too: the warning lists every kind, from the reader's own table of suffixes."""
    from qa.index.documents import KINDS, SUFFIXES

    path = tmp_path / name
    path.write_bytes(b"\x00\x01\x02abc")
    with pytest.raises(DocumentError) as info:
        read_document(path)
    assert str(info.value) == (f"{path}: looks binary (NUL bytes); "
                               f"only UTF-8 text, Markdown, HTML, PDF or DOCX is read")
    assert set(SUFFIXES) == set(KINDS) and all(kind in str(info.value) for kind in KINDS.values())


def test_load_documents_skips_bad_files_with_reasons(tmp_path):
    (tmp_path / "good.txt").write_text("A sentence about soldiers.", encoding="utf-8")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "scan.png").write_bytes(b"\x89PNG")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    docs, skipped = load_documents([tmp_path])
    assert [d.doc_id for d in docs] == ["good"]
    assert [(Path(s.path).name, s.reason.split(";")[0].split(" (")[0]) for s in skipped] == [
        (tmp_path.name, "1 file(s) of unsupported type"),  # one line for the folder
        ("bad.txt", "is UTF-16 text"), ("notes.pdf", "is damaged or not a PDF")]


def test_empty_folder_and_missing_path(tmp_path):
    with pytest.raises(DocumentError, match="no readable documents"):
        load_documents([tmp_path])
    with pytest.raises(DocumentError, match="no such file"):
        load_documents([tmp_path / "missing"])


def test_discover_reports_unsupported_file(tmp_path):
    f = tmp_path / "x.xlsx"
    f.write_bytes(b"PK")
    files, skipped = discover([f])
    assert files == [] and "unsupported" in skipped[0].reason


def test_duplicate_ids_are_skipped(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.txt").write_text("One sentence.", encoding="utf-8")
    (tmp_path / "b" / "x.md").write_text("Other sentence.", encoding="utf-8")
    docs, skipped = load_documents([tmp_path])
    assert len(docs) == 1 and "same id" in skipped[0].reason
