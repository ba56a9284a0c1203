"""Conversations: follow-up questions resolved against earlier turns before retrieval. No LLM.

Rules, in order:
* person pronouns (he, his, she, her, him) become the last person the conversation named: the
  previous answer when it was a name, else a name in the previous question;
* they/them/their and "of them" become the previous question's subject ("the striking workers");
* it/its/there become the previous answer when it was a place or an organisation;
* an elliptical question ("And how many were injured?", "What about Oslo?") borrows the rest of the
  previous question: "How many workers were injured in the fire?".
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

from .answer_types import Answer
from .inputs import clean_question
from .question import AUXILIARIES, Kind, analyze
from .settings import Mode
from .spans import names as name_spans
from .tokenize import STOPWORDS, words

if TYPE_CHECKING:
    from .engine import Engine

PERSON_PRONOUNS = {"he": "", "him": "", "his": "’s", "she": "", "hers": "’s"}
GROUP_PRONOUNS = ("them", "they", "their")
THING_PRONOUNS = ("it", "its", "there")
_LEAD = re.compile(r"(?i)^\s*(?:and|but|also|so|then|ok(?:ay)?|what about|how about|and what about)\b[\s,]*")


@dataclass(frozen=True)
class Turn:
    question: str
    resolved: str
    answer: Answer


@dataclass
class Conversation:
    """Keeps the turns of one chat. ``ask`` resolves follow-ups, then answers."""

    engine: Engine
    turns: list[Turn] = field(default_factory=list)

    def reset(self) -> None:
        self.turns.clear()

    def resolve(self, question: str) -> str:
        return resolve(question, self.turns)

    def ask(self, question: str, mode: Mode | str = Mode.HYBRID, k: int = 5, *,
            threshold: float | None = None) -> Turn:
        question = clean_question(question, self.engine.settings.max_question_chars)
        resolved = self.resolve(question)
        answer = self.engine.ask(question, mode, k, threshold=threshold, query=resolved)
        turn = Turn(answer.question, resolved, answer)
        self.turns.append(turn)
        return turn


def _last_person(turns: list[Turn]) -> str | None:
    for turn in reversed(turns):
        a = turn.answer
        if a.answered and a.kind in (Kind.PERSON.value,) and a.answer:
            return a.answer
        names = [turn.resolved[x:y] for x, y in name_spans(turn.resolved)]
        names = [n for n in names if n.split()[0].lower() not in ("how", "what", "who", "which", "when",
                                                                  "where", "why", "and")]
        if names:
            return names[-1]
    return None


def _subject(question: str) -> str | None:
    """The noun phrase a question is about: "how many striking workers stayed" -> "striking workers"."""
    m = re.search(r"(?i)\b(?:how many|how much|which|what)\s+((?:\w[\w’'-]*\s+){0,3}?\w[\w’'-]*)\s+"
                  r"(?:is|are|was|were|did|do|does|have|has|had|will|died|lost|took|got)\b", question)
    if not m:
        return None
    return m.group(1)


def _strip(question: str) -> str:
    return question.strip().rstrip("?").strip()


def _is_elliptical(question: str) -> bool:
    content = [w for w in words(question) if w not in STOPWORDS and w not in AUXILIARIES
               and w not in ("many", "much", "about", "what", "how")]
    return bool(_LEAD.match(question)) or len(content) <= 1


def resolve(question: str, turns: list[Turn]) -> str:
    """Rewrite a follow-up into a self-contained question; other questions come back unchanged."""
    if not turns:
        return question
    prev = turns[-1]
    text = question
    tokens = [w.lower() for w in re.findall(r"[\w’']+", text)]
    changed = False

    if any(t in PERSON_PRONOUNS for t in tokens) or ("her" in tokens):
        person = _last_person(turns)
        if person:
            def repl(m: re.Match) -> str:
                word = m.group(0).lower()
                nxt = text[m.end():].lstrip()
                if word == "her":
                    nxt_word = re.match(r"[\w’']+", nxt)
                    possessive = bool(nxt_word) and nxt_word.group(0).lower() not in STOPWORDS \
                        and nxt_word.group(0).lower() not in AUXILIARIES
                    return person + ("’s" if possessive else "")
                return person + PERSON_PRONOUNS[word]
            text = re.sub(r"(?i)\b(?:he|him|his|she|hers|her)\b", repl, text)
            changed = True

    subject = _subject(prev.resolved)
    if any(t in GROUP_PRONOUNS for t in tokens) and subject:
        text = re.sub(r"(?i)\bof (?:them|those)\b", f"of the {subject}", text)
        text = re.sub(r"(?i)\b(?:they|them)\b", f"the {subject}", text)
        text = re.sub(r"(?i)\btheir\b", f"the {subject}’s", text)
        changed = True

    if any(t in THING_PRONOUNS for t in tokens) and prev.answer.answered and prev.answer.answer and \
            prev.answer.kind in (Kind.PLACE.value, Kind.ORGANIZATION.value):
        text = re.sub(r"(?i)\b(?:it|there)\b", prev.answer.answer, text)
        text = re.sub(r"(?i)\bits\b", prev.answer.answer + "’s", text)
        changed = True

    if not changed and _is_elliptical(question):
        body = _LEAD.sub("", question)
        m = re.match(r"(?i)^how many (?:were|was|are|is)\s+(\w[\w’'-]*)\s*\??$", body.strip())
        prev_q = analyze(prev.resolved)
        if m and prev_q.kind is Kind.NUMBER and subject:
            head = subject.split()[-1]
            rest = re.split(re.escape(subject), prev.resolved, maxsplit=1)[-1]
            word = m.group(1)
            if word.lower().endswith(("ed", "en")):
                return f"How many {subject} were {word}?"
            return f"How many {word} {head}{rest.rstrip('?')}?".replace("  ", " ")
        # Borrow the previous question's content: "What about Oslo?" after "How many votes did
        # Bergen cast?" keeps the question and swaps in the new words.
        return f"{_strip(body) or _strip(question)} — {_strip(prev.resolved)}?"
    return text
