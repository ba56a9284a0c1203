"""What the page's events do, as plain Python over one Engine: no Gradio objects in or out.

``ui.app`` wires these to components. One ``ChatSession`` per browser tab holds that tab's
conversation; the Engine (index, model) is shared by all of them.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qa.answer_types import Answer
from qa.errors import QAError
from qa.render import count
from qa.settings import Mode

from . import render
from .pages import PageRenderer
from .uploads import Outcome, UploadError, remove_upload, store_upload, uploaded_files

log = logging.getLogger(__name__)

MODES = tuple(m.value for m in Mode)
PENDING_HTML = '<div class="qa-reply"><p class="qa-pending">Searching the documents\u2026</p></div>'
INTERNAL_ERROR = "something went wrong answering that; the server log has the details"
EXAMPLES = 5
QUESTION_SET = "questions.jsonl"


def example_questions(sources: Iterable[Path], indexed: Collection[str], limit: int = EXAMPLES) -> list[str]:
    """Questions from the corpus's own question sets (``questions.jsonl`` in a documents folder, or
    beside a documents file): the first few that stand alone, that the documents answer, and whose
    documents (``doc_ids``) are all in the index (``indexed``: its document ids). None when no
    indexed document has such a question: an example never asks about a document that is not there."""
    out: list[str] = []
    folders = dict.fromkeys(p if p.is_dir() else p.parent for p in map(Path, sources))
    for folder in folders:
        try:
            lines = (folder / QUESTION_SET).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if not isinstance(row, dict) or not row.get("answers") or row.get("follows"):
                continue
            question, doc_ids = row.get("question"), row.get("doc_ids")
            if isinstance(question, str) and question.strip() and isinstance(doc_ids, list) and doc_ids \
                    and all(isinstance(d, str) and d in indexed for d in doc_ids) and question not in out:
                out.append(question)
            if len(out) >= limit:
                return out
    return out


@dataclass
class ChatSession:
    """One browser tab's chat: the library conversation, its answers and the messages shown."""

    conversation: object  # qa.conversation.Conversation
    answers: list[Answer] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)
    message_turns: list[int] = field(default_factory=list)  # chat turn of each message (0: none)

    def add(self, role: str, content: str, turn: int = 0) -> None:
        self.messages.append({"role": role, "content": content})
        self.message_turns.append(turn)


class WebChat:
    """The page's handlers over one shared Engine."""

    def __init__(self, engine):
        self.engine = engine
        self.pages = PageRenderer()

    # -- chat ------------------------------------------------------------------------------
    def new_session(self) -> ChatSession:
        return ChatSession(self.engine.conversation())

    def pending(self, question: str, session: ChatSession | None) -> tuple[ChatSession, list[dict]]:
        """The messages to show while a question is being answered."""
        session = session or self.new_session()
        shown = session.messages + [{"role": "user", "content": self._question_html(question)},
                                    {"role": "assistant", "content": PENDING_HTML}]
        return session, shown

    def ask(self, question: str, session: ChatSession | None, mode: str, k: float
            ) -> tuple[ChatSession, str | None]:
        """Answer one chat turn; returns the session and the new sources panel (None: unchanged)."""
        session = session or self.new_session()
        session.add("user", self._question_html(question))
        try:
            turn = session.conversation.ask(question, mode=mode, k=int(k))
        except QAError as exc:
            session.add("assistant", render.error_html(str(exc)))
            return session, None
        except Exception:  # never show a traceback in the page
            log.exception("answering %r failed", question)
            session.add("assistant", render.error_html(INTERNAL_ERROR))
            return session, None
        session.answers.append(turn.answer)
        number = len(session.answers)
        resolved = turn.resolved if turn.resolved != turn.question else None
        session.add("assistant", render.reply_html(turn.answer, number, resolved, unresolved=turn.unresolved), number)
        return session, self.sources(session, number)

    def _question_html(self, question: str) -> str:
        """The user's message; one over the length limit is shown cut, not echoed whole."""
        return render.user_html(question, self.engine.settings.max_question_chars)

    def sources(self, session: ChatSession | None, turn: int) -> str:
        """The sources panel for turn ``turn`` (1-based) of the session."""
        if not session or not 1 <= turn <= len(session.answers):
            return render.EMPTY_SOURCES
        return render.sources_html(session.answers[turn - 1], turn, self.documents(), self.pages.images)

    def sources_for_message(self, session: ChatSession | None, index: int) -> str | None:
        """The sources panel for the turn a clicked message belongs to (None: leave it)."""
        if not session or not 0 <= index < len(session.message_turns):
            return None
        turn = session.message_turns[index]
        if turn == 0 and index + 1 < len(session.message_turns):  # a question: its answer's turn
            turn = session.message_turns[index + 1]
        return self.sources(session, turn) if turn else None

    # -- documents -------------------------------------------------------------------------
    def documents(self) -> dict:
        try:
            return self.engine.retriever().documents
        except QAError:
            return {}

    @property
    def uploads_dir(self) -> Path:
        return self.engine.settings.uploads_dir

    def examples(self) -> list[str]:
        """Example questions about the documents in the index now (none when it has none)."""
        documents = self.documents()
        if not documents:
            return []
        try:
            sources = self.engine.sources()
        except QAError:
            return []
        return example_questions(sources, documents.keys())

    def document_rows(self) -> list[render.DocRow]:
        """The indexed documents, then any upload the index does not hold (so it can be removed)."""
        uploads = {p.resolve(): p for p in uploaded_files(self.uploads_dir)}
        rows = []
        for doc in sorted(self.documents().values(), key=lambda d: d.path):
            path = Path(doc.path)
            size = path.stat().st_size if path.is_file() else len(doc.text.encode("utf-8"))
            uploaded = uploads.pop(path.resolve(), None) is not None
            rows.append(render.DocRow(doc.title, doc.path, size, uploaded=uploaded))
        rows += [render.DocRow(p.name, str(p), p.stat().st_size, uploaded=True, indexed=False)
                 for p in uploads.values()]
        return sorted(rows, key=lambda r: r.uploaded)  # the documents folders' files first

    def documents_panel(self) -> str:
        return render.documents_html(self.document_rows())

    def upload(self, files: Sequence[str] | None) -> tuple[str, str]:
        """Store the uploaded files in the uploads folder, update the index; returns (notices,
        documents panel)."""
        if not files:
            return "", self.documents_panel()
        outcomes: list[Outcome] = []
        for f in files:
            path = Path(f)
            outcomes.append(store_upload(path, path.name, self.uploads_dir, self.documents().keys()))
        notes = [(o.ok, o.message) for o in outcomes]
        if any(o.ok for o in outcomes):
            notes += self._rebuild({o.saved for o in outcomes if o.saved})
        return render.notice_html(notes), self.documents_panel()

    def remove(self, name: object) -> tuple[str, str]:
        """Delete one uploaded document and update the index; returns (notices, documents panel)."""
        try:
            removed = remove_upload(self.uploads_dir, name)
        except UploadError as exc:
            return render.notice_html([(False, str(exc))]), self.documents_panel()
        notes = [(True, f"{removed.name}: removed")] + self._rebuild(set())
        return render.notice_html(notes), self.documents_panel()

    def _rebuild(self, saved: set[Path]) -> list[tuple[bool, str]]:
        try:
            report = self.engine.build()
        except QAError as exc:
            return [(False, f"the index was not updated: {exc}")]
        names = {p.resolve() for p in saved}
        notes = [(False, f"{Path(s.path).name}: not indexed: {s.reason}")
                 for s in report.skipped if Path(s.path).resolve() in names]
        notes.append((True, f"index updated: {count(report.documents, 'document')}, "
                            f"{count(report.passages, 'passage')}"))
        return notes

    # -- API -------------------------------------------------------------------------------
    def api_answer(self, question: object, mode: object = "hybrid", k: object = 5,
                   threshold: object = None) -> str:
        """The ``qa ask --json`` object as a JSON string. Raises QAError for bad input.

        ``None`` for mode, k or threshold means the default.
        """
        mode = "hybrid" if mode is None else mode
        k = 5 if k is None else k
        if not isinstance(mode, str):
            raise QAError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if isinstance(k, bool) or not isinstance(k, (int, float)) or k != int(k):
            raise QAError(f"k must be a whole number, not {k!r}")
        if isinstance(threshold, bool) or not (threshold is None or isinstance(threshold, (int, float))):
            raise QAError(f"the threshold must be a number between 0 and 1, not {threshold!r}")
        answer = self.engine.ask(question, mode=mode, k=int(k), threshold=threshold)
        return json.dumps(answer.to_json(), ensure_ascii=False)
