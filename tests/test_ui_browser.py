"""The web chat in a real browser: Playwright driving Debian's Chromium against `python -m ui`.

No skips: a missing playwright package or Chromium fails these tests. Screenshots of every step go
to tests/artifacts/; the layout tests take theirs at desktop width (1400 px) and phone width (390 px).
"""
from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.ui_server import ROOT, SEEDS, Server, start_server, stop_server, ui_cache_dir, ui_server  # noqa: F401

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
REPLY_TIMEOUT_MS = 90_000
# Every other expectation waits up to 30 s: a click goes through the server's queue, and on a
# shared 2-core machine Playwright's 5 s default was seen to expire under load.
expect.set_options(timeout=30_000)
DONE_REPLIES = "#qa-chat .qa-reply:not(:has(.qa-pending))"
WIDTHS = {"desktop": 1400, "phone": 390}

UNANSWERABLE = ("How many helicopters took part in the raid?", "When was the memorial completed?",
                "How many civilians were killed in the raid?", "How old is Miguel Diaz-Canel?")
ZORBLATT = b"Lake Miro news\n\nThe Zorblatt Festival drew 4,200 visitors to Lake Miro on Saturday.\n"
HOSTILE = ("Quibble Society report\n\nThe Quibble Society has 731 members <script>alert(1)</script> and its "
           "badge shows <img src=x onerror=alert(1)> a red fox.\n"
           "Its motto is ${alert(2)} and {{7*7}} and **not bold** and [x](javascript:alert(3)).\n")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser: Browser, url: str, width: int = WIDTHS["desktop"]) -> Page:
    """A new tab on the chat, ``width`` px wide. ``pg.dialogs``: every alert/confirm/prompt the page
    tried to open; ``pg.console``: every console warning and error, as "type: text"."""
    context = browser.new_context(viewport={"width": width, "height": 1000 if width > 600 else 844})
    pg = context.new_page()
    pg.dialogs = []
    pg.console = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("console", lambda m: pg.console.append(f"{m.type}: {m.text}") if m.type in ("warning", "error") else None)
    open_chat(pg, url)
    return pg


@pytest.fixture()
def page(browser: Browser, ui_server: Server) -> Iterator[Page]:  # noqa: F811
    pg = open_page(browser, ui_server.url)
    yield pg
    pg.context.close()


@pytest.fixture(params=list(WIDTHS))
def sized_page(request, browser: Browser, ui_server: Server) -> Iterator[Page]:  # noqa: F811
    """The chat at desktop width, then at phone width; ``pg.width_name`` says which."""
    pg = open_page(browser, ui_server.url, WIDTHS[request.param])
    pg.width_name = request.param
    yield pg
    pg.context.close()


def open_chat(pg: Page, url: str) -> None:
    pg.goto(url)
    expect(pg.locator("#qa-question textarea")).to_be_visible(timeout=30_000)
    expect(pg.locator("#qa-doc-list table")).to_be_visible(timeout=30_000)


def shot(pg: Page, name: str, full: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def ask(pg: Page, question: str):
    """Type the question, press Enter, wait for the reply; returns the reply's locator."""
    before = pg.locator(DONE_REPLIES).count()
    box = pg.locator("#qa-question textarea")
    box.fill(question)
    box.press("Enter")
    pg.wait_for_function(f"document.querySelectorAll({DONE_REPLIES!r}).length > {before}",
                         timeout=REPLY_TIMEOUT_MS)
    return pg.locator(DONE_REPLIES).nth(before)  # this reply, even after later ones arrive


def upload(pg: Page, files: list[tuple[str, bytes]]) -> str:
    pg.locator("#qa-upload input[type=file]").set_input_files(
        [{"name": n, "mimeType": "text/plain", "buffer": data} for n, data in files])
    notices = pg.locator("#qa-notices")
    expect(notices).to_contain_text("index updated", timeout=REPLY_TIMEOUT_MS)
    return notices.inner_text()


def source_range(card) -> tuple[int, int]:
    meta = card.locator(".qa-meta").inner_text()
    a, b = re.search(r"characters ([\d,]+)\u2013([\d,]+)", meta).groups()
    return int(a.replace(",", "")), int(b.replace(",", ""))


def assert_marks_match_files(pg: Page, *folders: Path) -> None:
    """Each <mark> in the sources panel is exactly the characters its card's range names, in the
    file of that name in one of ``folders``."""
    cards = pg.locator("#qa-sources .qa-source")
    assert cards.count() >= 1
    for i in range(cards.count()):
        card = cards.nth(i)
        start, end = source_range(card)
        name = card.locator(".qa-meta").inner_text().split(" \u00b7 ")[0]
        (path,) = [f / name for f in folders if (f / name).is_file()]
        text = path.read_text(encoding="utf-8")
        assert card.locator("mark").count() == 1
        assert card.locator("mark").text_content() == text[start:end]


def test_question_shows_bold_answer_citation_and_marked_source(page: Page, ui_server: Server):  # noqa: F811
    reply = ask(page, "How many Cuban soldiers were killed?")
    shot(page, "01-answer")
    expect(reply.locator(".qa-answer strong")).to_have_text("32")
    expect(reply.locator("blockquote strong").first).to_have_text("32")
    expect(reply.locator("a.qa-cite-link").first).to_have_text("[1]")
    expect(reply.locator(".qa-citations li").first).to_contain_text("characters")
    mark = page.locator("#qa-sources mark").first
    expect(mark).to_contain_text("32")
    quote = reply.locator("blockquote p").first.inner_text()
    assert " ".join(mark.inner_text().split()) in quote
    assert_marks_match_files(page, ui_server.docs)
    assert page.dialogs == []


def test_follow_up_and_citation_click(page: Page):
    ask(page, "How many Venezuelan soldiers were killed?")
    reply = ask(page, "And how many were Cuban?")
    shot(page, "02-follow-up")
    expect(reply.locator(".qa-answer strong")).to_have_text("32")
    expect(reply.locator(".qa-understood small")).to_contain_text("understood as")
    expect(page.locator("#qa-sources .qa-sources-for")).to_contain_text("turn 2")

    first_answer = page.locator(DONE_REPLIES).first.locator(".qa-answer strong").inner_text()
    page.locator(DONE_REPLIES).first.locator("a.qa-cite-link").first.click()  # [1] of the first answer
    expect(page.locator("#qa-sources .qa-sources-for")).to_contain_text("turn 1")
    expect(page.locator("#src-1-1")).to_be_in_viewport()
    expect(page.locator("#src-1-1")).to_have_class(re.compile(r"\bqa-active\b"))
    expect(page.locator("#src-1-1 mark")).to_contain_text(first_answer)
    shot(page, "03-citation-click")


def test_new_chat_forgets_the_conversation(page: Page):
    ask(page, "How many Venezuelan soldiers were killed?")
    page.locator("#qa-new").click()
    expect(page.locator("#qa-chat .qa-reply")).to_have_count(0)
    expect(page.locator("#qa-sources .qa-empty")).to_be_visible()
    shot(page, "04-new-chat")

    ask(page, "How many Venezuelan soldiers were killed?")
    page.locator("#qa-chat button[aria-label='Clear']").click()  # the Chatbot's own bin button
    expect(page.locator("#qa-chat .qa-reply")).to_have_count(0)
    ask(page, "Who is Maduro's wife?")
    expect(page.locator("#qa-chat .qa-reply")).to_have_count(1)  # the old turns do not come back


def test_tabs_are_independent_conversations(page: Page, browser: Browser, ui_server: Server):  # noqa: F811
    other = page.context.new_page()
    open_chat(other, ui_server.url)
    ask(page, "How many Venezuelan soldiers were killed?")
    ask(other, "Who is Maduro's wife?")
    reply = ask(page, "And how many were Cuban?")
    expect(reply.locator(".qa-answer strong")).to_have_text("32")
    expect(page.locator("#qa-chat")).not_to_contain_text("Maduro's wife")
    expect(other.locator("#qa-chat")).not_to_contain_text("Venezuelan soldiers were killed")
    expect(other.locator(DONE_REPLIES)).to_have_count(1)
    shot(other, "05-second-tab")
    other.close()


def abstaining_question(url: str) -> str:
    """One of the question set's unanswerable questions on which the library abstains (via /ask)."""
    client = Client(url, verbose=False)
    for question in UNANSWERABLE:
        if not json.loads(client.predict(question, "hybrid", 5, api_name="/ask"))["answered"]:
            return question
    raise AssertionError(f"the library answered all of {UNANSWERABLE}; the abstention view cannot be tested")


def test_abstention_lists_nearest_passages(page: Page, ui_server: Server):  # noqa: F811
    reply = ask(page, abstaining_question(ui_server.url))
    shot(page, "06-abstain")
    expect(reply.locator(".qa-answer strong")).to_have_text("The documents don't say.")
    expect(reply.locator(".qa-nearest li").first).to_be_visible()
    expect(page.locator("#qa-sources .qa-source").first).to_be_visible()
    expect(page.locator("#qa-sources mark")).to_have_count(0)


def test_uploaded_document_is_answerable_at_once(page: Page, ui_server: Server):  # noqa: F811
    docs_before = sorted(p.name for p in ui_server.docs.iterdir())
    notices = upload(page, [("zorblatt festival.txt", ZORBLATT), ("photo.png", b"\x89PNG\r\n\x1a\n\x00")])
    shot(page, "07-upload")
    assert "zorblatt festival.txt: added as zorblatt_festival.txt" in notices
    assert "photo.png: .png file type" in notices
    expect(page.locator("#qa-doc-list")).to_contain_text("zorblatt_festival.txt")
    assert (ui_server.uploads / "zorblatt_festival.txt").read_bytes() == ZORBLATT
    assert not (ui_server.uploads / "photo.png").exists()
    assert sorted(p.name for p in ui_server.docs.iterdir()) == docs_before  # never into the documents folder
    reply = ask(page, "How many visitors did the Zorblatt Festival draw?")
    shot(page, "08-upload-answer")
    expect(reply.locator(".qa-answer strong")).to_have_text("4,200")
    expect(reply.locator(".qa-citations")).to_contain_text("zorblatt_festival.txt")
    assert_marks_match_files(page, ui_server.docs, ui_server.uploads)
    assert page.console == []  # gr.File's upload progress logged "Method not implemented." twice


def test_document_with_script_runs_nothing(page: Page, ui_server: Server):  # noqa: F811
    upload(page, [("quibble.txt", HOSTILE.encode())])
    reply = ask(page, "How many members does the Quibble Society have?")
    ask(page, "What is the motto of the Quibble Society?")
    page.locator(DONE_REPLIES).first.locator("a.qa-cite-link").first.click()
    page.wait_for_timeout(1000)  # give any injected handler the chance to fire
    shot(page, "09-script-document")
    assert page.dialogs == []
    expect(reply.locator(".qa-answer strong")).to_have_text("731")
    expect(reply.locator("blockquote")).to_contain_text("<script>alert(1)</script>")
    expect(reply.locator("blockquote")).to_contain_text("<img src=x onerror=alert(1)>")
    sources = page.locator("#qa-sources")
    expect(sources).to_contain_text("<script>alert(1)</script>")
    expect(sources).to_contain_text("${alert(2)} and {{7*7}} and **not bold** and [x](javascript:alert(3))")
    for root in ("#qa-chat", "#qa-sources", "#qa-doc-list"):
        assert page.locator(f"{root} script, {root} img[src='x'], {root} [onerror]").count() == 0
    assert_marks_match_files(page, ui_server.docs, ui_server.uploads)


def test_typed_markup_in_a_question_shows_as_text(page: Page):
    ask(page, "<img src=x onerror=alert(1)> **How** many Venezuelan soldiers were killed?")
    shot(page, "10-typed-markup")
    expect(page.locator("#qa-chat .qa-question").last).to_have_text(
        "<img src=x onerror=alert(1)> **How** many Venezuelan soldiers were killed?")
    assert page.dialogs == []


# -- layout: desktop and phone widths -------------------------------------------------------------

def box(pg: Page, selector: str) -> dict:
    return pg.locator(selector).first.evaluate("e => e.getBoundingClientRect().toJSON()")


def overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def text_lines(pg: Page, selector: str) -> int:
    """How many lines the text inside the element wraps onto."""
    return pg.locator(selector).first.evaluate("""e => {
      const range = document.createRange();
      range.selectNodeContents(e);
      return new Set([...range.getClientRects()].filter(r => r.width > 1).map(r => Math.round(r.top))).size;
    }""")


def test_sources_panel_scrolls_inside_its_own_box(sized_page: Page, ui_server: Server):  # noqa: F811
    """Beside the chat (desktop) the sources scroll in their own box; on a phone, where they follow
    the answer in one column, they are shown whole (a box cut at its height looked like hidden text)."""
    pg = sized_page
    ask(pg, abstaining_question(ui_server.url))  # the longest panel: every nearest passage in full
    expect(pg.locator("#qa-sources .qa-source").nth(2)).to_be_attached()
    shot(pg, f"11-sources-scroll-{pg.width_name}")
    panel = pg.locator("#qa-sources").evaluate(
        "e => ({overflowY: getComputedStyle(e).overflowY, scroll: e.scrollHeight, client: e.clientHeight})")
    if pg.width_name == "desktop":
        assert panel["overflowY"] in ("auto", "scroll"), panel  # Gradio's inline `overflow: visible` lost
        assert panel["scroll"] > panel["client"], panel
    else:
        assert panel["scroll"] <= panel["client"] + 1, f"the sources are cut at the phone's width: {panel}"
    assert not overlap(box(pg, "#qa-sources"), box(pg, "#qa-documents"))
    assert not overlap(box(pg, "#qa-sources"), box(pg, "footer"))


# The newest reply is in the chat's visible area: all of it, or, when it is taller than the chat,
# its start (in the top third).
NEWEST_REPLY_IN_VIEW = """() => {
  const log = document.querySelector("#qa-chat [role=log]");
  const replies = log.querySelectorAll(".qa-reply");
  const r = replies[replies.length - 1].getBoundingClientRect(), l = log.getBoundingClientRect();
  const whole = r.top >= l.top - 1 && r.bottom <= l.bottom + 1;
  const start = r.top >= l.top - 1 && r.top <= l.top + l.height / 3;
  return whole || start;
}"""


def scroll_chat_to_top(pg: Page) -> None:
    pg.wait_for_timeout(600)  # the chat's own follow-up scroll after a new reply (FOLLOW_CHAT_JS) comes first
    pg.locator("#qa-chat [role=log]").hover()
    pg.mouse.wheel(0, -5000)
    pg.wait_for_function("document.querySelector('#qa-chat [role=log]').scrollTop === 0")
    pg.wait_for_timeout(300)  # let the chat's scroll handlers see it


def test_chat_follows_new_answers_after_a_citation_click(sized_page: Page):
    pg = sized_page
    for question in ("How many Venezuelan soldiers were killed?", "And how many were Cuban?", "Who is Maduro's wife?"):
        ask(pg, question)
    scroll_chat_to_top(pg)  # back up, as a reader does, to an older answer's citation
    pg.locator(DONE_REPLIES).first.locator("a.qa-cite-link").first.click()
    expect(pg.locator("#qa-sources .qa-sources-for")).to_contain_text("turn 1")
    scroll_chat_to_top(pg)  # still reading up there (the click may have moved the chat)

    ask(pg, "How many Cuban soldiers were killed?")
    pg.wait_for_function(NEWEST_REPLY_IN_VIEW, timeout=10_000)
    pg.wait_for_timeout(600)  # and it stays there once every delayed scroll has run
    shot(pg, f"12-follows-after-citation-{pg.width_name}")
    assert pg.evaluate(NEWEST_REPLY_IN_VIEW)
    question = box(pg, "#qa-chat .qa-question >> nth=-1")
    assert question["top"] >= box(pg, "#qa-chat [role=log]")["top"]  # the question it answers, too


def test_buttons_and_document_table(sized_page: Page):
    pg = sized_page
    shot(pg, f"13-layout-{pg.width_name}")
    for button in ("#qa-send", "#qa-new", "#qa-upload-button"):
        assert text_lines(pg, button) == 1, button
    borders = pg.locator("#qa-doc-list").evaluate("""e => [...e.querySelectorAll("table, tr, th, td")].map(c => {
      const s = getComputedStyle(c);
      return [c.tagName, s.borderLeftWidth, s.borderRightWidth];
    })""")
    assert borders and all(left == right == "0px" for _, left, right in borders), borders  # no side borders


def test_phone_width_fits_the_screen(browser: Browser, ui_server: Server):  # noqa: F811
    pg = open_page(browser, ui_server.url, WIDTHS["phone"])
    shot(pg, "14-phone")
    sizes = pg.evaluate("""() => {
      const list = document.querySelector("#qa-doc-list"), table = list.querySelector("table");
      const box = document.querySelector("#qa-question textarea"), s = getComputedStyle(box);
      const ctx = document.createElement("canvas").getContext("2d");
      ctx.font = s.font;
      return {page: document.documentElement.scrollWidth, screen: window.innerWidth,
              list: [list.scrollWidth, list.clientWidth], table: table.getBoundingClientRect().right,
              listRight: list.getBoundingClientRect().right,
              placeholder: ctx.measureText(box.placeholder).width,
              room: box.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight)};
    }""")
    assert sizes["page"] <= sizes["screen"], f"the page is wider than the screen: {sizes}"
    assert sizes["list"][0] <= sizes["list"][1], f"the documents list scrolls sideways: {sizes}"
    assert sizes["table"] <= sizes["listRight"] + 0.5, f"the documents table sticks out: {sizes}"
    assert sizes["placeholder"] <= sizes["room"], f"the placeholder is cut off: {sizes}"
    for button in ("#qa-send", "#qa-new", "#qa-upload-button"):
        assert text_lines(pg, button) == 1, button
    pg.context.close()


def test_phone_shows_the_sources_right_under_the_answer(browser: Browser, ui_server: Server):  # noqa: F811
    """Issue 30: at 390 px the empty chat is a short box with a hint, and an answer's sources come
    right after the chat and the question box, before the retrieval controls."""
    pg = open_page(browser, ui_server.url, WIDTHS["phone"])
    chat = pg.locator("#qa-chat")
    expect(chat).to_contain_text("Ask a question below")
    assert box(pg, "#qa-chat")["height"] <= 240, box(pg, "#qa-chat")
    shot(pg, "21-phone-empty")
    ask(pg, "How many Cuban soldiers were killed?")
    expect(pg.locator("#qa-sources mark").first).to_contain_text("32")
    shot(pg, "22-phone-answer")
    chat_box, ask_row, sources, controls = (box(pg, s) for s in ("#qa-chat", "#qa-ask-row", "#qa-sources",
                                                                   "#qa-controls"))
    assert chat_box["bottom"] <= ask_row["top"] < ask_row["bottom"] <= sources["top"] < controls["top"]
    assert sources["top"] - chat_box["bottom"] <= 200, (chat_box, sources)  # the question box only between
    assert chat_box["height"] >= 300  # with messages the chat is tall again
    panel = pg.locator("#qa-sources").evaluate("e => [e.scrollHeight, e.clientHeight]")
    assert panel[0] <= panel[1] + 1, f"the sources box cuts its text: {panel}"
    assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    pg.context.close()


def test_chat_buttons_never_cover_a_question(sized_page: Page):
    """Issue 30: the chat's Clear and Copy buttons sit above the log, not over its first message."""
    pg = sized_page
    for question in ("How many Venezuelan soldiers were killed?", "How many Cuban soldiers were killed?"):
        ask(pg, question)
    buttons, log = box(pg, "#qa-chat .top-panel"), box(pg, "#qa-chat [role=log]")
    assert buttons["bottom"] <= log["top"], (buttons, log)
    scroll_chat_to_top(pg)
    first = box(pg, "#qa-chat .qa-question")
    assert first["top"] >= log["top"], (first, log)  # in view, at the top of the log
    assert not overlap(box(pg, "#qa-chat .top-panel"), first), first
    shot(pg, f"23-chat-top-{pg.width_name}", full=False)  # a full-page shot resizes and rescrolls the chat


# Whatever the page shows in and around the documents panel while an upload or removal runs.
WATCH_DOCUMENTS = """() => {
  window.qaSeen = {texts: [], progress: [], faded: 0};
  const look = () => {
    const panel = document.querySelector("#qa-documents");
    if (!panel) return;
    window.qaSeen.texts.push(document.querySelector("#qa-notices .html-container").innerText);
    // Gradio's status tracker is always there; it shows (opacity above 0) while an event runs.
    const shown = [...panel.querySelectorAll("[data-testid=status-tracker]")].filter(
      (t) => getComputedStyle(t).opacity !== "0" && t.innerText.trim());
    shown.forEach((t) => window.qaSeen.progress.push(
      `${t.parentElement.closest("[id]").id}: ${t.innerText.trim().replace(/\\s+/g, " ")}`));
    if (parseFloat(getComputedStyle(document.querySelector("#qa-notices")).opacity) < 1) window.qaSeen.faded += 1;
  };
  new MutationObserver(look).observe(document.body, {childList: true, subtree: true, characterData: true,
                                                     attributes: true});
}"""


def test_upload_and_removal_say_what_they_are_doing(page: Page):
    """Issue 30: while an upload or a removal is indexed, the page says so in its own words, with
    neither Gradio's raw timer nor greyed old notices."""
    page.evaluate(WATCH_DOCUMENTS)
    upload(page, [("heron survey.txt", b"Heron survey\n\nThe survey counted 57 grey herons on the lake.\n")])
    page.locator("#qa-doc-list tr", has_text="heron_survey.txt").locator("button.qa-remove").click()
    expect(page.locator("#qa-notices")).to_contain_text("heron_survey.txt: removed", timeout=REPLY_TIMEOUT_MS)
    expect(page.locator("#qa-doc-list")).not_to_contain_text("heron_survey")
    seen = page.evaluate("window.qaSeen")
    assert any("Adding 1 file and updating the index" in t for t in seen["texts"]), seen["texts"]
    assert any("Removing the document and updating the index" in t for t in seen["texts"]), seen["texts"]
    assert seen["progress"] == [] and seen["faded"] == 0, seen


def test_documents_panel_comes_with_the_page(ui_server: Server):  # noqa: F811
    """Issue 30: the documents list is in the page as first sent, not left empty until the page's
    load event has come back."""
    with urllib.request.urlopen(ui_server.url + "config", timeout=30) as r:
        config = json.load(r)
    (panel,) = [c for c in config["components"] if c.get("props", {}).get("elem_id") == "qa-doc-list"]
    assert "documents in the index" in (panel["props"].get("value") or ""), panel["props"]


# -- an over-long question -------------------------------------------------------------------------

# Records the longest user message the chat ever shows, the pending one included.
WATCH_QUESTIONS = """() => {
  window.qaLongest = 0;
  const look = () => document.querySelectorAll("#qa-chat .qa-question").forEach(
    (q) => { window.qaLongest = Math.max(window.qaLongest, q.textContent.length); });
  new MutationObserver(look).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def test_overlong_question_is_refused_without_echoing_it(sized_page: Page):
    pg = sized_page
    question = ("why " * 5250)[:-1] + "?"  # 21,000 characters; the limit is 2,000
    pg.evaluate(WATCH_QUESTIONS)
    box_ = pg.locator("#qa-question textarea")
    box_.fill(question)
    box_.press("Enter")
    error = pg.locator("#qa-chat .qa-error")
    expect(error).to_contain_text("the question is 21,000 characters long; the limit is 2,000")
    shot(pg, f"15-overlong-question-{pg.width_name}")
    shown = pg.locator("#qa-chat .qa-question").last
    expect(shown).to_contain_text("(21,000 characters)")
    assert len(shown.inner_text()) < 250
    assert pg.evaluate("window.qaLongest") < 250  # not even while it was pending


# -- uploads on a fresh clone's own corpus: seeds/ stays as it is ----------------------------------

@pytest.fixture(scope="module")
def seeds_server(tmp_path_factory: pytest.TempPathFactory, ui_cache_dir: Path) -> Iterator[Server]:  # noqa: F811
    """`python -m ui` with no --docs: the repository's seeds/, as the README's two commands run it."""
    server = start_server(tmp_path_factory.mktemp("seeds-server"), ui_cache_dir, copy_seeds=False)
    try:
        yield server
    finally:
        stop_server(server)


def seeds_state() -> tuple:
    """What is in seeds/ (names, sizes, modification times) and what git says about it."""
    files = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in SEEDS.iterdir())
    git = subprocess.run(["git", "status", "--porcelain", "--ignored", "--", "seeds"], cwd=ROOT,
                         capture_output=True, text=True) if (ROOT / ".git").exists() else None
    return files, git.stdout if git else None


def test_example_questions_ask_about_the_indexed_documents(browser: Browser, seeds_server: Server):
    """Issue 30: the examples come from the question set of the documents in the index (here the
    seeds'); a click puts one in the question box. A corpus without a question set shows none."""
    rows = [json.loads(line) for line in (SEEDS / "questions.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    expected = [r["question"] for r in rows if r["answers"] and not r.get("follows") and r["doc_ids"]][:5]
    pg = open_page(browser, seeds_server.url)
    examples = pg.locator("#qa-examples")
    expect(examples).to_be_visible()
    for question in expected:  # a long one is shown cut ("..."), as gr.Examples did
        expect(examples).to_contain_text(question if len(question) <= 60 else question[:40])
    examples.get_by_text(expected[1], exact=True).click()
    expect(pg.locator("#qa-question textarea")).to_have_value(expected[1])
    shot(pg, "19-examples")
    assert pg.console == []
    pg.context.close()


def test_no_example_questions_without_a_question_set(page: Page):
    """The default test server's documents folder is a copy of seeds/ without questions.jsonl."""
    expect(page.locator("#qa-doc-list")).to_contain_text("documents in the index")
    expect(page.locator("#qa-examples")).to_be_hidden()


def test_upload_goes_to_the_uploads_folder_and_can_be_removed(browser: Browser, seeds_server: Server):
    before = seeds_state()
    pg = open_page(browser, seeds_server.url)
    upload(pg, [("zorblatt festival.txt", ZORBLATT)])
    assert (seeds_server.uploads / "zorblatt_festival.txt").read_bytes() == ZORBLATT
    assert seeds_state() == before
    row = pg.locator("#qa-doc-list tr", has_text="zorblatt_festival.txt")
    expect(row.locator("button.qa-remove")).to_be_visible()
    expect(pg.locator("#qa-doc-list button.qa-remove")).to_have_count(1)  # the seed articles: listed, not removable
    expect(pg.locator("#qa-doc-list")).to_contain_text("3 documents in the index (1 added here)")
    reply = ask(pg, "How many visitors did the Zorblatt Festival draw?")
    expect(reply.locator(".qa-answer strong")).to_have_text("4,200")
    assert_marks_match_files(pg, SEEDS, seeds_server.uploads)
    shot(pg, "16-upload-listed-desktop")
    pg.set_viewport_size({"width": WIDTHS["phone"], "height": 844})
    row.scroll_into_view_if_needed()
    shot(pg, "17-upload-listed-phone")
    assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    pg.set_viewport_size({"width": WIDTHS["desktop"], "height": 1000})

    row.locator("button.qa-remove").click()
    notices = pg.locator("#qa-notices")
    expect(notices).to_contain_text("zorblatt_festival.txt: removed")
    expect(notices).to_contain_text("index updated: 2 documents", timeout=REPLY_TIMEOUT_MS)
    expect(pg.locator("#qa-doc-list")).not_to_contain_text("zorblatt")
    expect(pg.locator("#qa-doc-list button.qa-remove")).to_have_count(0)
    assert not (seeds_server.uploads / "zorblatt_festival.txt").exists()
    reply = ask(pg, "How many visitors did the Zorblatt Festival draw?")
    shot(pg, "18-upload-removed")
    assert "4,200" not in reply.inner_text() and "zorblatt" not in reply.inner_text()
    assert seeds_state() == before
    assert pg.console == []  # no "Method not implemented." from the upload
    pg.context.close()


# -- a PDF citation: the page, with the quote's boxes painted on it ------------------------------

def test_pdf_upload_shows_the_highlighted_page(page: Page, ui_server: Server, tmp_path):  # noqa: F811
    """An uploaded two-column PDF is answered with a page citation, and the sources panel shows
    the page image whose highlight lies on the quoted lines and nowhere else."""
    import base64
    import io

    from PIL import Image

    from tests.docgen import write_pdf
    from tests.test_pdf import FERRY, TITLE

    write_pdf(tmp_path / "ferry.pdf", FERRY * 3, columns=2, lines_per_page=14, title=TITLE)
    page.locator("#qa-upload input[type=file]").set_input_files(
        [{"name": "ferry.pdf", "mimeType": "application/pdf", "buffer": (tmp_path / "ferry.pdf").read_bytes()}])
    expect(page.locator("#qa-notices")).to_contain_text("index updated", timeout=REPLY_TIMEOUT_MS)
    reply = ask(page, "How many passengers will the ferry terminal carry a year?")
    expect(reply.locator(".qa-citations")).to_contain_text("ferry.pdf, p. ")
    card = page.locator("#qa-sources .qa-source").first
    expect(card.locator(".qa-meta")).to_contain_text("p. ")
    image = card.locator("figure.qa-page img").first
    expect(image).to_be_visible()
    expect(card.locator("mark")).to_contain_text("900,000 passengers")
    card.scroll_into_view_if_needed()
    shot(page, "19-pdf-page-highlight")
    card.screenshot(path=str(ARTIFACTS / "20-pdf-source-card.png"))
    src = image.get_attribute("src")
    assert src.startswith("data:image/png;base64,")
    picture = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")
    # the highlight (ui.pages.FILL over white paper) is yellow: red and green high, blue low
    yellow = [(x, y) for y in range(0, picture.height, 2) for x in range(0, picture.width, 2)
              if (lambda p: p[0] > 200 and p[1] > 180 and p[2] < 170)(picture.getpixel((x, y)))]
    assert len(yellow) > 200, "no highlight painted on the page"
    # ... exactly on the boxes the quote's characters were read from, every one of them
    from qa.index.documents import read_document

    start, end = source_range(card)
    number = int(re.search(r"p\. (\d+)", card.locator(".qa-meta").inner_text()).group(1))
    boxes = [b for b in read_document(tmp_path / "ferry.pdf").layout.boxes(start, end) if b.page == number]
    scale = picture.width / boxes[0].page_width

    def inside(x, y, b, pad=3):
        return b.x0 * scale - pad <= x <= b.x1 * scale + pad and b.top * scale - pad <= y <= b.bottom * scale + pad

    assert all(any(inside(x, y, b) for b in boxes) for x, y in yellow), "highlight outside the quote's boxes"
    assert all(any(inside(x, y, b, 0) for x, y in yellow) for b in boxes), "a quoted line is not highlighted"

    # Issue 30: a click opens the page full size (its own pixels, wider than in the panel), on a
    # phone too; Close and Escape shut it.
    for width in ("desktop", "phone"):
        page.set_viewport_size({"width": WIDTHS[width], "height": 1000 if width == "desktop" else 844})
        image.scroll_into_view_if_needed()
        image.click()
        big = page.locator(".qa-zoom img")
        expect(big).to_be_visible()
        sizes = big.evaluate("e => [e.naturalWidth, e.getBoundingClientRect().width]")
        assert sizes[0] == picture.width and abs(sizes[1] - sizes[0]) <= 1, sizes
        assert sizes[1] > image.evaluate("e => e.getBoundingClientRect().width")
        expect(page.locator(".qa-zoom-close")).to_be_in_viewport()
        shot(page, f"24-pdf-page-full-size-{width}", full=False)  # what the screen shows
        if width == "desktop":
            page.keyboard.press("Escape")
        else:
            page.locator(".qa-zoom-close").click()
        expect(page.locator(".qa-zoom")).to_have_count(0)
    assert page.console == []
