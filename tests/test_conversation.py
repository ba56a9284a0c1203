import pytest

from qa.answer_types import Answer
from qa.conversation import Turn, resolution_of, resolve


def turn(question, answer=None, kind="number"):
    return Turn(question, question, Answer(question, answer is not None, answer, (), False, (), (), kind))


@pytest.mark.parametrize("history,question,expected", [
    ([], "Who is his wife?", "Who is his wife?"),
    ([turn("Who was abducted?", "Nicolás Maduro", "person")], "Who is his wife?", "Who is Nicolás Maduro’s wife?"),
    ([turn("Who is Venezuela's defense minister?", "Vladimir Padrino López", "person")],
     "What did he say about the soldiers?", "What did Vladimir Padrino López say about the soldiers?"),
    ([turn("How many Venezuelan soldiers were killed?", "47")], "And how many were Cuban?",
     "How many Cuban soldiers were killed?"),
    ([turn("How many Venezuelan troops died in the U.S. raid?", "47")], "And how many of them were women?",
     "How many of the Venezuelan troops were women?"),
    ([turn("How many Venezuelan soldiers were killed?", "47")], "How many were injured?",
     "How many Venezuelan soldiers were injured?"),
    ([turn("Which square did they gather in?", "José Martí Anti-Imperialist Plaza", "place")],
     "Where is it?", "Where is José Martí Anti-Imperialist Plaza?"),
    ([turn("Who leads Cuba?", "Miguel Diaz-Canel", "person")], "What did she say?", "What did Miguel Diaz-Canel say?"),
])
def test_resolve(history, question, expected):
    assert resolve(question, history) == expected


@pytest.mark.parametrize("history,question,expected", [
    # seen rewritten into "What happened — And how many of the Venezuelan soldiers were women?"
    ([turn("And how many of the Venezuelan soldiers were women?", "nine")], "What happened?", "What happened?"),
    ([turn("How many votes did Bergen cast?", "4,100")], "What about Oslo?", "How many votes did Oslo cast?"),
    ([turn("How many votes did Bergen and Oslo cast?", "4,100")], "What about Tromsø?", "What about Tromsø?"),
    ([turn("How many Cuban soldiers were killed?", "32")], "Who was abducted with his wife?",
     "Who was abducted with his wife?"),  # "Cuban" is no person
    ([turn("How many votes were cast?", "4,100")], "When did it start?", "When did it start?"),
])
def test_unresolvable_follow_up_is_asked_as_it_stands(history, question, expected):
    resolution = resolution_of(question, history)
    assert resolution.text == expected
    assert resolution.unresolved == (expected == question)


def test_plural_possessive_is_well_formed():
    # seen as "Who led the Venezuelan soldiers’s country's armed forces?"
    history = [turn("And how many of the Venezuelan soldiers were women?", "nine")]
    assert resolve("Who led their country's armed forces?", history) == \
        "Who led the Venezuelan soldiers’ country's armed forces?"


def test_turn_note():
    answer = Answer("q", False, None, (), False, (), (), "other")
    assert Turn("What happened?", "What happened?", answer, unresolved=True).note.startswith("asked as it stands")
    assert Turn("And how many were Cuban?", "How many Cuban soldiers were killed?", answer).note == \
        "understood as: How many Cuban soldiers were killed?"
    assert Turn("Who won?", "Who won?", answer).note is None


def test_self_contained_question_is_unchanged():
    history = [turn("How many Venezuelan soldiers were killed?", "47")]
    assert resolve("Where did Cubans protest?", history) == "Where did Cubans protest?"


def test_follow_up_end_to_end(seed_engine):
    conv = seed_engine.conversation()
    first = conv.ask("How many Venezuelan soldiers were killed?")
    assert first.answer.passages
    second = conv.ask("And how many were Cuban?")
    assert second.resolved == "How many Cuban soldiers were killed?"
    assert second.answer.answered and second.answer.answer == "32"
    third = conv.ask("Who was abducted with his wife?")
    assert third.answer.answered
    conv.reset()
    assert conv.turns == []
