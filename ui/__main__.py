"""``python -m ui``: serve the web chat (the same as ``qa serve``)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a port is a whole number, not {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is between 1 and 65535, not {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ui", description="Serve the web chat over the document index.",
        epilog="Environment: QA_INDEX_DIR, QA_DOCS, QA_UPLOADS_DIR, QA_MODEL and QA_CACHE_DIR fill the defaults.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=7860, help="port to listen on (default 7860)")
    parser.add_argument("--index-dir", type=Path, help="index folder (default: $QA_INDEX_DIR or index/)")
    parser.add_argument("--docs", type=Path, action="append", metavar="PATH",
                        help="documents file or folder; repeat for several (default: those the index was "
                             "built from, else seeds/); the page never writes into them")
    parser.add_argument("--uploads-dir", type=Path, metavar="DIR",
                        help="where documents added in the page are kept (default: $QA_UPLOADS_DIR, "
                             "else $XDG_DATA_HOME/qa-cite/uploads, else ~/.local/share/qa-cite/uploads)")
    parser.add_argument("--model", help="sentence-transformers model (default: the packaged all-MiniLM-L6-v2)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s", stream=sys.stderr)
    from ui.listen import listen_problem

    problem = listen_problem(args.host, args.port)  # before gradio and the index load, which take seconds
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    from qa.settings import Settings
    from ui.app import serve

    changes: dict = {}
    if args.index_dir:
        changes["index_dir"] = args.index_dir
    if args.docs:
        changes["docs"] = tuple(args.docs)
    if args.uploads_dir:
        changes["uploads"] = args.uploads_dir
    if args.model:
        changes["model"] = args.model
    return serve(Settings().with_(**changes), host=args.host, port=args.port)


if __name__ == "__main__":
    sys.exit(main())
