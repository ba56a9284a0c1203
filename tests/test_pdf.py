"""PDF and DOCX documents: the text a person reads, each quote's page and boxes, and bad files.

Every PDF here is written by the test (tests/docgen.py), so where each character was drawn is
known, and the boxes a quote gets can be checked against it."""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from qa.index.documents import load_documents, read_document
from qa.index.passages import split_sentences

from .docgen import HEADER, write_docx, write_pdf

FERRY = [
    "Harbour officials said on Tuesday that the new ferry terminal would open in March, after two years of "
    "delays caused by flooding and a dispute over the con|tract with the builder.",
    "The mayor, Zoë Łukasz, told reporters that the ﬁnal cost was 41 million euros, well above the first "
    "estimate. She said the city would not pay the builder any penalty.",
    "Residents of the old quarter have complained about the noise for months. A petition signed by 3,200 "
    "people asked the council to limit work to daytime hours.",
    "The terminal will handle up to 12 ferries a day and is expected to carry 900,000 passengers a year once "
    "the second pier is finished in the autumn.",
]
TITLE = "New ferry terminal to open in March"


def flat(text: str) -> str:
    return " ".join(text.replace("ﬁ", "fi").split())


def drawn(plan) -> list[tuple[str, tuple | None]]:
    """Each character of the expected text with the box it was drawn in (None: a break)."""
    out = []
    for i, (text, boxes) in enumerate(zip(plan.paragraphs, plan.boxes)):
        if i:
            out.append((" ", None))
        for ch, box in zip(text, boxes):
            if ch == "ﬁ":  # extracted as two letters sharing the glyph's box
                out += [("f", box), ("i", box)]
            else:
                out.append((ch, box))
    return out


def align(text: str, plan) -> list[tuple | None]:
    """The drawn box of every character of the extracted ``text`` (None for whitespace put in
    between lines), matching the two texts character by character outside whitespace."""
    expected = [(ch, box) for ch, box in drawn(plan) if not ch.isspace() or box is not None]
    boxes: list[tuple | None] = []
    j = 0
    for ch in text:
        while j < len(expected) and expected[j][0].isspace() and not ch.isspace():
            j += 1
        if ch.isspace():
            if j < len(expected) and expected[j][0] == " " and expected[j][1] is not None:
                boxes.append(expected[j][1])
                j += 1
            else:
                boxes.append(None)
            continue
        assert expected[j][0] == ch, (text[:50], ch, expected[j][0])
        boxes.append(expected[j][1])
        j += 1
    return boxes


def centre_in(box, rects) -> bool:
    page, x0, top, x1, bottom = box
    cx, cy = (x0 + x1) / 2, (top + bottom) / 2
    return any(r.page == page and r.x0 - 0.5 <= cx <= r.x1 + 0.5 and r.top - 0.5 <= cy <= r.bottom + 0.5
               for r in rects)


@pytest.fixture(scope="module")
def two_columns(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pdf")
    plan = write_pdf(folder / "ferry.pdf", FERRY * 3, columns=2, lines_per_page=14, title=TITLE)
    return read_document(folder / "ferry.pdf"), plan


def test_two_columns_read_in_order_without_running_headers(two_columns):
    doc, plan = two_columns
    assert flat(doc.text) == flat(plan.text)
    assert HEADER not in doc.text and "Page 1" not in doc.text and "Page 2" not in doc.text
    assert doc.title == TITLE
    assert "contract with the builder" in doc.text and "con-" not in doc.text  # the hyphenated break
    assert "the final cost" in doc.text and "Zoë Łukasz" in doc.text  # the ligature; non-ASCII names
    assert doc.layout.kind == "pdf" and len(doc.layout.page_sizes) >= 2


def test_every_sentence_is_boxed_exactly(two_columns):
    """The boxes of each sentence hold every quoted character and nothing else: the share of
    quoted characters inside them is 1, and no other character's centre falls in them."""
    doc, plan = two_columns
    where = align(doc.text, plan)
    outside_area, area = 0.0, 0.0
    for s in split_sentences(doc):
        rects = doc.layout.boxes(s.start, s.end)
        quoted = [where[i] for i in range(s.start, s.end) if where[i] is not None]
        assert quoted and all(centre_in(b, rects) for b in quoted), doc.text[s.start:s.end]
        others = [where[i] for i in range(len(doc.text)) if where[i] is not None and not s.start <= i < s.end]
        assert not any(centre_in(b, rects) for b in others), doc.text[s.start:s.end]
        for r in rects:
            a = (r.x1 - r.x0) * (r.bottom - r.top)
            covered = sum(max(0.0, min(r.x1, b[3]) - max(r.x0, b[1])) * max(0.0, min(r.bottom, b[4]) - max(r.top, b[2]))
                          for b in quoted if b[0] == r.page)
            area += a
            outside_area += max(0.0, a - covered)
    assert outside_area / area < 0.02


def test_a_quote_across_a_page_break_names_both_pages(tmp_path):
    long = ("The inspectors who visited the harbour in the spring of that year found that the northern pier, "
            "which had been built in a hurry before the elections, was already cracking along its whole length.")
    plan = write_pdf(tmp_path / "long.pdf", ["Inspection report", long], lines_per_page=3)
    doc = read_document(tmp_path / "long.pdf")
    assert flat(doc.text) == flat(plan.text)
    start = doc.text.index("The inspectors")
    end = doc.text.index("length.") + len("length.")
    pages = doc.layout.pages(start, end)
    assert pages == (1, 2)
    assert {b.page for b in doc.layout.boxes(start, end)} == {1, 2}
    where = align(doc.text, plan)
    rects = doc.layout.boxes(start, end)
    assert all(centre_in(where[i], rects) for i in range(start, end) if where[i] is not None)


def test_one_column_and_docx_paragraphs(tmp_path):
    write_pdf(tmp_path / "one.pdf", FERRY, columns=1, header=False)  # one page: a header would read as a title
    doc = read_document(tmp_path / "one.pdf")
    assert flat(doc.text) == flat("\n\n".join(p.replace("|", "") for p in FERRY))
    write_docx(tmp_path / "letter.docx", ["Council approves new bridge", *[p.replace("|", "") for p in FERRY]])
    doc = read_document(tmp_path / "letter.docx")
    assert HEADER not in doc.text and doc.title == "Council approves new bridge"
    start = doc.text.index("A petition signed")
    assert doc.layout.paragraph_numbers(start, start + 20) == (4,)
    a, b = doc.layout.paragraphs[3]
    assert doc.text[a:b].startswith("Residents of the old quarter")


def _pdf_with_stream(path: Path, stream: bytes, filters: str = "") -> None:
    """A one-page PDF whose content stream is ``stream`` (already encoded with ``filters``)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
               b"<< /Length %d %s >>\nstream\n" % (len(stream), filters.encode()) + stream + b"\nendstream"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def test_bad_pdfs_are_one_line_errors_and_the_rest_is_indexed(tmp_path):
    from reportlab.lib.pdfencrypt import StandardEncryption
    from reportlab.pdfgen import canvas

    docs = tmp_path / "docs"
    docs.mkdir()
    write_pdf(docs / "good.pdf", FERRY[:2])
    c = canvas.Canvas(str(docs / "locked.pdf"), encrypt=StandardEncryption("secret", ownerPassword="owner"))
    c.drawString(72, 700, "The vault code is 4512.")
    c.save()
    c = canvas.Canvas(str(docs / "scan.pdf"))
    c.rect(72, 72, 400, 600, fill=1)  # a picture of a page, no text layer
    c.save()
    data = (docs / "good.pdf").read_bytes()
    (docs / "truncated.pdf").write_bytes(data[: len(data) // 2])
    c = canvas.Canvas(str(docs / "many.pdf"))
    for _ in range(2_001):
        c.showPage()
    c.save()
    bomb = zlib.compressobj(9)
    chunk = b"0 0 m " * (16 * 1024 * 1024 // 6)
    stream = b"".join(bomb.compress(chunk) for _ in range(120)) + bomb.flush()  # ~1.9 GB unpacked
    _pdf_with_stream(docs / "bomb.pdf", stream, "/Filter /FlateDecode")
    loaded, skipped = load_documents([docs])
    assert [d.doc_id for d in loaded] == ["good"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "encrypted" in reasons["locked.pdf"]
    assert "no text layer" in reasons["scan.pdf"] and "OCR" in reasons["scan.pdf"]
    assert "damaged" in reasons["truncated.pdf"]
    assert "2,001 pages" in reasons["many.pdf"]
    assert "MB allowed" in reasons["bomb.pdf"]
    assert all("\n" not in r and "Traceback" not in r for r in reasons.values())


def test_pdf_and_docx_answers_cite_pages_and_paragraphs(tmp_path, cache_dir):
    """``qa ask --json`` on a folder mixing .pdf, .docx and .txt: verbatim quotes from each,
    with page and boxes, or paragraph."""
    import subprocess
    import sys

    docs = tmp_path / "docs"
    docs.mkdir()
    write_pdf(docs / "ferry.pdf", FERRY * 3, columns=2, lines_per_page=14, title=TITLE)
    write_docx(docs / "bridge.docx", ["Council approves new bridge",
                                      "The city council voted on Monday to build a new bridge over the river. "
                                      "The bridge will cost 18 million euros and open in 2028."])
    (docs / "museum.txt").write_text("Museum reopens\n\nThe Quillon museum reopened on Friday with 300 paintings.\n",
                                     encoding="utf-8")
    env = {"HF_HUB_OFFLINE": "1", "QA_CACHE_DIR": str(cache_dir), "PATH": "/usr/bin:/bin"}
    answers = {}
    for q in ("How much will the bridge cost?", "How many passengers will the terminal carry a year?",
              "How many paintings does the Quillon museum have?"):
        done = subprocess.run([sys.executable, "-m", "qa", "--index-dir", str(tmp_path / "index"), "--docs",
                               str(docs), "ask", q, "--json"], capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        answers[q] = json.loads(done.stdout)
    texts = {p.name: read_document(p).text for p in docs.iterdir()}
    for result in answers.values():
        assert result["answered"], result
        for q in result["quotes"]:
            assert texts[Path(q["path"]).name][q["start"]:q["end"]] == q["text"]
    bridge = answers["How much will the bridge cost?"]["quotes"][0]
    assert bridge["paragraph"] == 2 and "18 million euros" in bridge["text"]
    ferry = answers["How many passengers will the terminal carry a year?"]["quotes"][0]
    assert Path(ferry["path"]).name == "ferry.pdf" and "900,000" in ferry["text"]
    assert ("page" in ferry) != ("pages" in ferry) and ferry["boxes"]
    assert {b["page"] for b in ferry["boxes"]} == set(ferry.get("pages", [ferry.get("page")]))
    museum = answers["How many paintings does the Quillon museum have?"]["quotes"][0]
    assert "page" not in museum and "paragraph" not in museum
    done = subprocess.run([sys.executable, "-m", "qa", "--index-dir", str(tmp_path / "index"), "ask",
                           "How much will the bridge cost?"], capture_output=True, text=True, env=env, timeout=300)
    assert "bridge.docx, ¶ 2, characters" in done.stdout
    done = subprocess.run([sys.executable, "-m", "qa", "--index-dir", str(tmp_path / "index"), "ask",
                           "How many passengers will the terminal carry a year?"], capture_output=True, text=True,
                          env=env, timeout=300)
    assert "ferry.pdf, p. " in done.stdout or "ferry.pdf, pp. " in done.stdout, done.stdout


def test_offsets_hold_for_every_passage_sentence_and_line(tmp_path, cache_dir):
    """Indexed and read back, a folder of .pdf, .docx and .txt keeps the offsets invariant: every
    passage and sentence is a slice of its document's text, and every PDF line's characters are
    the text's characters at its offsets."""
    from qa.index import indexer
    from qa.index.store import read_index
    from qa.settings import Settings

    docs = tmp_path / "docs"
    docs.mkdir()
    write_pdf(docs / "ferry.pdf", FERRY * 3, columns=2, lines_per_page=14, title=TITLE)
    write_docx(docs / "bridge.docx", ["Council approves new bridge", *[p.replace("|", "") for p in FERRY]])
    (docs / "museum.txt").write_text("Museum reopens\n\nThe Quillon museum has 300 paintings.\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index", docs=(docs,), cache_dir=cache_dir)
    indexer.build(settings, [docs])
    data = read_index(settings.index_dir)
    fresh = {p.stem: read_document(p) for p in docs.iterdir()}
    by_id = {d.doc_id: d for d in data.documents}
    assert set(by_id) == set(fresh)
    for doc_id, doc in by_id.items():
        assert doc.text == fresh[doc_id].text and doc.layout == fresh[doc_id].layout  # kept in the index as read
    for unit in (*data.passages, *data.sentences):
        text = by_id[unit.doc_id].text
        assert 0 <= unit.start < unit.end <= len(text) and text[unit.start:unit.end].strip()
    pdf = by_id["ferry"]
    for line in pdf.layout.lines:
        assert len(line.x0) == len(line.x1) == line.end - line.start
        assert "\n" not in pdf.text[line.start:line.end]
        assert all(a <= b + 1e-6 for a, b in zip(line.x0, line.x1))


def test_page_images_only_from_the_indexed_file(tmp_path):
    """The web chat renders a cited page (a PNG of that page, the quote's boxes painted on) only
    from the very file that was read; a file changed since shows no page."""
    from qa.answer_types import Quote
    from ui.pages import PageRenderer

    write_pdf(tmp_path / "ferry.pdf", FERRY * 3, columns=2, lines_per_page=14, title=TITLE)
    doc = read_document(tmp_path / "ferry.pdf")
    start = doc.text.index("The terminal will handle")
    end = doc.text.index("autumn.", start) + len("autumn.")
    quote = Quote(doc.text[start:end], doc.doc_id, doc.path, doc.title, start, end, 0, 4, 0.9,
                  pages=doc.layout.pages(start, end), boxes=doc.layout.boxes(start, end))
    renderer = PageRenderer()
    images = renderer.images(quote, doc)
    assert [i.page for i in images] == list(quote.pages)
    assert all(i.png.startswith(b"\x89PNG") and i.data_uri.startswith("data:image/png;base64,") for i in images)
    assert renderer.images(quote, doc) == images  # cached
    (tmp_path / "ferry.pdf").write_bytes((tmp_path / "ferry.pdf").read_bytes() + b"\n% edited\n")
    assert renderer.images(quote, doc) == []
