"""The Gradio page: a chat with cited answers, a sources panel, controls, uploads and an API.

``build_app(engine)`` lays out the page and wires it to ``ui.handlers.WebChat``;
``serve(settings, host, port)`` loads the index and model once, then serves the page
(``qa serve`` and ``python -m ui`` end here).
"""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# Read once, when gradio imports huggingface_hub: without it, loading the document encoder draws a
# "Loading weights" progress bar in the server log.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import gradio as gr  # noqa: E402  (after the environment default above)

from qa.engine import DEFAULT_K, Engine  # noqa: E402
from qa.errors import QAError  # noqa: E402
from qa.index.indexer import stale_reason  # noqa: E402
from qa.settings import Settings  # noqa: E402

from . import render  # noqa: E402
from .handlers import MODES, ChatSession, WebChat, example_questions  # noqa: E402,F401  (re-exported)
from .listen import listen_problem, port_in_use_message  # noqa: E402
from .uploads import MAX_UPLOAD_BYTES, SUFFIXES  # noqa: E402

# Two cores: two questions answered at once (encoding a question uses both briefly), one index
# build at a time; up to QUEUE_SIZE requests wait their turn, later ones are told the queue is full.
ANSWER_CONCURRENCY = 2
QUEUE_SIZE = 64
# Gradio keeps a copy of the page's configuration per session (about 47 KB here), and every page
# load or API call without a session is a new one: 10,000 by default would hold ~470 MB. The oldest
# sessions beyond this many are dropped (their chat starts afresh).
STATE_SESSIONS = 1000
MAX_K = 20

# Fonts the machine has: the default theme would fetch Google Fonts, which an offline page cannot.
THEME = gr.themes.Default(font=["system-ui", "-apple-system", "Segoe UI", "Roboto", "sans-serif"],
                          font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])

CSS = """
.qa-reply p { margin: 0.2em 0; }
.qa-answer strong { font-size: 1.15em; }
.qa-reply blockquote { margin: 0.4em 0; padding: 0.2em 0.8em; border-left: 3px solid #9ca3af; }
.qa-understood small { color: #6b7280; }
.qa-conflict { color: #9a3412; font-weight: 600; }
.qa-citations, .qa-nearest { font-size: 0.85em; margin: 0.3em 0 0 1.2em; padding: 0; }
.qa-pending { color: #6b7280; font-style: italic; }
.qa-error p { color: #b91c1c; }
.qa-question { overflow-wrap: anywhere; }
.qa-length { color: #6b7280; }
/* The chat's "scroll down" button sits in the right corner, not over the middle of a reply. */
#qa-chat .scroll-down-button-container { left: auto; right: 16px; transform: none; }
/* The chat's Clear and Copy buttons get a line of their own above the log: floating over it, they
   covered the text of a question scrolled to the top. */
#qa-chat .top-panel { position: static; display: flex; width: fit-content; margin: 0 4px 2px auto; }
#qa-chat .placeholder-content { color: #6b7280; padding: 0 1.5em; text-align: center; }
#qa-send, #qa-new, #qa-upload-button { white-space: nowrap; }
/* The sources scroll inside their own box. Gradio writes overflow: visible into the block's
   style attribute, which only an !important rule overrides. */
#qa-sources { max-height: min(640px, 80vh); overflow-y: auto !important; }
.qa-source { border: 1px solid #e5e7eb; border-radius: 6px; padding: 0.5em 0.7em; margin: 0 0 0.6em 0;
             scroll-margin-top: 8px; }
.qa-source:target, .qa-source.qa-active { border-color: #f59e0b; box-shadow: 0 0 0 2px #fde68a; }
.qa-source-head { font-size: 0.95em; }
.qa-num { color: #2563eb; font-weight: 600; }
.qa-meta { font-size: 0.8em; color: #6b7280; margin-bottom: 0.3em; }
.qa-passage { white-space: pre-wrap; font-size: 0.9em; line-height: 1.45; overflow-wrap: anywhere; }
.qa-passage mark { background: #fde68a; color: inherit; padding: 0 1px; }
.qa-page { margin: 8px 0 0; }
.qa-page-open { display: block; width: 100%; padding: 0; border: none; background: none; cursor: zoom-in; }
.qa-page img { width: 100%; height: auto; border: 1px solid #d1d5db; border-radius: 4px; }
/* A page opened full size: the image at its own resolution over the page, scrolled in both ways. */
.qa-zoom { position: fixed; inset: 0; z-index: 1000; overflow: auto; padding: 52px 8px 8px;
           background: rgba(17, 24, 39, 0.85); text-align: center; }
.qa-zoom img { display: block; margin: 0 auto; max-width: none !important; width: auto; height: auto;
               background: #fff; }
/* !important: Gradio's own button rules would make it transparent and narrow. */
.qa-zoom-close { position: fixed !important; top: 8px; right: 12px; z-index: 1001; cursor: pointer;
                 padding: 6px 16px !important; border: 1px solid #d1d5db !important; border-radius: 6px !important;
                 background: #fff !important; color: #111827 !important; opacity: 1 !important;
                 font-size: 15px !important; line-height: 1.5 !important; white-space: nowrap !important;
                 width: auto !important; min-width: max-content !important; }
.qa-page figcaption { font-size: 0.8em; color: #6b7280; text-align: center; }
.qa-sources-for { font-size: 0.85em; color: #6b7280; }
.qa-empty { color: #6b7280; font-size: 0.9em; }
#qa-upload { align-items: center; }
#qa-upload-note { color: #6b7280; font-size: 0.9em; flex: 1 1 240px; }
/* Gradio's prose style draws a dark border round every table row; one light rule under each. */
.qa-docs table { width: 100%; font-size: 0.85em; border-collapse: collapse; border: none !important; }
.qa-docs tr { border: none !important; }
.qa-docs td, .qa-docs th { text-align: left; vertical-align: top; padding: 3px 6px; border: none !important;
                           border-bottom: 1px solid #e5e7eb !important; overflow-wrap: anywhere; }
.qa-size { white-space: nowrap; }
.qa-actions { text-align: right !important; width: 1%; }
.qa-remove { font-size: 0.95em; padding: 0 0.6em; border: 1px solid #d1d5db !important; border-radius: 4px;
             background: transparent; cursor: pointer; white-space: nowrap; }
.qa-remove:hover { border-color: #b91c1c !important; color: #b91c1c; }
.qa-remove:disabled { cursor: progress; opacity: 0.6; }
.qa-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.qa-notices { list-style: none; padding: 0; margin: 0; font-size: 0.9em; }
#qa-notices:not(:has(li)) { display: none; }  /* no blank band before the first upload */
.qa-rejected { color: #b91c1c; }
.qa-ok { color: #166534; }
.qa-working { color: #6b7280; font-style: italic; }
@media (max-width: 640px) {
  /* One column in reading order: the chat, the question box, then the sources of the answer, and
     only then the retrieval controls and example questions. */
  #qa-main { flex-direction: column; }
  #qa-left { display: contents; }
  #qa-chat { order: 1; } #qa-ask-row { order: 2; } #qa-right { order: 3; }
  #qa-controls { order: 4; } #qa-examples { order: 5; }
  /* An empty chat is a short box with its hint, not most of the screen. */
  #qa-chat:not(:has(.message-row)) { height: 200px !important; }
  #qa-chat { height: min(520px, 62vh) !important; }
  /* The sources are as long as they are: the page scrolls, not a box inside it. */
  #qa-sources { max-height: none; overflow-y: visible !important; }
  /* The question takes the whole line; Ask and New chat share the next one. */
  #qa-ask-row > :first-child { flex: 1 1 100% !important; }
  #qa-send, #qa-new { flex: 1 1 0 !important; }
  /* Each document is a small card: title, then file, size and Remove on one line. */
  .qa-docs thead { display: none; }
  .qa-docs table, .qa-docs tbody, .qa-docs tr { display: block; width: 100%; }
  .qa-docs tr { padding: 4px 0; border-bottom: 1px solid #e5e7eb !important; }
  .qa-docs td { display: inline-block; border: none !important; padding: 0 6px; }
  .qa-docs td.qa-title { display: block; font-weight: 600; }
  .qa-actions { width: auto; }
}
"""

# After a message is clicked and the panel shows its turn, bring the clicked citation into view
# and outline it (:target does not apply to an element rendered after the hash changed).
SCROLL_TO_HASH_JS = """() => {
  const id = decodeURIComponent(window.location.hash.slice(1));
  const el = id && document.getElementById(id);
  document.querySelectorAll(".qa-source.qa-active").forEach((e) => e.classList.remove("qa-active"));
  if (el) { el.classList.add("qa-active"); el.scrollIntoView({block: "nearest"}); }
}"""

# Whenever the chat's messages change (a question sent, its answer in), bring the newest exchange
# into view. Gradio's own autoscroll is off: it stops for good once the log was scrolled up (to
# click an older citation, say), and it scrolls to the very end even when that hides the start of
# a long reply. Here the newest question goes to the top when its reply is taller than the chat,
# else the log scrolls to the end; once more when late rendering has changed the heights.
FOLLOW_CHAT_JS = """() => {
  const follow = () => {
    const log = document.querySelector("#qa-chat [role=log]");
    const questions = log ? log.querySelectorAll(".qa-question") : [];
    if (!questions.length) return;
    const last = questions[questions.length - 1];
    const top = log.scrollTop + last.getBoundingClientRect().top - log.getBoundingClientRect().top - 8;
    log.scrollTop = Math.max(0, Math.min(top, log.scrollHeight - log.clientHeight));
  };
  requestAnimationFrame(follow);
  setTimeout(follow, 250);
}"""

# A click on a PDF page in the sources opens it full size over the page; Close, a click beside the
# image or Escape shuts it. (The overlay goes inside the Gradio container, where the page's CSS applies.)
PAGE_ZOOM_JS = """element.addEventListener("click", (event) => {
  const open = event.target.closest("button.qa-page-open");
  if (!open) return;
  const small = open.querySelector("img");
  const layer = document.createElement("div");
  layer.className = "qa-zoom";
  layer.setAttribute("role", "dialog");
  layer.setAttribute("aria-label", small.alt);
  const close = document.createElement("button");
  close.type = "button";
  close.className = "qa-zoom-close";
  close.textContent = "Close";
  const big = document.createElement("img");
  big.src = small.src;
  big.alt = small.alt;
  layer.append(close, big);
  const onKey = (e) => { if (e.key === "Escape") shut(); };
  const shut = () => { layer.remove(); document.removeEventListener("keydown", onKey); open.focus(); };
  layer.addEventListener("click", (e) => { if (e.target === layer || e.target === close) shut(); });
  document.addEventListener("keydown", onKey);
  (element.closest(".gradio-container") || document.body).append(layer);
  close.focus();
});"""

# The Remove buttons in the documents list: a click sends the file name (nothing else) to the server.
REMOVE_JS = """element.addEventListener("click", (event) => {
  const button = event.target.closest("button.qa-remove");
  if (!button || button.disabled) return;
  button.disabled = true;
  button.textContent = "Removing\u2026";
  trigger("click", {file: button.dataset.file});
});"""


def build_app(engine: Engine) -> gr.Blocks:
    """The page over one shared Engine. Each browser tab gets its own conversation (gr.State)."""
    chat = WebChat(engine)

    def chat_turn(question: str, session: ChatSession | None, mode: str, k: float):
        if not question or not question.strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        session, shown = chat.pending(question, session)
        yield "", shown, session, gr.skip()
        session, sources = chat.ask(question, session, mode, k)
        yield "", list(session.messages), session, gr.skip() if sources is None else sources

    def new_chat():
        return None, [], render.EMPTY_SOURCES, ""

    def examples_update() -> gr.Dataset:
        shown = chat.examples()
        return gr.Dataset(samples=[[q] for q in shown], visible=bool(shown))

    # Uploads and removals say what they are doing while the index is rebuilt (Gradio's own timer
    # is hidden), then what came of it.
    def upload(files):
        if files:
            count = f"{len(files)} file{'s' if len(files) != 1 else ''}"
            yield render.working_html(f"Adding {count} and updating the index\u2026"), gr.skip(), gr.skip()
        yield *chat.upload(files), examples_update()

    def remove_document(evt: gr.EventData):
        name = evt._data.get("file") if isinstance(evt._data, dict) else None
        yield render.working_html("Removing the document and updating the index\u2026"), gr.skip(), gr.skip()
        yield *chat.remove(name), examples_update()

    def page_load():
        return chat.documents_panel(), examples_update()

    def show_turn(session: ChatSession | None, evt: gr.SelectData):
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        panel = chat.sources_for_message(session, index)
        return gr.skip() if panel is None else panel

    def api_ask(question: str, mode: str = "hybrid", k: int = DEFAULT_K, threshold: float | None = None) -> str:
        """Answer one question. Returns the `qa ask --json` object (DESIGN.md) as a JSON string.
        ``threshold``: the answer probability below which it abstains (default: the calibrated one)."""
        try:
            return chat.api_answer(question, mode, k, threshold)
        except QAError as exc:
            raise gr.Error(str(exc), print_exception=False) from None

    with gr.Blocks(title="Ask the documents", analytics_enabled=False) as app:
        session = gr.State(None)
        gr.Markdown("## Ask the documents\nEvery answer is quoted from the articles, with its source.")
        with gr.Row(equal_height=False, elem_id="qa-main"):
            with gr.Column(scale=3, elem_id="qa-left"):
                chatbot = gr.Chatbot(label="Chat", show_label=False, elem_id="qa-chat", height=520,
                                     placeholder=render.EMPTY_CHAT,
                                     autoscroll=False, sanitize_html=True, render_markdown=True,
                                     latex_delimiters=[], feedback_options=None, buttons=["copy_all"],
                                     group_consecutive_messages=False)
                with gr.Row(equal_height=True, elem_id="qa-ask-row"):
                    question = gr.Textbox(placeholder="Ask a question about the documents",
                                          show_label=False, lines=1, max_lines=4, scale=6,
                                          elem_id="qa-question", autofocus=True)
                    send = gr.Button("Ask", variant="primary", scale=0, min_width=80, elem_id="qa-send")
                    new = gr.Button("New chat", scale=0, min_width=120, elem_id="qa-new")
                with gr.Row(elem_id="qa-controls"):
                    mode = gr.Radio(list(MODES), value=MODES[0], label="Retrieval mode", elem_id="qa-mode")
                    k = gr.Slider(1, MAX_K, value=DEFAULT_K, step=1, label="Passages to read", elem_id="qa-k")
                # A Dataset rather than gr.Examples: its samples follow the documents (an upload or
                # a removal updates them), and it is hidden while no indexed document has any.
                shown = chat.examples()
                examples = gr.Dataset(components=[question], samples=[[q] for q in shown], type="values",
                                      label="Example questions", elem_id="qa-examples", visible=bool(shown))
            with gr.Column(scale=2, elem_id="qa-right"):
                gr.Markdown("### Sources")
                sources = gr.HTML(render.EMPTY_SOURCES, elem_id="qa-sources", js_on_load=PAGE_ZOOM_JS)
        with gr.Accordion("Documents", open=True, elem_id="qa-documents"):
            # An UploadButton, not gr.File: gr.File's upload progress closes its event stream with
            # a method Gradio's client leaves unimplemented, a console warning on every upload.
            with gr.Row(elem_id="qa-upload"):
                files = gr.UploadButton("Add documents", file_count="multiple", type="filepath", scale=0,
                                        min_width=160, elem_id="qa-upload-button")
                gr.HTML(f"<p>{', '.join(SUFFIXES)} files, up to {MAX_UPLOAD_BYTES // 2**20} MB each. "
                        "They are kept apart from the documents folder, and can be removed here.</p>",
                        elem_id="qa-upload-note", js_on_load=None)
            notices = gr.HTML("", elem_id="qa-notices", js_on_load=None)
            # Listed in the page as first sent (the load event brings it up to date), so the panel is
            # never empty while the page comes up.
            doc_list = gr.HTML(chat.documents_panel(), elem_id="qa-doc-list", js_on_load=REMOVE_JS)

        answer_io = dict(inputs=[question, session, mode, k], outputs=[question, chatbot, session, sources],
                         concurrency_limit=ANSWER_CONCURRENCY, concurrency_id="answer",
                         api_visibility="private", show_progress="hidden")
        question.submit(chat_turn, api_name="chat_submit", **answer_io)
        send.click(chat_turn, api_name="chat_click", **answer_io)
        for clear in (new.click, chatbot.clear):  # the Chatbot's own bin button starts over too
            clear(new_chat, outputs=[session, chatbot, sources, question], api_visibility="private",
                  queue=False)
        chatbot.select(show_turn, inputs=[session], outputs=[sources], api_visibility="private",
                       queue=False).then(None, js=SCROLL_TO_HASH_JS)
        chatbot.change(None, js=FOLLOW_CHAT_JS, api_visibility="private", queue=False)
        examples.click(lambda sample: sample[0] if sample else gr.skip(), inputs=[examples], outputs=[question],
                       api_visibility="private", queue=False)
        index_io = dict(outputs=[notices, doc_list, examples], concurrency_limit=1, concurrency_id="index",
                        api_visibility="private", show_progress="hidden")
        files.upload(upload, inputs=[files], **index_io)
        doc_list.click(remove_document, **index_io)
        app.load(page_load, outputs=[doc_list, examples], api_visibility="private", queue=False,
                 show_progress="hidden")  # the list is there already: no timer over it while it refreshes
        gr.api(api_ask, api_name="ask", concurrency_limit=ANSWER_CONCURRENCY, concurrency_id="answer")
    return app


def _stop_on_sigterm() -> None:
    """Let SIGTERM shut the server down like Ctrl+C does."""
    def handler(_signum, _frame):
        raise KeyboardInterrupt
    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave the default
        pass


def loading_line(index_dir: Path, build: bool) -> str:
    """The one line ``serve`` prints before loading the index. (Why it is built, when a damaged
    file is the reason, the library's own warning says.)"""
    folder = f"{str(index_dir).rstrip(os.sep)}{os.sep}"
    return f"building the index in {folder}\u2026" if build else f"loading the index from {folder}\u2026"


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 7860) -> int:
    """Load the index and model once, serve the page until interrupted. Returns an exit code."""
    problem = listen_problem(host, port)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    try:
        engine = Engine(settings)
        build = stale_reason(settings, engine.sources()) is not None
        print(loading_line(settings.index_dir, build), file=sys.stderr)
        engine.retriever()
        engine.embed_query("warm up")  # load the query encoder now, not on the first question
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    app = build_app(engine)
    app.queue(default_concurrency_limit=ANSWER_CONCURRENCY, max_size=QUEUE_SIZE)
    try:
        app.launch(server_name=host, server_port=port, prevent_thread_lock=True, quiet=True,
                   share=False, ssr_mode=False, show_error=False, max_file_size=MAX_UPLOAD_BYTES,
                   state_session_capacity=STATE_SESSIONS, theme=THEME, css=CSS)
    except OSError:
        print(f"error: {listen_problem(host, port) or port_in_use_message(port)}", file=sys.stderr)
        return 1
    print(f"Running on {app.local_url}  (Ctrl+C to stop)", flush=True)
    _stop_on_sigterm()
    try:
        app.block_thread()
    finally:
        app.close()
    return 0
