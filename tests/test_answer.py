import json

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from qa.answer_types import ABSTAIN_TEXT
from qa.errors import InputError
from qa.render import answer_text

from .conftest import ROOT, read_file

QUESTIONS = [json.loads(line) for line in (ROOT / "seeds" / "questions.jsonl").read_text().splitlines()]


def check_invariants(answer):
    data = answer.to_json()
    assert set(data) >= {"question", "answered", "answer", "quotes", "conflict", "passages"}
    if not answer.answered:
        assert data["answer"] is None and data["quotes"] == []
        return
    assert data["quotes"], "an answer always has a quote"
    first = data["quotes"][0]
    assert first["text"][first["answer_start"]:first["answer_end"]] == data["answer"]
    for q in data["quotes"]:
        assert q["text"] == read_file(q["path"])[q["start"]:q["end"]]
        assert 0 <= q["answer_start"] < q["answer_end"] <= len(q["text"])
        for residue in ("Leave a Reply", "Source link", "Recommended stories", "List of items"):
            assert residue not in q["text"]


@pytest.mark.parametrize("q", QUESTIONS, ids=[q["id"] for q in QUESTIONS])
def test_every_question_keeps_the_invariants(seed_engine, q):
    check_invariants(seed_engine.ask(q["question"]))


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_known_fact_cites_both_documents(seed_engine, mode):
    answer = seed_engine.ask("How many Cuban soldiers were killed?", mode=mode)
    assert answer.answered and answer.answer == "32"
    assert {q.doc_id for q in answer.quotes} == {"000_4cf354647c8c7dec", "001_2feeabb1633a6458"}
    assert not answer.conflict


def test_short_answer_is_marked_in_its_quote(seed_engine):
    answer = seed_engine.ask("How many Cuban soldiers were killed?")
    assert answer.answer == "32"
    for quote in answer.quotes:
        assert quote.text[quote.answer_start:quote.answer_end] == quote.answer == "32"


@pytest.mark.xfail(strict=True, reason="issue 14 open: the reader picks the count of women among the dead")
def test_short_answer_is_marked_in_a_body_sentence(seed_engine):
    answer = seed_engine.ask("How many Venezuelan soldiers were killed?")
    assert answer.answer == "47"
    quote = answer.quotes[0]
    assert "47" in quote.text and quote.answer == "47"
    assert "Nearly 50" not in quote.text  # the headline is not quoted when the body says it
    assert not answer.conflict  # nor does its rounded figure count as a differing value


@pytest.mark.xfail(strict=True, reason="issue 14 open: the learned reader does not reach this on the seeds yet")
def test_conflicting_counts_are_flagged(seed_engine):
    answer = seed_engine.ask("How many Cubans protested outside the U.S. embassy?")
    assert answer.answered and answer.conflict
    values = {v.answer.lower() for v in answer.values}
    assert values == {"tens of thousands", "thousands"}
    assert "Sources differ" in answer_text(answer)


@pytest.mark.parametrize("question", [
    "How many helicopters took part in the raid?",
    "How many tanks were destroyed in the bombing?",
    "What is the name of the U.S. secretary of state?",
])
def test_abstains_on_missing_facts(seed_engine, question):
    answer = seed_engine.ask(question)
    assert not answer.answered and answer.answer is None and answer.quotes == ()
    assert answer.passages, "abstentions still show the nearest passages"
    assert answer_text(answer).startswith(ABSTAIN_TEXT)


@pytest.mark.parametrize("question,error", [
    ("", "empty"), ("   \n\t", "empty"), ("?!?...", "no words"), ("x" * 100_000, "100,000 characters"),
    (None, "must be text"),
])
def test_bad_questions(seed_engine, question, error):
    with pytest.raises(InputError, match=error):
        seed_engine.ask(question)


@pytest.mark.parametrize("question", ["¿Cuántos soldados cubanos murieron?", "古巴有多少士兵死亡？", "the of and",
                                      "Leave a Reply", "47"])
def test_odd_questions_do_not_crash(seed_engine, question):
    check_invariants(seed_engine.ask(question))


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=300))
def test_fuzzed_questions_keep_invariants(seed_engine, text):
    try:
        answer = seed_engine.ask(text)
    except InputError:
        return
    check_invariants(answer)


@pytest.mark.xfail(strict=True, reason="issue 14 open: the right name scores below the threshold once retrieval "
                   "rank left the answerability model")
def test_a_name_is_answered(seed_engine):
    answer = seed_engine.ask("Who is Maduro's wife?")
    assert answer.answered and answer.answer == "Cilia Flores"


def test_json_matches_the_contract(seed_engine):
    data = seed_engine.ask("How many Cuban soldiers were killed?").to_json()
    assert data["answered"] and data["answer"] == "32"
    quote = data["quotes"][0]
    assert list(quote) == ["text", "doc_id", "path", "title", "start", "end", "answer_start", "answer_end", "score"]
    assert {"doc_id", "start", "end", "score"} <= set(data["passages"][0])
    json.dumps(data)


# -- documents nobody here wrote the answer path around -----------------------------------------
BRIDGE = """Mill River approves new bridge to Harbor Town

HARBOR TOWN — The Mill River county council voted 5 to 2 on Tuesday to build a new bridge across the river to Harbor Town. Mayor Elena Brooks of Harbor Town welcomed the decision, saying the crossing would cut travel times in half.

Councillors Tom Reed and Sara Okafor voted against the bridge, citing its cost. Construction will begin in March 2027 and should take two years. The bridge will cost $4.2 million, paid for by the state.
"""


@pytest.fixture(scope="module")
def bridge_engine(tmp_path_factory, st_encoder, cache_dir):
    from qa.engine import Engine
    from qa.settings import Settings

    root = tmp_path_factory.mktemp("bridge")
    (root / "docs").mkdir()
    (root / "docs" / "bridge.txt").write_text(BRIDGE, encoding="utf-8")
    engine = Engine(Settings(index_dir=root / "index", docs=(root / "docs",), cache_dir=cache_dir),
                    document_encoder=st_encoder)
    engine.build()
    return engine


@pytest.mark.parametrize("question,expected", [
    ("Who is the mayor of Harbor Town?", "Elena Brooks"),
    ("When will construction begin?", "March 2027"),
    ("How much will the bridge cost?", "$4.2 million"),
    pytest.param("How many councillors voted for the bridge?", "5", marks=pytest.mark.xfail(
        strict=True, reason="issue 14 open: 'voted 5 to 2' is not read as a count")),
])
def test_a_new_article_is_answered(bridge_engine, question, expected):
    answer = bridge_engine.ask(question)
    check_invariants(answer)
    assert answer.answered and answer.answer == expected


def test_who_voted_against_names_the_councillors(bridge_engine):
    answer = bridge_engine.ask("Who voted against the bridge?")
    assert answer.answered and "Tom Reed" in answer.answer and "Harbor Town" not in answer.answer


@pytest.mark.parametrize("question", [
    "Who designed the bridge?",
    "What is the population of Harbor Town?",
])
def test_a_new_article_that_does_not_say(bridge_engine, question):
    answer = bridge_engine.ask(question)
    assert not answer.answered and answer.passages


def test_threshold_trades_answers_for_caution(bridge_engine):
    question = "Who is the mayor of Harbor Town?"
    assert bridge_engine.ask(question, threshold=0.0).answered
    assert not bridge_engine.ask(question, threshold=1.0).answered
    with pytest.raises(InputError, match="between 0 and 1"):
        bridge_engine.ask(question, threshold=1.5)


def test_citation_names_the_title_only_when_it_adds_something():
    from qa.answer_types import Quote
    from qa.render import citation, count

    headline = Quote("It rained.", "a", "docs/a.txt", "Storm hits the coast", 10, 20, 3, 9, 0.9)
    untitled = Quote("It rained.", "b", "docs/b.txt", "b.txt", 10, 20, 3, 9, 0.9)
    assert citation(1, headline) == "[1] Storm hits the coast — docs/a.txt, characters 10–20"
    assert citation(2, untitled) == "[2] docs/b.txt, characters 10–20"
    assert (count(1, "document"), count(2, "passage"), count(1204, "text")) == \
        ("1 document", "2 passages", "1,204 texts")


@pytest.mark.parametrize("question,count", [
    ("How many routes will be cut?", True),
    ("What number of routes will be cut?", True),
    ("How much will the bridge cost?", False),
    ("How old is the mayor?", False),
    ("What percentage of voters agreed?", False),
    ("Who is the mayor?", False),
])
def test_asks_count(question, count):
    from qa.answer import asks_count
    from qa.question import analyze

    assert asks_count(analyze(question)) is count


def test_a_count_of_a_whole_keeps_the_count_asked_for():
    """Issue 30: "How many routes will be cut?" was answered "9 of its 52"; the answer is "9"."""
    from types import SimpleNamespace

    from qa.answer import Candidate, counted
    from qa.index.documents import Document

    text = "The agency will cut 9 of its 52 bus routes in March."
    retriever = SimpleNamespace(documents={"t": Document("t", "t.txt", "t.txt", text, "0")})
    a, b = text.index("9"), text.index("52") + 2
    c = Candidate("t", a, b, 0, 0, 0, {}, 0.9)
    cut = counted(c, retriever)
    assert text[cut.start:cut.end] == "9" and (cut.first_sentence, cut.probability) == (0, 0.9)
    plain = Candidate("t", a, a + 1, 0, 0, 0, {}, 0.9)
    assert counted(plain, retriever) is plain
