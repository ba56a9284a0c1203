"""`qa eval`: ask every question of a set in each retrieval mode and score what comes back.

A question set is JSON Lines as in DESIGN.md (``id``, ``question``, ``answers``, ``doc_ids`` and
the optional ``follows``, ``kind``, ``split``) or SQuAD v1.1/v2.0 JSON, whose contexts become a
temporary corpus with its own index. A JSON Lines set is scored against its own documents (see
``corpus_of``), never the web chat's uploads unless --docs names them. Follow-ups are asked after
the questions they follow, in one conversation, so their pronouns resolve; only the last
question's answer and time are scored.
Scores are defined in qa/metrics.py (on SQuAD input also the official SQuAD 2.0 figures);
qa/report.py prints the table and writes the HTML report. ``predictions`` gives the official
predictions file, ``{id: answer or ""}``, that the official scorer reads.
"""
from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .answer_types import Answer
from .index.documents import Document
from .errors import DocumentError, InputError
from .metrics import (
    RETRIEVAL_DEPTH,
    GoldQuestion,
    Metrics,
    Scored,
    judge,
    relevant_passages,
    summarize,
)
from .settings import DEFAULT_DOCS, Settings

log = logging.getLogger(__name__)

MODES = ("bm25", "dense", "hybrid")  # the order of `--mode all`
KEYS = {"id": str, "question": str, "answers": list, "doc_ids": list, "follows": str, "kind": str, "split": str}
REQUIRED = ("id", "question", "answers", "doc_ids")

Progress = Callable[[int, str], Callable[[int], None]]
Say = Callable[[str], None]  # a stage that may take a while, as it starts ("loading the models")


def _quiet(_stage: str) -> None:
    pass


@dataclass(frozen=True)
class Result:
    """One question asked in one mode: what the tool returned and how it was judged."""

    scored: Scored
    resolved: str  # the question as searched (a follow-up rewritten against earlier turns)
    answer: Answer
    retrieval: Mapping[str, float] | None = None  # this question's ranking metrics, when judged

    def to_json(self) -> dict:
        judgement = self.scored.judgement.to_json()
        judgement["latency_ms"] = round(self.scored.latency_s * 1000, 1)
        judgement["resolved"] = self.resolved
        judgement["relevant_passages"] = len(self.scored.relevant)
        judgement["first_relevant_rank"] = self.scored.first_relevant_rank
        judgement["retrieval"] = None if self.retrieval is None else {k: round(v, 4) for k, v in self.retrieval.items()}
        return {"id": self.scored.gold.id, "mode": self.scored.mode, "ask": self.answer.to_json(),
                "judgement": judgement}


@dataclass(frozen=True)
class Corpus:
    """The documents a question set is scored against, and why those."""

    sources: tuple[Path, ...]  # the files and folders indexed
    why: str  # "named with --docs", "the folder holding the question set", ...


QUESTION_SET_FOLDER = "the folder holding the question set"
SQUAD_CONTEXTS = "the question set's paragraphs"


def corpus_of(path: Path, questions: Sequence[GoldQuestion], settings: Settings) -> Corpus:
    """A JSON Lines set's documents: those named with --docs (or QA_DOCS); else the folder that
    holds the set when it holds documents its ``doc_ids`` name (seeds/questions.jsonl beside the
    seeds); else the documents the index was built from, less the web chat's uploads; else seeds/.
    The uploads are never added: a question set is scored against the corpus it was written for."""
    from .index.documents import SUFFIXES
    from .index.store import recorded_sources

    if settings.docs:
        return Corpus(tuple(settings.docs), "named with --docs")
    folder = path.parent
    ids = {d for q in questions for d in q.doc_ids}
    with contextlib.suppress(OSError):
        if ids and any(p.stem in ids and p.suffix.lower() in SUFFIXES and p.is_file() for p in folder.iterdir()):
            return Corpus((folder,), QUESTION_SET_FOLDER)
    uploads = settings.uploads_dir.resolve()
    recorded = [Path(p) for p in recorded_sources(settings.index_dir) or ()]
    kept = tuple(p for p in recorded if p.resolve() != uploads)
    if kept:
        return Corpus(kept, "the documents the index was built from" + (", less the web chat's uploads"
                                                                        if len(kept) < len(recorded) else ""))
    return Corpus((DEFAULT_DOCS,), "the default documents")


def index_for(settings: Settings, corpus: Corpus) -> Path:
    """The index folder that eval uses for ``corpus``: the configured one when it was built from
    exactly these documents, else one of eval's own in the cache folder (one per corpus, kept and
    updated like any index), so that evaluating never rebuilds the user's index from other documents."""
    from .index.documents import printable
    from .index.store import recorded_sources

    if recorded_sources(settings.index_dir) == [printable(p) for p in corpus.sources]:
        return settings.index_dir
    key = json.dumps(sorted(printable(p.resolve()) for p in corpus.sources))
    return settings.cache_dir / "eval" / hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Setup:
    """What was evaluated: when, on which index and documents, with which models."""

    date: str  # local time, ISO 8601, to the second
    index: str  # the index folder, or a note that it was a temporary one
    documents: tuple[tuple[str, str], ...]  # (path, title), in path order
    embedding_model: str  # model id and the first 12 hex digits of its checksum
    reader: str  # the reader weights' first 12 hex digits and the card's date
    threshold: float  # the answer probability below which the tool abstained
    sources: tuple[str, ...] = ()  # the files and folders indexed
    corpus: str = ""  # why those: Corpus.why

    def to_json(self) -> dict:
        return {"date": self.date, "index": self.index, "sources": list(self.sources), "corpus": self.corpus,
                "documents": [list(d) for d in self.documents],
                "embedding_model": self.embedding_model, "reader": self.reader, "threshold": self.threshold}


def setup_of(engine, corpus: Corpus, temporary: bool, threshold: float | None) -> Setup:
    from .index.documents import printable
    from .reader.model import read_card

    data = engine.retriever().data
    model = data.manifest.get("model", {})
    card = read_card()
    docs = tuple(sorted((d.path, d.title) for d in data.documents))
    index = "a temporary index over the question set's paragraphs" if temporary else str(engine.settings.index_dir)
    return Setup(datetime.datetime.now().astimezone().isoformat(timespec="seconds"), index, docs,
                 f"{model.get('id')} ({str(model.get('checksum'))[:12]})",
                 f"{card['weights']['sha256'][:12]} ({card.get('date', 'undated')})",
                 engine.reading()[1].threshold if threshold is None else threshold,
                 () if temporary else tuple(printable(p) for p in corpus.sources), corpus.why)


@dataclass(frozen=True)
class Evaluation:
    file: str
    format: str  # "jsonl" or "squad"
    split: str | None
    k: int
    modes: tuple[str, ...]
    questions: tuple[GoldQuestion, ...]
    results: tuple[Result, ...]
    metrics: dict[str, Metrics]  # mode -> scores over all questions (with "squad" on SQuAD input)
    by_split: dict[str, dict[str, Metrics]]  # mode -> split -> scores (when the set has splits)
    threshold: float | None = None  # the answer probability below which the tool abstained, if set
    setup: Setup | None = None

    def to_json(self) -> dict:
        return {"file": self.file, "format": self.format, "split": self.split, "k": self.k,
                "threshold": self.threshold, "setup": self.setup.to_json() if self.setup else None,
                "metrics": {m: dict(self.metrics[m].to_json(),
                                    by_split={s: v.to_json() for s, v in self.by_split.get(m, {}).items()})
                            for m in self.modes},
                "results": [r.to_json() for r in self.results]}


# -- reading question sets ----------------------------------------------------------------------
def read_jsonl(text: str, source: str) -> tuple[GoldQuestion, ...]:
    questions: list[GoldQuestion] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source} line {n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg})") from None
        questions.append(_question(row, where))
    if not questions:
        raise InputError(f"{source}: no questions in the file")
    _check_links(questions, source)
    return tuple(questions)


def _question(row: object, where: str) -> GoldQuestion:
    if not isinstance(row, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(row).__name__}")
    missing = [k for k in REQUIRED if k not in row]
    if missing:
        raise InputError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    for key, kind in KEYS.items():
        value = row.get(key)
        if value is not None and not isinstance(value, kind):
            raise InputError(f"{where}: {key!r} must be a {'list' if kind is list else 'string'}, "
                             f"not {type(value).__name__}")
    for key in ("answers", "doc_ids"):
        if not all(isinstance(v, str) and v.strip() for v in row[key]):
            raise InputError(f"{where}: {key!r} must hold non-empty strings")
    if not row["id"].strip() or not row["question"].strip():
        raise InputError(f"{where}: 'id' and 'question' must not be empty")
    if row["answers"] and not row["doc_ids"]:
        raise InputError(f"{where}: an answerable question needs the 'doc_ids' that answer it")
    return GoldQuestion(id=row["id"], question=row["question"].strip(), answers=tuple(row["answers"]),
                        doc_ids=tuple(row["doc_ids"]), kind=row.get("kind"), split=row.get("split"),
                        follows=row.get("follows"))


def _check_links(questions: Sequence[GoldQuestion], source: str) -> None:
    by_id: dict[str, GoldQuestion] = {}
    for q in questions:
        if q.id in by_id:
            raise InputError(f"{source}: duplicate question id {q.id!r}")
        by_id[q.id] = q
    for q in questions:
        if q.follows is not None and q.follows not in by_id:
            raise InputError(f"{source}: {q.id} follows {q.follows!r}, which is not in the file")
        try:
            chain(q, by_id)
        except InputError as exc:
            raise InputError(f"{source}: {exc}") from None


def chain(question: GoldQuestion, by_id: Mapping[str, GoldQuestion]) -> list[GoldQuestion]:
    """The questions to ask in one conversation, ending with ``question``."""
    out = [question]
    while out[0].follows is not None:
        parent = by_id[out[0].follows]
        if parent in out:
            raise InputError(f"question {question.id}: its 'follows' links form a loop")
        out.insert(0, parent)
    return out


def load(path: Path) -> tuple[str, tuple[GoldQuestion, ...], object]:
    """("jsonl" | "squad", questions, the SquadSet or None)."""
    from .squad import is_squad, parse_squad

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DocumentError(f"{path}: no such question file") from None
    except IsADirectoryError:
        raise DocumentError(f"{path}: is a folder; give a .jsonl question set or a SQuAD .json file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if is_squad(whole) or (path.suffix.lower() == ".json" and isinstance(whole, dict) and "question" not in whole):
        squad = parse_squad(whole, str(path))  # names what is missing when it is not SQuAD either
        return "squad", squad.questions, squad
    return "jsonl", read_jsonl(text, str(path)), None


# -- running ------------------------------------------------------------------------------------
class QuoteChecker:
    """Checks quotes against the indexed text and, for .txt/.md, the file itself (read once)."""

    def __init__(self, documents: Mapping[str, Document]):
        self.documents = documents
        self._files: dict[str, str | None] = {}

    def _file_text(self, doc: Document) -> str | None:
        if doc.path not in self._files:
            text = None
            if Path(doc.path).suffix.lower() in (".txt", ".md"):
                try:
                    with open(doc.path, encoding="utf-8", newline="") as f:
                        text = f.read()
                except OSError:
                    log.warning("cannot re-read %s; its quotes are checked against the index only", doc.path)
            self._files[doc.path] = text
        return self._files[doc.path]

    def check(self, answer: Answer) -> tuple[int, list[str]]:
        """(quotes verbatim at their offsets, what was wrong)."""
        ok, problems = 0, []
        for i, q in enumerate(answer.quotes, start=1):
            doc = self.documents.get(q.doc_id)
            file_text = self._file_text(doc) if doc else None
            if doc is None:
                problems.append(f"quote {i}: unknown document {q.doc_id!r}")
            elif doc.text[q.start:q.end] != q.text:
                problems.append(f"quote {i}: not the text of {q.doc_id} at [{q.start}:{q.end})")
            elif file_text is not None and file_text[q.start:q.end] != q.text:
                problems.append(f"quote {i}: not the text of the file {doc.path} at [{q.start}:{q.end})")
            elif not 0 <= q.answer_start <= q.answer_end <= len(q.text):
                problems.append(f"quote {i}: answer offsets [{q.answer_start}:{q.answer_end}) outside the quote")
            elif i == 1 and answer.answer not in (q.answer, q.text):
                problems.append("the short answer is not the first quote's text at its answer offsets")
            else:
                ok += 1
        return ok, problems


def evaluate(engine, questions: Sequence[GoldQuestion], modes: Sequence[str], k: int, *,
             context: Sequence[GoldQuestion] = (), progress: Progress | None = None,
             threshold: float | None = None, say: Say = _quiet) -> list[Result]:
    """Ask ``questions`` in each mode; results come grouped by mode, in question order.

    ``context`` holds the questions follow-ups may follow (default: ``questions``), for a split
    whose follow-ups follow a question of another split. Latency is that of a loaded engine, as
    in `qa serve`: the index and encoder are loaded before timing. Each question is asked in
    every mode in turn, the first mode rotating, so that what the first asking of a question
    warms (the engine caches phrase vectors) is not always credited to the same mode.
    ``threshold`` is passed to every ask when given (None: the engine's own).
    """
    say(f"loading the index in {engine.settings.index_dir}")
    retriever = engine.retriever()
    docs = retriever.documents
    unknown = sorted({d for q in questions for d in q.doc_ids if d not in docs})
    if unknown:
        raise InputError(f"doc_ids {', '.join(unknown[:3])}{' ...' if len(unknown) > 3 else ''} not in the "
                         f"index ({len(docs)} documents); pass the question set's documents with --docs")
    say("loading the query encoder and the reader")
    engine.embed_query("warm up")  # load the encoder and reader before anything is timed
    engine.reading()
    by_id = {q.id: q for q in (context or questions)}
    texts = [(p.passage_id, p.doc_id, docs[p.doc_id].text[p.start:p.end]) for p in retriever.passages]
    relevant = {q.id: frozenset(relevant_passages(texts, q.doc_ids, q.answers)) for q in questions if q.answerable}
    for q in questions:
        if q.answerable and not relevant[q.id]:
            log.warning("%s: no passage of %s contains a gold answer; left out of the retrieval scores",
                        q.id, ", ".join(q.doc_ids))
    checker = QuoteChecker(docs)
    by_mode: dict[str, list[Result]] = {m: [] for m in modes}
    say(f"asking {len(questions)} question{'s' * (len(questions) != 1)} in {', '.join(modes)}")
    update = progress(len(questions) * len(modes), f"eval {'/'.join(modes)}") if progress else None
    for i, q in enumerate(questions):
        turn = i % len(modes)
        for mode in [*modes[turn:], *modes[:turn]]:
            resolved, answer, seconds = _ask(engine, q, by_id, mode, k, threshold)
            ranked = tuple(h.passage.passage_id for h in engine.search(resolved, RETRIEVAL_DEPTH, mode).hits)
            verbatim, problems = checker.check(answer)
            judgement = judge(q, answer.answered, answer.answer, [x.text for x in answer.quotes],
                              [x.doc_id for x in answer.quotes], verbatim, problems)
            scored = Scored(q, mode, judgement, seconds, relevant.get(q.id, frozenset()), ranked)
            by_mode[mode].append(Result(scored, resolved, answer))
            if update:
                update(1)
    return [r for m in modes for r in by_mode[m]]


def _ask(engine, q: GoldQuestion, by_id: Mapping[str, GoldQuestion], mode: str, k: int,
         threshold: float | None = None) -> tuple[str, Answer, float]:
    extra = {} if threshold is None else {"threshold": threshold}  # None: the engine's calibrated one
    if q.follows is None:
        start = time.perf_counter()
        answer = engine.ask(q.question, mode=mode, k=k, **extra)
        return q.question, answer, time.perf_counter() - start
    conversation = engine.conversation()
    *earlier, last = chain(q, by_id)
    for prior in earlier:
        conversation.ask(prior.question, mode=mode, k=k, **extra)
    start = time.perf_counter()
    turn = conversation.ask(last.question, mode=mode, k=k, **extra)
    return turn.resolved, turn.answer, time.perf_counter() - start


def score(results: Sequence[Result], modes: Sequence[str], *,
          squad: bool = False) -> tuple[dict[str, Metrics], dict[str, dict[str, Metrics]], list[Result]]:
    """Metrics per mode (with the official SQuAD figures when ``squad``) and per mode and split;
    the results with their own retrieval scores."""
    from .metrics import retrieval_scores

    metrics, by_split, out = {}, {}, []
    for mode in modes:
        scored = [r.scored for r in results if r.scored.mode == mode]
        metrics[mode] = summarize(scored, squad=squad)
        splits = sorted({s.gold.split for s in scored if s.gold.split})
        if len(splits) > 1:
            by_split[mode] = {sp: summarize([s for s in scored if s.gold.split == sp]) for sp in splits}
        _, per_q = retrieval_scores({s.gold.id: set(s.relevant) for s in scored if s.gold.answerable},
                                    {s.gold.id: s.ranked for s in scored if s.gold.answerable})
        out += [Result(r.scored, r.resolved, r.answer, per_q.get(r.scored.gold.id))
                for r in results if r.scored.mode == mode]
    return metrics, by_split, out


@contextlib.contextmanager
def _engine_for(settings: Settings, squad, progress: Progress | None, say: Say = _quiet, *,
                corpus: Corpus | None = None) -> Iterator:
    """The engine over ``corpus`` alone in ``index_for`` its index (None: the settings' documents
    and index), or over a SQuAD set's contexts in a temporary corpus with its own index (removed
    afterwards). Never with the web chat's uploads, unless the documents name their folder."""
    from .engine import Engine

    settings = settings.with_(include_uploads=False)
    if squad is None:
        if corpus is not None:
            settings = settings.with_(docs=corpus.sources, index_dir=index_for(settings, corpus))
        yield Engine(settings, progress=progress)
        return
    from .squad import write_corpus

    with tempfile.TemporaryDirectory(prefix="qa-squad-") as tmp:
        corpus = Path(tmp) / "corpus"
        write_corpus(squad, corpus)
        engine = Engine(settings.with_(index_dir=Path(tmp) / "index", docs=(corpus,)), progress=progress)
        say(f"indexing the question set's {len(squad.contexts)} paragraphs")
        engine.build()
        yield engine


def run(path: Path, settings: Settings, *, modes: Sequence[str] = ("hybrid",), split: str | None = None,
        k: int = 5, progress: Progress | None = None, report_dir: Path | None = None,
        threshold: float | None = None, say: Say = _quiet, asking: Progress | None = None) -> Evaluation:
    """Load ``path``, ask its questions in each mode and score them; write the HTML report to
    ``report_dir`` when given (while a SQuAD corpus still exists, so its paths can be read).
    ``say`` hears each stage as it starts; ``progress`` counts texts embedded while indexing,
    ``asking`` (default: ``progress``) the questions asked."""
    fmt, questions, squad = load(path)
    selected = _select(questions, split, path)
    corpus = Corpus((), SQUAD_CONTEXTS) if squad is not None else corpus_of(path, questions, settings)
    with _engine_for(settings, squad, progress, say, corpus=corpus) as engine:
        results = evaluate(engine, selected, modes, k, context=questions, progress=asking or progress,
                           threshold=threshold, say=say)
        metrics, by_split, results = score(results, modes, squad=fmt == "squad")
        evaluation = Evaluation(str(path), fmt, split, k, tuple(modes), tuple(selected), tuple(results),
                                metrics, by_split, threshold, setup_of(engine, corpus, squad is not None, threshold))
        if report_dir is not None:
            say(f"writing the report to {report_dir}")
            from .report import write_report

            write_report(evaluation, report_dir)
    return evaluation


def _select(questions: Sequence[GoldQuestion], split: str | None, path: Path) -> list[GoldQuestion]:
    if split is None:
        return list(questions)
    chosen = [q for q in questions if q.split == split]
    if not chosen:
        have = sorted({q.split for q in questions if q.split})
        hint = f"its splits are: {', '.join(have)}" if have else "it has no 'split' field"
        raise InputError(f"{path}: no question in split {split!r}; {hint}")
    return chosen


# -- the official predictions file -------------------------------------------------------------
def predictions(results: Sequence[Result], mode: str) -> dict[str, str]:
    """One mode's official SQuAD predictions: question id -> the short answer, "" when abstained."""
    return {r.scored.gold.id: r.scored.judgement.prediction for r in results if r.scored.mode == mode}


def prediction_paths(path: Path, modes: Sequence[str]) -> dict[str, Path]:
    """Where each mode's predictions go: ``path`` for one mode, ``<stem>.<mode><suffix>`` beside
    it for several (the official file holds one prediction per question)."""
    if len(modes) == 1:
        return {modes[0]: path}
    return {m: path.with_name(f"{path.stem}.{m}{path.suffix or '.json'}") for m in modes}


def write_predictions(evaluation: Evaluation, path: Path) -> list[Path]:
    """Write the predictions of each mode as UTF-8 JSON; returns the files written."""
    written = []
    for mode, target in prediction_paths(path, evaluation.modes).items():
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(predictions(evaluation.results, mode), ensure_ascii=False, indent=1)
        target.write_text(text + "\n", encoding="utf-8")
        written.append(target)
    return written


# -- command line -------------------------------------------------------------------------------
def run_cli(args, settings: Settings, progress: Progress | None = None, say: Say = _quiet,
            asking: Progress | None = None) -> int:
    """`qa eval`: prints the table (or --json), writes --report and --predictions, checks
    --min-containment."""
    from .report import render_table

    modes, minimum = args.mode, args.min_containment
    if args.predictions is not None and args.predictions.is_dir():
        raise InputError(f"--predictions {args.predictions}: is a folder; give a file name such as preds.json")
    evaluation = run(args.file, settings, modes=modes, split=args.split, k=args.k, progress=progress,
                     report_dir=args.report, threshold=args.threshold, say=say, asking=asking)
    if args.json:
        print(json.dumps(evaluation.to_json(), ensure_ascii=False, indent=2))
    else:
        print(render_table(evaluation))
    if args.report is not None:
        print(f"report written to {args.report / 'index.html'}", file=sys.stderr)
    if args.predictions is not None:
        for written in write_predictions(evaluation, args.predictions):
            print(f"predictions written to {written}", file=sys.stderr)
    if minimum is not None:
        low = [f"{m} {c:.3f}" for m in modes
               if (c := evaluation.metrics[m].containment) is not None and c < minimum]
        if low:
            print(f"error: containment below {minimum:g}: {', '.join(low)}", file=sys.stderr)
            return 1
    return 0
