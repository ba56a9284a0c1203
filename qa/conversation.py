"""Conversations: follow-up questions resolved against earlier turns before retrieval. No LLM.

Rules, in order:
* person pronouns (he, his, she, her, him) become the last person the conversation named: the
  previous answer when it was a name, else a name in the previous question;
* they/them/their and "of them" become the previous question's subject ("the striking workers");
* it/its/there become the previous answer when it was a place or an organisation;
* "And how many were injured?" borrows the rest of a previous counting question: "How many
  workers were injured in the fire?";
* "What about Oslo?" swaps the new name for the one name of the previous question.

A follow-up that needs the earlier turns (a pronoun, or too few words of its own) but fits none of
these rules is asked as it stands, and the turn says so: a guessed rewrite is worse than none.
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
from .index.tokenize import STOPWORDS, words

if TYPE_CHECKING:
    from .engine import Engine

PERSON_PRONOUNS = {"he": "", "him": "", "his": "’s", "she": "", "hers": "’s"}
GROUP_PRONOUNS = ("them", "they", "their")
THING_PRONOUNS = ("it", "its", "there")
# Words that make a question lean on earlier turns ("there" left out: "Were there injuries?").
_REFERRING = frozenset((*PERSON_PRONOUNS, "her", *GROUP_PRONOUNS, "it", "its"))
_LEAD = re.compile(r"(?i)^\s*(?:and|but|also|so|then|ok(?:ay)?|what about|how about|and what about)\b[\s,]*")


UNRESOLVED = "asked as it stands: it seems to refer to an earlier question, but it could not be tied to one"


@dataclass(frozen=True)
class Turn:
    question: str
    resolved: str
    answer: Answer
    unresolved: bool = False  # it seemed to refer to earlier turns, but was asked as it stands

    @property
    def note(self) -> str | None:
        """What to tell the user about how the question was read (None: nothing to say)."""
        if self.unresolved:
            return UNRESOLVED
        return f"understood as: {self.resolved}" if self.resolved != self.question else None


@dataclass(frozen=True)
class Resolution:
    text: str  # the question to search and read
    unresolved: bool  # it needed the earlier turns and no rule could use them


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
        resolution = resolution_of(question, self.turns)
        answer = self.engine.ask(question, mode, k, threshold=threshold, query=resolution.text)
        turn = Turn(answer.question, resolution.text, answer, resolution.unresolved)
        self.turns.append(turn)
        return turn


def _last_person(turns: list[Turn]) -> str | None:
    """The previous answer when it was a person, else a full name (two words or more) of the
    previous question; a lone capitalised word there is as often a place or an adjective."""
    for turn in reversed(turns):
        a = turn.answer
        if a.answered and a.kind == Kind.PERSON.value and a.answer:
            return a.answer
        names = [turn.resolved[x:y] for x, y in _names(turn.resolved)]
        names = [n for n in names if len(n.split()) >= 2]
        if names:
            return names[-1]
    return None


def _subject(question: str) -> str | None:
    """The noun phrase a question is about: "how many of the striking workers stayed" -> "striking
    workers"."""
    m = re.search(r"(?i)\b(?:how many|how much|which|what)\s+(?:of\s+)?(?:the\s+)?"
                  r"((?:\w[\w’'-]*\s+){0,3}?\w[\w’'-]*)\s+"
                  r"(?:is|are|was|were|did|do|does|have|has|had|will|died|lost|took|got)\b", question)
    return m.group(1) if m else None


def _possessive(phrase: str) -> str:
    """ "the workers" -> "the workers’", "Ana" -> "Ana’s"."""
    return phrase + ("’" if phrase.endswith("s") and not phrase.endswith("ss") else "’s")


def _strip(question: str) -> str:
    return question.strip().rstrip("?").strip()


def _is_elliptical(question: str) -> bool:
    content = [w for w in words(question) if w not in STOPWORDS and w not in AUXILIARIES
               and w not in ("many", "much", "about", "what", "how")]
    return bool(_LEAD.match(question)) or len(content) <= 1


def _names(question: str) -> list[tuple[int, int]]:
    """Name spans of a question, its leading wh-word or conjunction left out."""
    return [(a, b) for a, b in name_spans(question)
            if question[a:b].split()[0].lower() not in ("how", "what", "who", "which", "when", "where", "why",
                                                         "and", "but", "so")]


_NAME = re.compile(r"^[A-Z][\w’'.-]*(?:\s+(?:(?:of|de|del|la|van|von|the)\s+)?[A-Z][\w’'.-]*)*$")
_OPENING = re.compile(r"(?i)^\s*(?:and|but|also|so|then)\s*,?\s+(?=(?:how|what|who|whom|whose|which|when|where|"
                      r"why|is|are|was|were|did|do|does)\b)")


def _tidy(text: str) -> str:
    """Drop a leading "And"/"But" before the question word and capitalise."""
    text = _OPENING.sub("", text)
    return text[:1].upper() + text[1:]


def _elliptical(question: str, prev: Turn, subject: str | None) -> str | None:
    """A rewrite of a short follow-up from the previous question, or None when no rule fits."""
    body = _strip(_LEAD.sub("", question))
    m = re.match(r"(?i)^how many (?:were|was|are|is)\s+(\w[\w’'-]*)$", body)
    if m and analyze(prev.resolved).kind is Kind.NUMBER and subject:
        head = subject.split()[-1]
        rest = re.split(re.escape(subject), prev.resolved, maxsplit=1)[-1]
        word = m.group(1)
        if word.lower().endswith(("ed", "en")):
            return f"How many {subject} were {word}?"
        return f"How many {word} {head}{rest.rstrip('?')}?".replace("  ", " ")
    # "What about Oslo?" after "How many votes did Bergen cast?": the new name replaces the only one.
    previous = _names(prev.resolved)
    if len(previous) == 1 and _NAME.match(body):
        a, b = previous[0]
        return f"{prev.resolved[:a]}{body}{prev.resolved[b:]}"
    return None


def resolve(question: str, turns: list[Turn]) -> str:
    """Rewrite a follow-up into a self-contained question; other questions, and follow-ups no rule
    can resolve, come back unchanged."""
    return resolution_of(question, turns).text


def resolution_of(question: str, turns: list[Turn]) -> Resolution:
    tokens = [w.lower() for w in re.findall(r"[\w’']+", question)]
    refers = any(t in _REFERRING for t in tokens)
    if not turns:
        return Resolution(question, False)
    prev = turns[-1]
    text = question
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
                    return _possessive(person) if possessive else person
                return _possessive(person) if PERSON_PRONOUNS[word] else person
            text = re.sub(r"(?i)\b(?:he|him|his|she|hers|her)\b", repl, text)
            changed = True

    subject = _subject(prev.resolved)
    if any(t in GROUP_PRONOUNS for t in tokens) and subject:
        group = f"the {subject}"
        text = re.sub(r"(?i)\bof (?:them|those)\b", f"of {group}", text)
        text = re.sub(r"(?i)\b(?:they|them)\b", group, text)
        text = re.sub(r"(?i)\btheir\b", _possessive(group), text)
        changed = True

    if any(t in THING_PRONOUNS for t in tokens) and prev.answer.answered and prev.answer.answer and \
            prev.answer.kind in (Kind.PLACE.value, Kind.ORGANIZATION.value):
        text = re.sub(r"(?i)\b(?:it|there)\b", prev.answer.answer, text)
        text = re.sub(r"(?i)\bits\b", _possessive(prev.answer.answer), text)
        changed = True

    if changed:
        if any(t in _REFERRING for t in re.findall(r"[\w’']+", text.lower())):
            return Resolution(question, True)  # a pronoun no rule could fill: not confident
        return Resolution(_tidy(text), False)
    if _is_elliptical(question):
        rewritten = _elliptical(question, prev, subject)
        return Resolution(question, True) if rewritten is None else Resolution(rewritten, False)
    return Resolution(question, refers)
