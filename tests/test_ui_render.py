"""ui/render.py: escaping, <mark> placement, citation numbering, abstention (no server, no browser)."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from qa.answer_types import ABSTAIN_TEXT, Answer, Quote, Value
from qa.index.documents import Document
from qa.index.passages import Passage
from qa.index.retriever import Hit
from ui import render

EVIL = "<script>alert(1)</script> <img src=x onerror=alert(1)> ${alert(2)} {{7*7}} **b** [x](javascript:y) $$x$$"
TEXT = ("Storm report\n\nThe storm closed 12 schools on Monday. Officials said 3 roads flooded.\n"
        f"A banner read {EVIL} near the hall.\n")


def document(text: str = TEXT, doc_id: str = "storm", title: str = "Storm report") -> Document:
    return Document(doc_id=doc_id, path=f"docs/{doc_id}.txt", title=title, text=text, sha256="0" * 64)


def quote_of(doc: Document, text: str, answer: str | None = None, title: str | None = None) -> Quote:
    start = doc.text.index(text)
    a = text.index(answer) if answer else 0
    b = a + len(answer) if answer else len(text)
    return Quote(text=text, doc_id=doc.doc_id, path=doc.path, title=title or doc.title, start=start,
                 end=start + len(text), answer_start=a, answer_end=b, score=1.0)


def hit_of(doc: Document, start: int, end: int, rank: int = 1) -> Hit:
    return Hit(rank=rank, passage=Passage(doc.doc_id, start, end, 0, 0), document=doc, score=0.5)


def answered(quotes: tuple[Quote, ...], passages: tuple[Hit, ...] = (), conflict: bool = False,
             values: tuple[Value, ...] = (), resolved: str | None = None, question: str = "How many?") -> Answer:
    return Answer(question=question, answered=True, answer=quotes[0].answer, quotes=quotes, conflict=conflict,
                  passages=passages, values=values, resolved_question=resolved)


class Tags(HTMLParser):
    """Collects start tags and their attributes, and the text inside <mark> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.marks: list[str] = []
        self._mark_depth = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "mark":
            self._mark_depth += 1
            self.marks.append("")

    def handle_endtag(self, tag):
        if tag == "mark":
            self._mark_depth -= 1

    def handle_data(self, data):
        if self._mark_depth:
            self.marks[-1] += data


def parse(markup: str) -> Tags:
    parser = Tags()
    parser.feed(markup)
    parser.close()
    return parser


def visible_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


ALLOWED_TAGS = {"div", "p", "strong", "b", "small", "blockquote", "a", "ol", "ul", "li", "cite", "mark",
                "section", "span", "table", "thead", "tbody", "tr", "th", "td", "button"}


def assert_inert(markup: str) -> None:
    """Only our own tags and attributes; none of the document's markup got through."""
    tags = parse(markup).tags
    assert {t for t, _ in tags} <= ALLOWED_TAGS
    for _, attrs in tags:
        assert set(attrs) <= {"class", "href", "id", "type", "data-file", "aria-label"}
        assert all(not v.startswith("javascript") for v in attrs.values() if v)
    for ch in "<>$`*{}":  # our own citation links are the only [ ] left
        assert ch not in visible_text_raw(markup)


def visible_text_raw(markup: str) -> str:
    """Text between tags before entity decoding: specials must all be character references."""
    return re.sub(r"<[^>]+>", "", markup)


@pytest.mark.parametrize("text", ["", "plain", EVIL, "a & b \"c\" 'd'", "\\`~|#_", "line\nbreak"])
def test_esc_round_trips_and_leaves_no_syntax(text):
    out = render.esc(text)
    assert html.unescape(out) == text
    assert not set(out) & set("<>\"'`$*[]{}_\\~|")


def test_reply_bolds_answer_and_numbers_citations():
    doc = document()
    q1 = quote_of(doc, "The storm closed 12 schools on Monday.", "12")
    q2 = quote_of(doc, "Officials said 3 roads flooded.", "3")
    out = render.reply_html(answered((q1, q2)), turn=4)
    assert '<p class="qa-answer"><strong>12</strong></p>' in out
    assert out.count('href="#src-4-1"') == 2 and out.count('href="#src-4-2"') == 2
    assert ">[1]</a>" in out and ">[2]</a>" in out and "[3]" not in out
    assert "characters 14\u201352" in out
    assert "storm.txt" in out and "Storm report" in out
    assert "\n" not in out  # one line: the Markdown renderer keeps it as one HTML block
    assert "Sources differ" not in out and "understood as" not in out


def test_reply_shows_conflict_with_each_values_citations():
    doc = document("The bridge is 340 m long. Others say the bridge is 360 m long.")
    q1 = quote_of(doc, "The bridge is 340 m long.", "340")
    q2 = quote_of(doc, "Others say the bridge is 360 m long.", "360")
    values = (Value("340", (0,)), Value("360", (1,)))
    out = render.reply_html(answered((q1, q2), conflict=True, values=values), turn=1)
    conflict = re.search(r'<p class="qa-conflict">(.*?)</p>', out).group(1)
    assert visible_text(conflict) == "Sources differ: \u201c340\u201d [1] \u00b7 \u201c360\u201d [2]"


def test_reply_notes_rewritten_follow_up_in_small_text():
    doc = document()
    q = quote_of(doc, "The storm closed 12 schools on Monday.", "12")
    out = render.reply_html(answered((q,), question="And schools?"), 2, resolved="How many <schools> closed?")
    assert "<small>(understood as: How many &#60;schools&#62; closed?)</small>" in out
    same = render.reply_html(answered((q,), question="How many?"), 2, resolved="How many?")
    assert "understood as" not in same


def test_reply_says_when_a_follow_up_was_asked_as_it_stands():
    doc = document()
    q = quote_of(doc, "The storm closed 12 schools on Monday.", "12")
    out = render.reply_html(answered((q,), question="What happened?"), 3, unresolved=True)
    assert "<small>(asked as it stands: it seems to refer to an earlier question" in out
    assert "understood as" not in out


def test_abstention_says_so_and_lists_nearest_passages():
    doc = document()
    hits = tuple(hit_of(doc, 0, 52, rank=i) for i in range(1, 6))
    answer = Answer(question="Who won?", answered=False, answer=None, quotes=(), conflict=False, passages=hits)
    out = render.reply_html(answer, turn=3)
    assert visible_text(out).startswith(ABSTAIN_TEXT)
    assert "Nearest passages" in out
    assert out.count("<li>") == render.NEAREST_IN_CHAT
    panel = render.sources_html(answer, 3, {})
    assert panel.count('class="qa-source"') == 5 and "<mark>" not in panel
    assert ABSTAIN_TEXT.replace("'", "&#39;") in panel


def test_abstention_without_passages():
    answer = Answer(question="?", answered=False, answer=None, quotes=(), conflict=False, passages=())
    assert visible_text(render.reply_html(answer, 1)) == ABSTAIN_TEXT


@pytest.mark.parametrize("in_passage", [True, False], ids=["from-hit", "window-around-quote"])
def test_mark_holds_exactly_the_quoted_characters(in_passage):
    doc = document()
    q = quote_of(doc, "Officials said 3 roads flooded.", "3")
    hits = (hit_of(doc, 14, len(doc.text)),) if in_passage else (hit_of(doc, 0, 12),)
    panel = render.sources_html(answered((q,), passages=hits), 1, {doc.doc_id: doc})
    parsed = parse(panel)
    assert parsed.marks == [doc.text[q.start:q.end]]
    assert '<section class="qa-source" id="src-1-1">' in panel
    before_mark = visible_text(panel.split("<mark>")[0])
    assert before_mark.endswith("on Monday. ")
    assert "<mark>Officials said <strong>3</strong> roads flooded.</mark>" in panel


def test_mark_uses_document_mapping_when_no_hit_covers_the_doc():
    doc = document()
    q = quote_of(doc, "The storm closed 12 schools on Monday.", "12")
    panel = render.sources_html(answered((q,)), 1, {doc.doc_id: doc})
    assert parse(panel).marks == [q.text]
    assert "Storm report" in visible_text(panel.split("<mark>")[0])


def test_stale_document_text_falls_back_to_the_quote_alone():
    doc = document()
    q = quote_of(doc, "The storm closed 12 schools on Monday.", "12")
    changed = document(text="Something else entirely, longer than the quote offsets need to be......")
    panel = render.sources_html(answered((q,)), 1, {doc.doc_id: changed})
    assert parse(panel).marks == [q.text]
    assert "Something else" not in panel


def test_script_and_img_in_a_document_stay_text():
    doc = document()
    q = quote_of(doc, f"A banner read {EVIL} near the hall.", "A banner")
    answer = answered((q,), passages=(hit_of(doc, 0, len(doc.text)),), question=f"What did it read? {EVIL}")
    for markup in (render.reply_html(answer, 1, resolved=EVIL), render.sources_html(answer, 1, {})):
        assert_inert(markup)
        assert EVIL in visible_text(markup)
    assert parse(render.sources_html(answer, 1, {})).marks == [q.text]


def test_hostile_titles_paths_and_file_names_are_escaped():
    doc = Document(doc_id="x", path="docs/<img src=x onerror=alert(1)>.txt", title="<script>t()</script>",
                   text="The value is 5 here.", sha256="0")
    q = quote_of(doc, "The value is 5 here.", "5")
    for markup in (render.reply_html(answered((q,)), 1), render.sources_html(answered((q,)), 1, {}),
                   render.documents_html([render.DocRow(doc.title, doc.path, 10)]),
                   render.documents_html([render.DocRow(doc.title, doc.path, 10, uploaded=True)]),
                   render.notice_html([(False, "<img src=x onerror=alert(1)>.txt: rejected")]),
                   render.user_html(EVIL), render.error_html(EVIL)):
        assert_inert(markup)


def test_user_and_error_messages_are_single_line_and_literal():
    assert visible_text(render.user_html("  two\nlines <b>  ")) == "two lines <b>"
    assert "\n" not in render.error_html("bad\ninput")


@pytest.mark.parametrize("rows,expected", [
    ([], "No documents"),
    ([render.DocRow("T", "a/b/c.txt", 2048)], "1 document in the index"),
    ([render.DocRow("T", "c.txt", 10), render.DocRow("U", "d.md", 5 * 2**20)], "2 documents"),
])
def test_documents_list(rows, expected):
    out = render.documents_html(rows)
    assert expected in out
    for r in rows:
        assert render.file_label(r.path) in out
    if rows:
        assert "2.0 KB" in out or "5.0 MB" in out or "10 B" in out


def test_a_title_that_is_the_file_name_is_not_repeated():
    untitled = document(doc_id="b", title="b.txt")
    q = quote_of(untitled, "The storm closed 12 schools on Monday.", "12")
    hits = (hit_of(untitled, 0, 52),)
    cites = re.search(r'<ol class="qa-citations">(.*?)</ol>', render.reply_html(answered((q,)), 1)).group(1)
    assert visible_text(cites) == "[1] b.txt, characters 14\u201352"
    abstain = Answer(question="?", answered=False, answer=None, quotes=(), conflict=False, passages=hits)
    nearest = re.search(r'<ol class="qa-nearest">(.*?)</ol>', render.reply_html(abstain, 1)).group(1)
    assert visible_text(nearest).startswith("[1] b.txt, characters 0\u201352: ")
    listed = render.documents_html([render.DocRow("b.txt", "docs/b.txt", 10), render.DocRow("Storm", "docs/a.txt", 10)])
    assert visible_text(listed).count("b.txt") == 1 and "untitled" not in listed and "Storm" in listed
    titled = quote_of(document(), "The storm closed 12 schools on Monday.", "12")
    assert "<cite>Storm report</cite> \u2014 storm.txt" in render.reply_html(answered((titled,)), 1)


def test_only_uploads_get_a_remove_button():
    rows = [render.DocRow("Seed", "seeds/a.txt", 10), render.DocRow("Mine", "index/uploads/b.txt", 20, uploaded=True),
            render.DocRow("c.md", "index/uploads/c.md", 30, uploaded=True, indexed=False)]
    out = render.documents_html(rows)
    buttons = [attrs for tag, attrs in parse(out).tags if tag == "button"]
    assert [b["data-file"] for b in buttons] == ["b.txt", "c.md"]
    assert all(b["type"] == "button" and b["class"] == "qa-remove" for b in buttons)
    assert "2 documents in the index (2 added here)" in visible_text(out)
    assert "not indexed" in visible_text(out)
    plain = render.documents_html(rows[:1])
    assert "<button" not in plain and "Remove" not in plain and "added here" not in plain


def test_remove_button_names_the_file_escaped():
    out = render.documents_html([render.DocRow("t", "up/it's_<b>.txt", 1, uploaded=True)])
    (button,) = [attrs for tag, attrs in parse(out).tags if tag == "button"]
    assert button["data-file"] == "it's_<b>.txt" and button["aria-label"] == "Remove it's_<b>.txt"
    assert "<b>" not in out


@pytest.mark.parametrize("question,shown", [
    ("  How   many\nschools?  ", "How many schools?"),
    ("x" * 2000, "x" * 2000),  # at the limit: echoed whole
])
def test_question_within_the_limit_is_echoed(question, shown):
    assert visible_text(render.user_html(question, max_chars=2000)) == shown


@pytest.mark.parametrize("question", ["why " * 5250, "w" * 21_000, "a\n" * 10_500 + "b"])
def test_question_over_the_limit_is_not_echoed_whole(question):
    out = render.user_html(question, max_chars=2000)
    text = visible_text(out)
    length = len(question.strip())
    assert text.endswith(f"\u2026 ({length:,} characters)")
    assert len(text) < render.ECHO_CHARS + 40
    assert question.split()[0][:render.ECHO_CHARS] in text
    assert "\n" not in out


def test_answer_span_covering_the_whole_quote_is_not_nested():
    doc = document()
    q = quote_of(doc, "Officials said 3 roads flooded.")
    assert "<strong>" not in render.quote_inner(q, flat=True)


def test_example_questions_come_from_the_corpus_question_set(tmp_path):
    from ui.app import example_questions

    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "questions.jsonl").write_text(
        '{"id": "1", "question": "Who built it?", "answers": ["Ana"], "doc_ids": ["tower"]}\n'
        '{"id": "2", "question": "And when?", "answers": ["1873"], "doc_ids": ["tower"], "follows": "1"}\n'
        '{"id": "3", "question": "Who painted it?", "answers": [], "doc_ids": []}\n'
        'not json\n', encoding="utf-8")
    assert example_questions((tmp_path / "a", tmp_path / "missing"), {"tower"}) == ["Who built it?"]
    assert example_questions((tmp_path / "missing",), {"tower"}) == []


def test_example_questions_only_ask_about_indexed_documents(tmp_path):
    """Issue 30: after the seeds were removed the examples still asked about them. A question is
    an example only when every document it is about (doc_ids) is in the index."""
    from ui.handlers import example_questions

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "questions.jsonl").write_text(
        '{"id": "1", "question": "Who built the tower?", "answers": ["Ana"], "doc_ids": ["tower"]}\n'
        '{"id": "2", "question": "Who built the bridge?", "answers": ["Bo"], "doc_ids": ["bridge"]}\n'
        '{"id": "3", "question": "Which is taller?", "answers": ["the tower"], "doc_ids": ["tower", "bridge"]}\n'
        '{"id": "4", "question": "No documents named?", "answers": ["x"]}\n', encoding="utf-8")
    (folder / "tower.txt").write_text("The tower.\n", encoding="utf-8")
    both = ["Who built the tower?", "Who built the bridge?", "Which is taller?"]
    assert example_questions((folder,), {"tower", "bridge", "upload"}) == both
    assert example_questions((folder,), {"tower"}) == ["Who built the tower?"]
    assert example_questions((folder,), {"upload"}) == []  # every one of its documents removed
    assert example_questions((folder,), set()) == []
    assert example_questions((folder / "tower.txt",), {"tower"}) == ["Who built the tower?"]  # a file: its folder's set
    assert example_questions((folder,), {"tower", "bridge"}, limit=2) == both[:2]


@pytest.mark.parametrize("build,line", [
    (True, "building the index in index/\u2026"),
    (False, "loading the index from index/\u2026"),
])
def test_serve_says_in_one_line_whether_it_builds_the_index(build, line):
    from pathlib import Path

    from ui.app import loading_line

    assert loading_line(Path("index"), build) == line
    assert loading_line(Path("index/"), build) == line


def test_a_document_without_a_headline_has_one_name_everywhere():
    """Issue 30: a seed without a headline was "untitled" in the documents table but its file name
    in answers and in the JSON ``title``. Its name is its file name, in every place it is shown."""
    from qa.render import answer_text

    doc = document(text="The storm closed 12 schools on Monday.\n", doc_id="000_4cf354647c8c7dec",
                   title="000_4cf354647c8c7dec.txt")
    q = quote_of(doc, "The storm closed 12 schools on Monday.", "12")
    answer = answered((q,), (hit_of(doc, 0, 38),))
    name = "000_4cf354647c8c7dec.txt"
    row = parse(render.documents_html([render.DocRow(doc.title, doc.path, 40)]))
    assert [a for t, a in row.tags if t == "td"][0] == {"class": "qa-title qa-file", "colspan": "2"}
    assert visible_text(render.documents_html([render.DocRow(doc.title, doc.path, 40)])).count(name) == 1
    cites = re.search(r'<ol class="qa-citations">(.*?)</ol>', render.reply_html(answer, 1)).group(1)
    assert visible_text(cites).startswith(f"[1] {name}, ")
    assert f"<b>{render.esc(name)}</b>" in render.sources_html(answer, 1, {})
    assert answer.to_json()["quotes"][0]["title"] == name
    assert answer_text(answer).splitlines()[-1] == f"[1] docs/{name}, characters 0\u201338"
    for shown in (render.documents_html([render.DocRow(doc.title, doc.path, 40)]), render.reply_html(answer, 1),
                  render.sources_html(answer, 1, {}), answer_text(answer)):
        assert "untitled" not in shown.lower()


def pdf_document() -> Document:
    """A two-page PDF's text: page 1 holds the first line, page 2 the second."""
    from qa.index.layout import Layout, Line

    text = "Budget report\nThe council cut 9 of its 52 routes.\n"
    second = text.index("The")
    lines = (Line(0, second - 1, 1, 10.0, 20.0, (0.0,) * (second - 1), (1.0,) * (second - 1)),
             Line(second, len(text) - 1, 2, 10.0, 20.0, (0.0,) * (len(text) - 1 - second),
                  (1.0,) * (len(text) - 1 - second)))
    return Document(doc_id="budget", path="docs/budget.pdf", title="Budget report", text=text, sha256="0" * 64,
                    layout=Layout("pdf", lines=lines, page_sizes=((612.0, 792.0), (612.0, 792.0))))


def test_nearest_passages_of_a_pdf_name_their_page():
    """Issue 30: an abstention's nearest passages left out the PDF page that quotes give."""
    from qa.render import answer_text

    doc = pdf_document()
    second = doc.text.index("The")
    hits = (hit_of(doc, second, len(doc.text) - 1), hit_of(doc, 0, len(doc.text) - 1, rank=2))
    assert (hits[0].place, hits[1].place) == ("p. 2", "pp. 1\u20132")
    abstain = Answer(question="Who?", answered=False, answer=None, quotes=(), conflict=False, passages=hits)
    nearest = re.search(r'<ol class="qa-nearest">(.*?)</ol>', render.reply_html(abstain, 1)).group(1)
    assert visible_text(nearest).startswith(f"[1] Budget report \u2014 budget.pdf, p. 2, characters {second}")
    assert "pp. 1\u20132, characters 0" in visible_text(nearest)
    panel = visible_text(render.sources_html(abstain, 1, {}))
    assert "p. 2 \u00b7 characters" in panel and "pp. 1\u20132 \u00b7 characters" in panel
    text = answer_text(abstain)
    assert f"  - docs/budget.pdf, p. 2, characters {second}\u2013{len(doc.text) - 1}: The council" in text
    first, both = abstain.to_json()["passages"]
    assert (first["page"], "pages" in first, both["pages"], "page" in both) == (2, False, [1, 2], False)
    plain = hit_of(document(), 0, 52)  # a text file has no place: nothing added
    assert plain.place == "" and "page" not in Answer("?", False, None, (), False, (plain,)).to_json()["passages"][0]
