"""The shape an answer should have: a number for "how many", a date for "when", a name for "who",
and for "how many X" the count of X."""
import pytest

from qa.expected import counted, fits, names_count, type_features
from qa.question import Kind, analyze


@pytest.mark.parametrize("kind, span, expected", [
    (Kind.NUMBER, "47", True), (Kind.NUMBER, "nine", True), (Kind.NUMBER, "tens of thousands", True),
    (Kind.NUMBER, "the mayor", False), (Kind.NUMBER, "", False),
    (Kind.DATE, "March 2027", True), (Kind.DATE, "the 19th century", True), (Kind.DATE, "1921", True),
    (Kind.DATE, "the harbour", False),
    (Kind.PERSON, "Ana López", True), (Kind.PERSON, "the mayor", False), (Kind.PERSON, "The", False),
    (Kind.ORGANIZATION, "Transit Co.", True), (Kind.PLACE, "in Lisbon", True), (Kind.PLACE, "42", False),
    (Kind.REASON, "because it rained", None), (Kind.OTHER, "", None),
])
def test_a_span_fits_the_kind_of_answer_asked_for(kind, span, expected):
    assert fits(kind, span) is expected


@pytest.mark.parametrize("question, nouns", [
    ("How many Venezuelan soldiers were killed?", ("venezuelan", "soldier")),
    ("how many drivers does the district need", ("driver",)),
    ("And how many of them were women?", ()),
    ("How much did it cost?", ()),
    ("Who founded the bakery?", ()),
    ("How many?", ()),
])
def test_what_a_how_many_question_counts(question, nouns):
    assert counted(question) == nouns


def test_a_count_of_another_thing_is_flagged():
    q = "How many soldiers were killed?"
    assert names_count(q, "47", " soldiers, including nine women, were killed") is True
    assert names_count(q, "nine", " women, were killed") is False
    assert names_count(q, "47 soldiers", "") is True
    assert names_count("Who won?", "Ana", "") is None
    assert type_features(q, "nine", " women") == {"type_mismatch": 0.0, "count_mismatch": 1.0}
    assert type_features("When did it open?", "the mayor", "") == {"type_mismatch": 1.0, "count_mismatch": 0.0}
    assert type_features("What did they eat?", "bread", "") == {"type_mismatch": 0.0, "count_mismatch": 0.0}


@pytest.mark.parametrize("question", ["Which company operates the buses?", "What agency runs the port?"])
def test_a_which_company_question_asks_for_an_organization(question):
    assert analyze(question).kind is Kind.ORGANIZATION
