"""Reading-comprehension examples for the reader: SQuAD articles, split by article, and the
negatives that teach it to say "no answer here".

Nothing here imports torch: the calibration and evaluation commands use it too.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import DocumentError
from ..spans import opens_sentence

# Articles held out by name (never by question: questions of one article share its paragraphs).
# Validation: measured only. Calibration: fits the answerability model and the threshold; the
# reader never sees it. Each holds one of the two articles with real unanswerable questions.
# The validation set is the three articles held out before the whole SQuAD 1.1 training set came,
# plus the 20 articles of squad1-train-432-articles.json whose titles' SHA-256 (UTF-8, hex) sort
# first (4,733 questions): a rule, not a choice, so nothing about them was looked at first.
VALIDATION_ARTICLES = (
    "Spectre_(2015_film)", "To_Kill_a_Mockingbird", "Force",
    "Houston", "Eritrea", "Black_people", "Infrared", "Samurai", "Software_testing", "Nigeria",
    "Biodiversity", "Tajikistan", "Immaculate_Conception", "Tucson,_Arizona", "Lighting", "Detroit",
    "John_von_Neumann", "Adolescence", "General_Electric", "United_States_presidential_election,_2004",
    "Premier_League", "Humanism", "American_Idol",
)
CALIBRATION_ARTICLES = ("The_Legend_of_Zelda:_Twilight_Princess", "Solar_energy")


@dataclass(frozen=True)
class Example:
    """A question against one context; ``answer_start`` is -1 when the context does not answer it."""

    qid: str
    question: str
    context: str
    answer_start: int
    answer_text: str
    kind: str  # "gold", "real-negative", "other-paragraph", "swapped"


@dataclass(frozen=True)
class Article:
    title: str
    paragraphs: tuple[str, ...]
    questions: tuple[tuple[str, str, int, tuple[str, ...], tuple[int, ...]], ...]
    # (qid, question, paragraph index, answer texts, answer starts); no answers = unanswerable


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_squad_folder(folder: Path) -> list[Article]:
    """Every article of the SQuAD JSON files in ``folder``. A missing folder, one without SQuAD
    files, or one that lacks the held-out articles is a DocumentError, never a quiet run on less."""
    files = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not files:
        raise DocumentError(f"no SQuAD JSON files in {folder}; pass --squad FOLDER (the shared data is in "
                            "../shared/data/squad beside the project)")
    articles = [a for f in files for a in read_squad(f)]
    titles = {a.title for a in articles}
    missing = [t for t in VALIDATION_ARTICLES + CALIBRATION_ARTICLES if t not in titles]
    if missing:
        raise DocumentError(f"{folder} lacks the held-out articles {', '.join(missing)}; pass --squad with the "
                            "shared SQuAD files")
    return articles


def read_squad(path: Path) -> list[Article]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(f"{path} is not readable SQuAD JSON ({type(exc).__name__}); fix or remove it") from None
    out = []
    for art in data:
        paragraphs, questions = [], []
        for pi, p in enumerate(art["paragraphs"]):
            paragraphs.append(p["context"])
            for q in p["qas"]:
                answers = [] if q.get("is_impossible") else q["answers"]
                questions.append((q["id"], q["question"], pi, tuple(a["text"] for a in answers),
                                  tuple(int(a["answer_start"]) for a in answers)))
        out.append(Article(art["title"], tuple(paragraphs), tuple(questions)))
    return out


_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 2}


def _swap_candidates(question: str) -> list[re.Match]:
    """Words a question hinges on: numbers and capitalised words after the first."""
    ms = list(re.finditer(r"\b(?:\d[\d,.]*|[A-Z][\w'-]+)\b", question))
    return [m for m in ms if m.start() > 0]


def _shape(token: str) -> str:
    return "number" if token[0].isdigit() else "name"


def _swapped(question: str, ctx: str, rng: random.Random, pool_of: Callable[[str], list[str]]) -> str | None:
    """``question`` with one of its names or numbers found in ``ctx`` replaced by a word of
    ``pool_of(that word)``; None when there is none to replace or nothing to put in its place."""
    present = [m for m in _swap_candidates(question) if m.group() in ctx]
    if not present:
        return None
    m = rng.choice(present)
    pool = pool_of(m.group())
    return question[:m.start()] + rng.choice(pool) + question[m.end():] if pool else None


_VOCAB = re.compile(r"\b(?:\d[\d,.]*\d|\d|[A-Z][a-z][\w'-]+)\b")


def _vocab(texts: list[str] | tuple[str, ...], *, mid_sentence: bool = False) -> dict[str, set[str]]:
    """Numbers and capitalised words of ``texts`` by shape; with ``mid_sentence``, a word that
    opens a sentence ("Meanwhile") is not taken for a name."""
    out: dict[str, set[str]] = {"number": set(), "name": set()}
    for t in texts:
        for m in _VOCAB.finditer(t):
            if not (mid_sentence and _shape(m.group()) == "name" and opens_sentence(t, m.start())):
                out[_shape(m.group())].add(m.group())
    return out


def examples(articles: list[Article], *, seed: int, other_rate: float, swap_rate: float,
             inside_swap_rate: float = 0.0) -> list[Example]:
    """Gold examples plus synthetic negatives:

    * other-paragraph: the question against the paragraph of its article that shares most words
      with it but holds none of its answers (what open retrieval puts in front of the reader);
    * swapped: one number or name of the question replaced by another of the same shape from
      elsewhere in the article and absent from the paragraph, read against the gold paragraph
      (how SQuAD 2.0's unanswerable questions were written);
    * swapped-inside: the same, the replacement taken from the gold paragraph itself (another
      name or number it mentions that the question does not), so that every word of the question
      is still in the paragraph, as in many of SQuAD 2.0's crowd-written unanswerable questions
      (word overlap cannot tell them from answerable ones). Measured and off by default (README).
    """
    rng = random.Random(seed)
    inside_rng = random.Random(seed + 1)  # its own stream: the other kinds do not move with its rate
    out: list[Example] = []
    for art in articles:
        para_words = [_words(p) for p in art.paragraphs]
        vocab = _vocab(art.paragraphs)
        for qid, question, pi, texts, starts in art.questions:
            ctx = art.paragraphs[pi]
            if texts:
                out.append(Example(qid, question, ctx, starts[0], texts[0], "gold"))
            else:
                out.append(Example(qid, question, ctx, -1, "", "real-negative"))
                continue
            if rng.random() < other_rate and len(art.paragraphs) > 1:
                qw = _words(question)
                ranked = sorted((len(qw & para_words[j]), j) for j in range(len(art.paragraphs)) if j != pi
                                and not any(t.lower() in art.paragraphs[j].lower() for t in texts))
                if ranked:
                    j = ranked[-1][1]
                    out.append(Example(qid + "#other", question, art.paragraphs[j], -1, "", "other-paragraph"))
            if rng.random() < swap_rate:
                swapped = _swapped(question, ctx, rng, lambda word: sorted(
                    w for w in vocab[_shape(word)] if w not in ctx and w != word))
                if swapped:
                    out.append(Example(qid + "#swap", swapped, ctx, -1, "", "swapped"))
            if inside_swap_rate and inside_rng.random() < inside_swap_rate:
                swapped = _swapped(question, ctx, inside_rng, lambda word: sorted(
                    w for w in _vocab([ctx], mid_sentence=True)[_shape(word)]
                    if w not in question and not any(w in t or t in w for t in texts)))
                if swapped:
                    out.append(Example(qid + "#inside", swapped, ctx, -1, "", "swapped-inside"))
    return out


def split(articles: list[Article]) -> tuple[list[Article], list[Article], list[Article]]:
    """(train, calibration, validation) by article title."""
    train = [a for a in articles if a.title not in VALIDATION_ARTICLES + CALIBRATION_ARTICLES]
    cal = [a for a in articles if a.title in CALIBRATION_ARTICLES]
    val = [a for a in articles if a.title in VALIDATION_ARTICLES]
    return train, cal, val


def sample(articles: list[Article], share: float, *, seed: int) -> list[Article]:
    """The articles with each question kept at random with probability ``share`` (their paragraphs
    all kept): less training data, for a learning curve. ``share`` 1 keeps every question."""
    if share >= 1.0:
        return list(articles)
    rng = random.Random(seed)
    return [replace(a, questions=tuple(q for q in a.questions if rng.random() < share)) for a in articles]


def seed_dev_article(questions: Path, docs: Path) -> Article:
    """The dev split of a question set over its documents, as one article whose paragraphs are the
    documents' blank-line-separated blocks; each question is placed on the block that holds its
    first answer (or, for an unanswerable one, the block sharing most words with it). Follow-ups
    are left out (they need the conversation). The test split is never read."""
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(docs.iterdir()) if p.suffix in (".txt", ".md")}
    paragraphs: list[str] = []
    for text in texts.values():
        paragraphs += [b.strip() for b in re.split(r"\n\s*\n", text) if len(b.strip()) > 40]
    pwords = [_words(p) for p in paragraphs]
    out = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("split") != "dev" or row.get("follows"):
            continue
        placed = None
        for ans in row["answers"]:
            for pi, p in enumerate(paragraphs):
                at = p.find(ans)
                if at >= 0:
                    placed = (pi, (ans,), (at,))
                    break
            if placed:
                break
        if placed is None and not row["answers"]:
            qw = _words(row["question"])
            best = max(range(len(paragraphs)), key=lambda j: len(qw & pwords[j]))
            placed = (best, (), ())
        if placed:
            out.append((row["id"], row["question"], *placed))
    return Article("seeds-dev", tuple(paragraphs), tuple(out))
