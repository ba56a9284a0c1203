"""Reading SQuAD v1.1 and v2.0 JSON as a question set whose contexts are the corpus.

Each distinct context becomes one document, ``squad_0001.txt`` and so on in order of first
appearance, written byte for byte so that quotes can be checked against the files. A question's
gold document is its context; its answers are the distinct answer texts. v2.0 questions marked
``is_impossible`` are unanswerable (their ``plausible_answers`` are ignored).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .metrics import GoldQuestion

DOC_PREFIX = "squad_"


@dataclass(frozen=True)
class SquadSet:
    version: str
    contexts: tuple[tuple[str, str], ...]  # (doc_id, text)
    questions: tuple[GoldQuestion, ...]


def is_squad(data: object) -> bool:
    return isinstance(data, dict) and isinstance(data.get("data"), list)


def parse_squad(data: dict, source: str = "SQuAD file") -> SquadSet:
    """The contexts and questions of a parsed SQuAD JSON object; raises InputError naming what is wrong."""
    if not is_squad(data):
        raise InputError(f"{source}: not SQuAD JSON (no top-level 'data' list)")
    paragraphs = []
    for a, article in enumerate(data["data"]):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise InputError(f"{source}: data[{a}] has no 'paragraphs' list")
        for p, paragraph in enumerate(article["paragraphs"]):
            where = f"{source}: data[{a}].paragraphs[{p}]"
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not isinstance(paragraph.get("qas"), list):
                raise InputError(f"{where} needs a 'context' string and a 'qas' list")
            paragraphs.append((where, context, paragraph["qas"]))
    width = max(4, len(str(len(paragraphs))))
    doc_ids: dict[str, str] = {}
    questions: list[GoldQuestion] = []
    seen: set[str] = set()
    for where, context, qas in paragraphs:
        if not context.strip() or "\x00" in context:
            raise InputError(f"{where}: the context is empty or not text")
        doc_id = doc_ids.setdefault(context, f"{DOC_PREFIX}{len(doc_ids) + 1:0{width}d}")
        for i, qa in enumerate(qas):
            questions.append(_question(qa, f"{where}.qas[{i}]", doc_id, seen))
    if not questions:
        raise InputError(f"{source}: no questions in the file")
    contexts = tuple((doc_id, text) for text, doc_id in doc_ids.items())
    return SquadSet(str(data.get("version", "")), contexts, tuple(questions))


def _question(qa: object, where: str, doc_id: str, seen: set[str]) -> GoldQuestion:
    if not isinstance(qa, dict):
        raise InputError(f"{where}: expected an object")
    qid, text = qa.get("id"), qa.get("question")
    if not isinstance(qid, str) or not qid.strip():
        raise InputError(f"{where}: 'id' must be a non-empty string")
    if qid in seen:
        raise InputError(f"{where}: duplicate id {qid!r}")
    seen.add(qid)
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where} ({qid}): 'question' must be a non-empty string")
    impossible = qa.get("is_impossible", False)
    if not isinstance(impossible, bool):
        raise InputError(f"{where} ({qid}): 'is_impossible' must be true or false")
    raw = qa.get("answers", [])
    if not isinstance(raw, list) or not all(isinstance(a, dict) and isinstance(a.get("text"), str) for a in raw):
        raise InputError(f"{where} ({qid}): 'answers' must be a list of objects with a 'text' string")
    answers = () if impossible else tuple(dict.fromkeys(a["text"].strip() for a in raw if a["text"].strip()))
    return GoldQuestion(id=qid, question=text.strip(), answers=answers, doc_ids=(doc_id,))


def write_corpus(squad: SquadSet, folder: Path) -> None:
    """Write each context to ``folder/<doc_id>.txt`` exactly (UTF-8, no newline translation)."""
    folder.mkdir(parents=True, exist_ok=True)
    for doc_id, text in squad.contexts:
        with open(folder / f"{doc_id}.txt", "w", encoding="utf-8", newline="") as f:
            f.write(text)
