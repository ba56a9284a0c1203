"""Tests for qa/metrics.py, qa/squad.py, qa/evaluate.py and qa/report.py.

Metric functions are checked on hand-computed cases. `qa eval` is run through the real entry point
on a tiny SQuAD v2 file (tests/data/squad_tiny_v2.json) and on a subset of seeds/questions.jsonl;
those tests assert what does not depend on the answerer's choices: counts, retrieval numbers that
follow from the corpus, metrics recomputed by hand from the per-question results, and quotes
checked against the files.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa import metrics as M
from qa.cli import main
from qa.errors import InputError
from qa.evaluate import _ask, chain, prediction_paths, read_jsonl
from qa.reader.model import read_card
from qa.squad import parse_squad

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SQUAD = ROOT / "tests" / "data" / "squad_tiny_v2.json"
MODES = ("bm25", "dense", "hybrid")
ASK_KEYS = {"question", "answered", "answer", "quotes", "conflict", "passages"}


def usage_error(argv: list[str]) -> str:
    """The message of a usage error (exit 2) that ``qa ARGV`` gives."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return err.getvalue()


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


# -- answer matching ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, answer, expected", [
    ("47 Venezuelan soldiers were killed", "47", True),
    ("it was built in 1947", "47", False),  # whole words only
    ("President Nicolás Maduro", "nicolas maduro", True),  # case and accents folded
    ("Maduro’s wife", "Maduro's", True),  # curly apostrophe
    ("Díaz‑Canel said", "Diaz-Canel", True),  # non-breaking hyphen
    ("nine\n  women", "nine women", True),  # whitespace collapsed
    ("a 64-year-old man", "64", True),
    ("", "47", False),
    ("47 soldiers", "", False),
    ("47 soldiers", "   ", False),
])
def test_contains_answer(text, answer, expected):
    assert M.contains_answer(text, answer) is expected


def test_contains_any_of_no_answers_is_false():
    assert M.contains_any("anything", []) is False


# -- SQuAD scores -------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("The  Wuyi Mountains!", "wuyi mountains"),
    ("“Emperor”", "“emperor”"),  # the official script removes ASCII punctuation only
    ("$5+ (approx.)", "5 approx"),  # string.punctuation holds symbols too
    ("The A-Team", "ateam"),  # punctuation goes before articles: "a-team" is one word
    ("an answer, a theory", "answer theory"),  # articles as whole words only
    ("THE", ""),
    ("", ""),
])
def test_normalize_answer(text, expected):
    assert M.normalize_answer(text) == expected


@pytest.mark.parametrize("prediction, gold, em, f1", [
    ("1873", "1873", 1.0, 1.0),
    ("the Wuyi Mountains", "Wuyi mountains.", 1.0, 1.0),
    ("pinewood", "pinewood fires", 0.0, 2 / 3),  # P=1, R=1/2
    ("the cat sat", "a cat", 0.0, 2 / 3),  # tokens [cat, sat] vs [cat]: P=1/2, R=1
    ("dog", "cat", 0.0, 0.0),
    ("", "", 1.0, 1.0),
    ("", "cat", 0.0, 0.0),
    ("the", "a", 1.0, 1.0),  # both normalize to nothing
])
def test_exact_match_and_token_f1(prediction, gold, em, f1):
    assert M.exact_match(prediction, gold) == em
    assert M.token_f1(prediction, gold) == pytest.approx(f1)


@pytest.mark.parametrize("prediction, golds, expected", [
    ("pinewood", ["pinewood fires", "pinewood"], (1.0, 1.0)),  # the best gold answer counts
    ("pinewood", ["pinewood fires", "oak"], (0.0, 2 / 3)),  # exact and F1 each take their own max
    ("", ["pinewood"], (0.0, 0.0)),  # abstained on an answerable question
    ("", [], (1.0, 1.0)),  # abstained on an unanswerable one
    ("pinewood", [], (0.0, 0.0)),
    ("the", [], (1.0, 1.0)),  # as the official script: it normalizes to nothing
    ("", ["the", "."], (1.0, 1.0)),  # gold answers that normalize to nothing are dropped: gold is ""
    ("pinewood", ["a", "pinewood"], (1.0, 1.0)),
])
def test_squad_score(prediction, golds, expected):
    assert M.squad_score(prediction, golds) == pytest.approx(expected)


def test_squad_figures_by_hand():
    items = [(["Wuyi Mountains"], "the Wuyi mountains"),  # exact 1, F1 1
             (["pinewood fires", "oak"], "pinewood"),  # exact 0, F1 2/3
             (["1873"], ""),  # abstained on an answerable question: 0, 0
             ([], ""),  # abstained on an unanswerable one: 1, 1
             ([], "Brindle")]  # answered an unanswerable one: 0, 0
    f = M.squad_figures(items)
    assert (f.total, f.has_ans_total, f.no_ans_total) == (5, 3, 2)
    assert f.has_ans_exact == pytest.approx(100 / 3) and f.has_ans_f1 == pytest.approx(100 * 5 / 9)
    assert f.no_ans_exact == f.no_ans_f1 == pytest.approx(50.0)
    assert f.exact == pytest.approx(40.0) and f.f1 == pytest.approx(100 * 8 / 15)
    assert f.always_abstain == pytest.approx(40.0)  # the NoAns share: 2 of 5
    assert f.to_json() == {"exact": 40.0, "f1": 53.3333, "total": 5, "HasAns_exact": 33.3333,
                           "HasAns_f1": 55.5556, "HasAns_total": 3, "NoAns_exact": 50.0, "NoAns_f1": 50.0,
                           "NoAns_acc": 50.0, "NoAns_total": 2, "always_abstain_exact": 40.0,
                           "always_abstain_f1": 40.0}


@pytest.mark.parametrize("items, expected", [
    ([], (None, None, None, None, None)),
    ([(["x"], "x")], (100.0, 100.0, 100.0, None, 0.0)),  # SQuAD v1.1: nothing unanswerable
    ([([], "")], (100.0, 100.0, None, 100.0, 100.0)),
])
def test_squad_figures_degenerate(items, expected):
    f = M.squad_figures(items)
    assert (f.exact, f.f1, f.has_ans_exact, f.no_ans_exact, f.always_abstain) == expected


# -- aggregates ---------------------------------------------------------------------------------
@pytest.mark.parametrize("flags, expected", [
    ([], None), ([None, None], None), ([True, False, None], 0.5), ([1.0, 0.5], 0.75), ([False], 0.0),
])
def test_share(flags, expected):
    assert M.share(flags) == expected


@pytest.mark.parametrize("abstained, unanswerable, expected", [
    ([True, True, False, False], [True, False, True, False], (0.5, 0.5)),
    ([True, False], [True, False], (1.0, 1.0)),
    ([False, False], [True, False], (None, 0.0)),  # never abstained: precision undefined
    ([True, False], [False, False], (0.0, None)),  # nothing unanswerable: recall undefined
    ([], [], (None, None)),
])
def test_abstention_scores(abstained, unanswerable, expected):
    assert M.abstention_scores(abstained, unanswerable) == expected


def test_abstention_scores_needs_equal_lengths():
    with pytest.raises(ValueError):
        M.abstention_scores([True], [])


@pytest.mark.parametrize("values, q, expected", [
    ([], 50, None), ([5.0], 95, 5.0), ([4.0, 1.0, 3.0, 2.0], 50, 2.5), ([1.0, 2.0, 3.0, 4.0], 95, 3.85),
])
def test_percentile(values, q, expected):
    assert M.percentile(values, q) == pytest.approx(expected)
    if values:
        assert M.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


# -- retrieval ----------------------------------------------------------------------------------
def test_relevant_passages_need_gold_document_and_answer():
    passages = [("A:0-10", "A", "47 soldiers died"), ("A:10-20", "A", "nothing here"),
                ("B:0-10", "B", "47 soldiers"), ("C:0-9", "C", "in 1947")]
    assert M.relevant_passages(passages, ["A", "C"], ["47"]) == {"A:0-10"}
    assert M.relevant_passages(passages, ["A", "B"], ["forty-seven", "47"]) == {"A:0-10", "B:0-10"}
    assert M.relevant_passages(passages, ["A"], []) == set()
    assert M.relevant_passages([], ["A"], ["47"]) == set()


def test_retrieval_scores_by_hand():
    qrels = {"q1": {"a"}, "q2": {"b", "c"}, "q3": {"d"}, "q4": set()}
    ranked = {"q1": ["x", "a", "y"], "q2": ["b", "x", "c"], "q3": [], "q4": ["z"]}
    means, per_q = M.retrieval_scores(qrels, ranked)
    ndcg1 = 1 / math.log2(3)  # one relevant passage at rank 2
    ndcg2 = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))  # ranks 1 and 3 of two
    assert set(per_q) == {"q1", "q2", "q3"}  # q4 has no relevant passage: not judged
    assert per_q["q1"] == pytest.approx({"recall@1": 0, "recall@3": 1, "recall@5": 1, "mrr@10": 0.5, "ndcg@10": ndcg1})
    assert per_q["q2"] == pytest.approx({"recall@1": 1, "recall@3": 1, "recall@5": 1, "mrr@10": 1, "ndcg@10": ndcg2})
    assert per_q["q3"] == pytest.approx(dict.fromkeys(M.RETRIEVAL_METRICS, 0.0))
    assert means == pytest.approx({"recall@1": 1 / 3, "recall@3": 2 / 3, "recall@5": 2 / 3, "mrr@10": 0.5,
                                   "ndcg@10": (ndcg1 + ndcg2) / 3})


def test_retrieval_scores_cut_at_depth():
    ranked = [f"p{i}" for i in range(1, 12)]  # the relevant passage is 11th
    means, _ = M.retrieval_scores({"q": {"p11"}}, {"q": ranked})
    assert means == dict.fromkeys(M.RETRIEVAL_METRICS, 0.0)
    means, _ = M.retrieval_scores({"q": {"p4"}}, {"q": ranked})
    assert means == pytest.approx({"recall@1": 0, "recall@3": 0, "recall@5": 1, "mrr@10": 0.25,
                                   "ndcg@10": 1 / math.log2(5)})


@pytest.mark.parametrize("qrels", [{}, {"q": set()}])
def test_retrieval_scores_with_nothing_to_judge(qrels):
    assert M.retrieval_scores(qrels, {"q": ["a"]}) == (dict.fromkeys(M.RETRIEVAL_METRICS), {})


# -- judging one answer -------------------------------------------------------------------------
GOLD2 = M.GoldQuestion("q1", "How many died?", ("47",), ("A", "B"), kind="number")
UNANSWERABLE = M.GoldQuestion("q2", "How many tanks?", (), ("A",))


def test_judge_answered_from_one_of_two_gold_documents():
    j = M.judge(GOLD2, True, "47", ["47 soldiers died", "the toll was 47"], ["A", "A"], 2)
    assert (j.contained, j.exact_match, j.f1, j.citation_ok, j.multi_source_ok) == (True, 1.0, 1.0, True, False)
    assert j.cited == ("A",) and j.correct and not j.abstained and j.grounded and j.prediction == "47"


def test_judge_grounded_needs_the_top_quote_from_a_gold_document():
    j = M.judge(GOLD2, True, "47", ["47 soldiers died", "47 soldiers"], ["C", "A"], 2)
    assert (j.contained, j.grounded, j.citation_ok) == (True, False, False)


def test_judge_cites_every_gold_document_and_one_more():
    j = M.judge(GOLD2, True, "47 soldiers", ["47 soldiers died", "x", "y"], ["A", "B", "C"], 3)
    assert j.multi_source_ok is True and j.citation_ok is False
    assert j.exact_match == 0.0 and j.f1 == pytest.approx(2 / 3)


def test_judge_containment_looks_at_the_top_quote_only():
    j = M.judge(GOLD2, True, "23", ["23 soldiers", "47 soldiers"], ["A", "B"], 2)
    assert j.contained is False and not j.correct and j.multi_source_ok is True


def test_judge_abstained_on_answerable():
    j = M.judge(GOLD2, False, None, [], [], 0)
    assert (j.abstained, j.contained, j.grounded, j.exact_match, j.f1, j.citation_ok, j.multi_source_ok) == \
        (True, False, False, 0.0, 0.0, None, False)
    assert not j.correct and j.prediction == ""


@pytest.mark.parametrize("answered, correct", [(False, True), (True, False)])
def test_judge_unanswerable(answered, correct):
    j = M.judge(UNANSWERABLE, answered, "x" if answered else None, ["x"] if answered else [], ["A"] * answered, answered)
    assert j.correct is correct and j.prediction == ("x" if answered else "")
    assert (j.contained, j.grounded, j.exact_match, j.f1, j.citation_ok, j.multi_source_ok) == (None,) * 6


def test_summarize_by_hand():
    gold_a = M.GoldQuestion("a", "?", ("47",), ("A",), kind="number")
    scored = [
        M.Scored(gold_a, "bm25", M.judge(gold_a, True, "47", ["47 died"], ["A"], 1), 0.010,
                 frozenset({"A:0-5"}), ("A:0-5",)),
        M.Scored(GOLD2, "bm25", M.judge(GOLD2, False, None, [], [], 0), 0.030, frozenset({"A:0-5"}), ("B:0-5", "A:0-5")),
        M.Scored(UNANSWERABLE, "bm25", M.judge(UNANSWERABLE, False, None, [], [], 0), 0.020),
        M.Scored(UNANSWERABLE, "bm25", M.judge(UNANSWERABLE, True, "x", ["x", "y"], ["A", "A"], 1), 0.040),
    ]
    m = M.summarize(scored)
    assert (m.questions, m.answerable, m.unanswerable, m.retrieval_questions, m.quotes) == (4, 2, 2, 2, 3)
    assert m.retrieval == pytest.approx({"recall@1": 0.5, "recall@3": 1.0, "recall@5": 1.0, "mrr@10": 0.75,
                                         "ndcg@10": (1 + 1 / math.log2(3)) / 2})
    assert (m.containment, m.exact_match, m.f1, m.citation_accuracy, m.multi_source_coverage) == (0.5, 0.5, 0.5, 1.0, 0.0)
    assert (m.abstention_precision, m.abstention_recall, m.wrongly_abstained) == (0.5, 0.5, 0.5)
    assert m.verbatim == pytest.approx(2 / 3)
    assert m.latency_median_ms == pytest.approx(25.0) and m.latency_p95_ms == pytest.approx(38.5)
    assert m.kinds == {"number": (2, 0.5), "unanswerable": (2, 0.5)}
    assert [s.first_relevant_rank for s in scored] == [1, 2, None, None]
    assert m.grounded == 0.5 and m.squad is None and "squad" not in m.to_json()
    # Predictions "47", "", "" and "x": exact = F1 = 1, 0, 1, 0.
    squad = M.summarize(scored, squad=True).squad
    assert (squad.exact, squad.f1, squad.has_ans_exact, squad.has_ans_f1, squad.no_ans_exact) == (50.0,) * 5
    assert (squad.total, squad.has_ans_total, squad.no_ans_total, squad.always_abstain) == (4, 2, 2, 50.0)


def test_summarize_nothing():
    m = M.summarize([])
    assert m.questions == 0 and m.containment is None and m.verbatim is None and m.latency_median_ms is None
    assert m.grounded is None and M.summarize([], squad=True).squad.exact is None
    assert m.retrieval == dict.fromkeys(M.RETRIEVAL_METRICS)
    assert m.to_json()["recall@3"] is None


# -- reading question sets ----------------------------------------------------------------------
def _line(**row) -> str:
    base = {"id": "q1", "question": "How many?", "answers": ["47"], "doc_ids": ["A"]}
    return json.dumps({**base, **row})


def test_read_jsonl():
    text = "\n".join([_line(kind="number", split="dev"), "", _line(id="q2", question="And women?", answers=["nine"],
                                                                  follows="q1"),
                      _line(id="q3", answers=[], doc_ids=[])])
    q1, q2, q3 = read_jsonl(text, "set.jsonl")
    assert q1 == M.GoldQuestion("q1", "How many?", ("47",), ("A",), "number", "dev", None)
    assert q2.follows == "q1" and not q3.answerable and q3.group == "unanswerable" and q2.group == "answerable"
    assert [q.id for q in chain(q2, {"q1": q1, "q2": q2})] == ["q1", "q2"]


@pytest.mark.parametrize("text, message", [
    ("", "no questions"),
    (_line() + "\n{not json", "set.jsonl line 2: not valid JSON"),
    ("[1, 2]", "line 1: expected a JSON object"),
    (json.dumps({"id": "q1", "question": "?"}), "missing 'answers', 'doc_ids'"),
    (_line(answers="47"), "'answers' must be a list, not str"),
    (_line(doc_ids=[3]), "'doc_ids' must hold non-empty strings"),
    (_line(follows=1), "'follows' must be a string, not int"),
    (_line(question="  "), "must not be empty"),
    (_line(doc_ids=[]), "needs the 'doc_ids'"),
    (_line() + "\n" + _line(), "duplicate question id 'q1'"),
    (_line(follows="q9"), "q1 follows 'q9', which is not in the file"),
    (_line(follows="q2") + "\n" + _line(id="q2", follows="q1"), "form a loop"),
])
def test_read_jsonl_errors(text, message):
    with pytest.raises(InputError, match=r"^set\.jsonl") as info:
        read_jsonl(text, "set.jsonl")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_parse_squad_v2_and_v11():
    squad = parse_squad(json.loads(SQUAD.read_text(encoding="utf-8")), "tiny")
    assert [d for d, _ in squad.contexts] == ["squad_0001", "squad_0002", "squad_0003"]
    by_id = {q.id: q for q in squad.questions}
    assert list(by_id) == ["lh1", "lh2", "lh3", "tea1", "tea2", "frog1"]
    assert by_id["lh1"].answers == ("1873",)  # duplicates dropped
    assert by_id["lh3"].answers == () and not by_id["lh3"].answerable  # plausible_answers ignored
    assert by_id["frog1"].answers == ("the rainforests of Central America", "Central America")  # v1.1 style
    assert by_id["tea2"].doc_ids == ("squad_0002",)
    v11 = {"version": "1.1", "data": [{"paragraphs": [
        {"context": "Same text.", "qas": [{"id": "a", "question": "Q?", "answers": [{"text": "Same"}]}]},
        {"context": "Same text.", "qas": [{"id": "b", "question": "Q2?", "answers": []}]}]}]}
    squad = parse_squad(v11, "v11")
    assert squad.contexts == (("squad_0001", "Same text."),)  # one document per distinct context
    assert [q.doc_ids for q in squad.questions] == [("squad_0001",), ("squad_0001",)]
    assert not squad.questions[1].answerable


@pytest.mark.parametrize("data, message", [
    ({"data": {}}, "not SQuAD JSON"),
    ({"data": [{"title": "x"}]}, "data[0] has no 'paragraphs' list"),
    ({"data": [{"paragraphs": [{"qas": []}]}]}, "needs a 'context' string"),
    ({"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "a", "question": "?", "answers": [{"text": "x"}]},
                                                        {"id": "a", "question": "?", "answers": []}]}]}]},
     "duplicate id 'a'"),
    ({"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "a", "question": "?", "answers": "x"}]}]}]},
     "'answers' must be a list"),
    ({"data": []}, "no questions"),
])
def test_parse_squad_errors(data, message):
    with pytest.raises(InputError, match=r"^f\.json") as info:
        parse_squad(data, "f.json")
    assert message in str(info.value)


# -- the command line: errors before any model is loaded ----------------------------------------
def test_eval_missing_file_through_python_m(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "qa", "eval", str(tmp_path / "nope.jsonl"),
                           "--index-dir", str(tmp_path / "index")], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope.jsonl'}: no such question file"]


@pytest.mark.parametrize("command", [["eval", "{set}"], ["ask", "Who?"], ["search", "who"]])
def test_unknown_mode_is_the_same_usage_error_everywhere(tmp_path, command):
    path = tmp_path / "set.jsonl"
    path.write_text(_line(), encoding="utf-8")
    err = usage_error([*(c.replace("{set}", str(path)) for c in command), "--mode", "fuzzy"])
    assert "unknown retrieval mode 'fuzzy'; choose one of: hybrid, bm25, dense" in err


def test_eval_mode_lists_all():
    assert "hybrid, bm25, dense, all" in usage_error(["eval", "--mode", "fuzzy"])


def test_min_containment_out_of_range_is_a_usage_error():
    assert "must be between 0 and 1, not 1.5" in usage_error(["eval", "--min-containment", "1.5"])


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan", "high"])
def test_threshold_out_of_range_is_a_usage_error(tmp_path, value):
    path = tmp_path / "set.jsonl"
    path.write_text(_line(), encoding="utf-8")
    for command in (["eval", str(path)], ["ask", "Who?"]):
        with pytest.raises(SystemExit) as info:
            run_main([*command, "--index-dir", str(tmp_path / "index"), "--threshold", value])
        assert info.value.code == 2


@pytest.mark.parametrize("extra, content, message", [
    ([], '{"id": "q1"\n', "line 1: not valid JSON"),
    (["--split", "test"], _line(split="dev"), "no question in split 'test'; its splits are: dev"),
    (["--predictions", "{tmp}"], _line(), "--predictions {tmp}: is a folder"),
])
def test_eval_input_errors(tmp_path, extra, content, message):
    path = tmp_path / "set.jsonl"
    path.write_text(content, encoding="utf-8")
    extra = [x.replace("{tmp}", str(tmp_path)) for x in extra]
    code, out, err = run_main(["eval", str(path), "--index-dir", str(tmp_path / "index"), *extra])
    assert code == 1 and out == ""
    assert message.replace("{tmp}", str(tmp_path)) in err and len(err.strip().splitlines()) == 1


class _RecordingEngine:
    """Records the keyword arguments of ask; a conversation asks through it."""

    def __init__(self):
        self.calls: list[dict] = []

    def ask(self, question, **kwargs):
        self.calls.append(kwargs)
        return "answer"

    def conversation(self):
        engine = self

        class _Conversation:
            def ask(self, question, **kwargs):
                engine.calls.append(kwargs)
                return type("Turn", (), {"resolved": question, "answer": "answer"})()

        return _Conversation()


@pytest.mark.parametrize("threshold, expected", [
    (None, {"mode": "bm25", "k": 3}),  # not passed at all: engines without the argument still work
    (0.25, {"mode": "bm25", "k": 3, "threshold": 0.25}),
])
def test_ask_passes_the_threshold_only_when_given(threshold, expected):
    first = M.GoldQuestion("q1", "How many?", ("47",), ("A",))
    follow = M.GoldQuestion("q2", "And women?", ("9",), ("A",), follows="q1")
    engine = _RecordingEngine()
    _ask(engine, first, {}, "bm25", 3, threshold)
    _ask(engine, follow, {"q1": first, "q2": follow}, "bm25", 3, threshold)
    assert engine.calls == [expected] * 3


def test_prediction_paths():
    assert prediction_paths(Path("out/p.json"), ["hybrid"]) == {"hybrid": Path("out/p.json")}
    assert prediction_paths(Path("out/p.json"), ["bm25", "dense"]) == \
        {"bm25": Path("out/p.bm25.json"), "dense": Path("out/p.dense.json")}
    assert prediction_paths(Path("preds"), ["bm25", "dense"])["dense"] == Path("preds.dense.json")


def test_eval_json_that_is_not_squad(tmp_path):
    path = tmp_path / "set.json"
    path.write_text('{\n  "version": "2.0"\n}\n', encoding="utf-8")
    code, out, err = run_main(["eval", str(path), "--index-dir", str(tmp_path / "index")])
    assert (code, out) == (1, "") and "not SQuAD JSON (no top-level 'data' list)" in err


def test_eval_folder_is_not_a_question_set(tmp_path):
    code, _, err = run_main(["eval", str(tmp_path), "--index-dir", str(tmp_path / "index")])
    assert code == 1 and "is a folder" in err


# -- the command line on the tiny SQuAD v2 file -------------------------------------------------
@pytest.fixture(scope="module")
def squad_run(tmp_path_factory, cache_dir):
    tmp = tmp_path_factory.mktemp("squad")
    code, out, err = run_main(["eval", str(SQUAD), "--mode", "all", "--json", "--min-containment", "0",
                               "--predictions", str(tmp / "preds.json"), "--index-dir", str(tmp / "index")])
    assert code == 0, err
    result = json.loads(out)
    result["predictions"] = {m: json.loads((tmp / f"preds.{m}.json").read_text(encoding="utf-8")) for m in MODES}
    return result


def test_squad_official_figures(squad_run):
    gold = {q.id: q.answers for q in parse_squad(json.loads(SQUAD.read_text(encoding="utf-8"))).questions}
    for mode in MODES:
        preds = squad_run["predictions"][mode]
        results = [r for r in squad_run["results"] if r["mode"] == mode]
        # The official file: every question, the answer when answered, else "".
        assert preds == {r["id"]: (r["ask"]["answer"] or "") if r["ask"]["answered"] else "" for r in results}
        assert all(r["judgement"]["prediction"] == preds[r["id"]] for r in results)
        squad = squad_run["metrics"][mode]["squad"]
        assert (squad["total"], squad["HasAns_total"], squad["NoAns_total"]) == (6, 5, 1)
        assert squad["always_abstain_exact"] == squad["always_abstain_f1"] == pytest.approx(100 / 6, abs=1e-4)
        assert squad == M.squad_figures([(gold[q], p) for q, p in preds.items()]).to_json()
        assert squad["NoAns_acc"] == (100.0 if preds["lh3"] == "" else 0.0)
        m = squad_run["metrics"][mode]  # the answerable-only figures are the HasAns ones, in 0..1
        assert 100 * m["exact_match"] == pytest.approx(squad["HasAns_exact"], abs=1e-2)
        assert 100 * m["f1"] == pytest.approx(squad["HasAns_f1"], abs=1e-2)
        grounded = [r["judgement"]["grounded"] for r in results if r["judgement"]["answerable"]]
        assert m["grounded"] == pytest.approx(sum(grounded) / 5) and m["grounded"] <= m["containment"]


def test_squad_counts_and_shape(squad_run):
    assert squad_run["format"] == "squad" and set(squad_run["metrics"]) == set(MODES)
    assert len(squad_run["results"]) == 6 * 3
    for mode in MODES:
        m = squad_run["metrics"][mode]
        assert (m["questions"], m["answerable"], m["unanswerable"], m["retrieval_questions"]) == (6, 5, 1, 5)
        assert m["by_split"] == {}  # SQuAD has no splits
        assert m["multi_source_coverage"] is None  # every question has one gold document
        assert set(m["kind_accuracy"]) == {"answerable", "unanswerable"}
        assert m["kind_accuracy"]["answerable"]["questions"] == 5
    for r in squad_run["results"]:
        assert ASK_KEYS <= set(r["ask"]) and r["mode"] in MODES
        assert r["judgement"]["relevant_passages"] == (0 if r["id"] == "lh3" else 1)  # one passage per context


def test_squad_retrieval_by_hand(squad_run):
    # Three short contexts, one passage each. Every question shares its content words ("Brindle",
    # "lapsang", "frogs") with its own context only, so BM25 ranks it first; with three passages
    # every mode retrieves all of them, so Recall@3 and Recall@5 are 1 in every mode.
    bm25 = squad_run["metrics"]["bm25"]
    assert [bm25[k] for k in M.RETRIEVAL_METRICS] == [1.0] * 5
    for mode in MODES:
        assert squad_run["metrics"][mode]["recall@3"] == squad_run["metrics"][mode]["recall@5"] == 1.0


def test_squad_impossible_question(squad_run):
    for mode in MODES:
        (r,) = [r for r in squad_run["results"] if r["id"] == "lh3" and r["mode"] == mode]
        j, m = r["judgement"], squad_run["metrics"][mode]
        assert (j["answerable"], j["contained"], j["f1"], j["citation_ok"], j["retrieval"]) == (False, None, None, None, None)
        assert j["abstained"] is (not r["ask"]["answered"]) and j["correct"] is j["abstained"]
        assert m["abstention_recall"] == (1.0 if j["abstained"] else 0.0)


def test_squad_quotes_are_the_contexts_text(squad_run):
    contexts = {d: t for d, t in parse_squad(json.loads(SQUAD.read_text(encoding="utf-8"))).contexts}
    for r in squad_run["results"]:
        for q in r["ask"]["quotes"]:
            assert contexts[q["doc_id"]][q["start"]:q["end"]] == q["text"]
        assert r["judgement"]["verbatim_quotes"] == r["judgement"]["quotes"] == len(r["ask"]["quotes"])
    for mode in MODES:
        m = squad_run["metrics"][mode]
        assert m["verbatim"] == (1.0 if m["quotes"] else None)


def test_squad_metrics_agree_with_the_judgements(squad_run):
    for mode in MODES:
        m = squad_run["metrics"][mode]
        js = [r["judgement"] for r in squad_run["results"] if r["mode"] == mode]
        answerable = [j for j in js if j["answerable"]]
        assert m["containment"] == pytest.approx(sum(j["contained"] for j in answerable) / 5)
        assert m["wrongly_abstained"] == pytest.approx(sum(j["abstained"] for j in answerable) / 5)
        assert m["f1"] == pytest.approx(sum(j["f1"] for j in answerable) / 5, abs=1e-3)
        for j in answerable:  # an answer is contained only when it was given
            assert not (j["contained"] and j["abstained"])


def test_squad_human_table_and_report(tmp_path):
    uploads = tmp_path / "user-data" / "qa-cite" / "uploads"  # the default uploads folder (conftest)
    uploads.mkdir(parents=True)
    (uploads / "lake.txt").write_text("Lake news\n\nThe Zorblatt Festival drew 4,200 visitors.\n", encoding="utf-8")
    code, out, err = run_main(["eval", str(SQUAD), "--mode", "bm25", "--report", str(tmp_path / "report"),
                               "--predictions", str(tmp_path / "out" / "preds.json"),
                               "--index-dir", str(tmp_path / "index")])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].endswith("6 questions, 5 answerable, 1 unanswerable; k=5")
    # The header says what was indexed: the three paragraphs, not the web chat's upload.
    assert lines[1] == "indexed: 3 documents (the question set's paragraphs)"
    assert lines[2] == "index: a temporary index over the question set's paragraphs"
    assert [ln.strip() for ln in lines[3:6]] == ["squad_0001.txt", "squad_0002.txt", "squad_0003.txt"]
    assert "lake" not in out
    preds = json.loads((tmp_path / "out" / "preds.json").read_text(encoding="utf-8"))
    assert list(preds) == ["lh1", "lh2", "lh3", "tea1", "tea2", "frog1"]
    assert all(isinstance(v, str) for v in preds.values())
    assert f"predictions written to {tmp_path / 'out' / 'preds.json'}" in err
    assert "SQuAD 2.0 official" in out
    assert [ln.split()[-1] for ln in lines if ln.strip().startswith("always abstain (6)")] == ["16.67"]
    assert any(ln.strip().startswith("HasAns exact (5)") for ln in lines)
    assert [ln.split() for ln in lines if ln.strip().startswith("Recall@")][:3] == \
        [["Recall@1", "1.000"], ["Recall@3", "1.000"], ["Recall@5", "1.000"]]
    assert any(ln.split()[:3] == ["verbatim", "quotes", "1.000"] or ln.split() == ["verbatim", "quotes", "n/a"]
               for ln in lines)
    assert "by split" not in out and "report written to" in err
    page = (tmp_path / "report" / "index.html").read_text(encoding="utf-8")
    assert "SQuAD 2.0 official figures" in page and "<th>NoAns accuracy (1)</th>" in page
    for png in ("recall_at_k.png", "kind_accuracy.png", "latency.png"):
        assert (tmp_path / "report" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="{png}"' in page


# -- the command line on a subset of the seed questions -----------------------------------------
SUBSET = ("q001", "q002", "q007", "q025", "q026", "q089")
HOSTILE = {"id": "x1", "question": "<script>alert(1)</script> Who was captured with Maduro?",
           "answers": ["<i>no such answer</i>"], "doc_ids": ["000_4cf354647c8c7dec"], "kind": "person",
           "split": "dev"}


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory, cache_dir):
    tmp = tmp_path_factory.mktemp("seeds")
    rows = [json.loads(line) for line in (SEEDS / "questions.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    subset = [r for r in rows if r["id"] in SUBSET] + [HOSTILE]
    path = tmp / "subset.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in subset), encoding="utf-8")
    # x1 can never be contained, so containment is at most 4/5 and --min-containment 0.99 must fail.
    # One mode keeps it quick; the SQuAD run covers --mode all.
    code, out, err = run_main(["eval", str(path), "--json", "--report", str(tmp / "report"),
                               "--min-containment", "0.99", "--docs", str(SEEDS), "--index-dir", str(tmp / "index")])
    return {"rows": subset, "code": code, "json": json.loads(out), "err": err, "report": tmp / "report"}


def test_seeds_exit_code_and_counts(seeds_run):
    assert seeds_run["code"] == 1
    assert "error: containment below 0.99: hybrid " in seeds_run["err"]
    rows = seeds_run["rows"]
    n_answerable = sum(1 for r in rows if r["answers"])
    assert (len(rows), n_answerable) == (7, 5)
    assert list(seeds_run["json"]["metrics"]) == ["hybrid"]  # the default mode
    for mode in ("hybrid",):
        m = seeds_run["json"]["metrics"][mode]
        assert "squad" not in m  # the official SQuAD figures are for SQuAD input
        assert (m["questions"], m["answerable"], m["unanswerable"]) == (7, 5, 2)
        assert m["retrieval_questions"] == 4  # x1's made-up answer is in no passage
        assert m["containment"] <= 0.8
        kinds = {}
        for r in rows:
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        assert {k: v["questions"] for k, v in m["kind_accuracy"].items()} == kinds
        splits = m["by_split"]
        assert sorted(splits) == ["dev", "test"]
        assert sum(s["questions"] for s in splits.values()) == 7
        assert splits["dev"]["questions"] == sum(1 for r in rows if r["split"] == "dev")


def test_seeds_retrieval_matches_ranks(seeds_run):
    """Recall@k and MRR@10 from ranx equal the hand formulas over each question's first relevant rank."""
    for mode in ("hybrid",):
        judged = [r["judgement"] for r in seeds_run["json"]["results"]
                  if r["mode"] == mode and r["judgement"]["relevant_passages"]]
        assert len(judged) == 4
        ranks = [j["first_relevant_rank"] for j in judged]
        m = seeds_run["json"]["metrics"][mode]
        for k in (1, 3, 5):
            assert m[f"recall@{k}"] == pytest.approx(sum(1 for r in ranks if r and r <= k) / 4, abs=1e-4)
        assert m["mrr@10"] == pytest.approx(sum(1 / r for r in ranks if r and r <= 10) / 4, abs=1e-4)
        for j in judged:
            assert j["retrieval"]["recall@1"] == (1.0 if j["first_relevant_rank"] == 1 else 0.0)


def test_seeds_quotes_verbatim_in_the_files(seeds_run):
    texts = {p.stem: open(p, encoding="utf-8", newline="").read() for p in SEEDS.glob("*.txt")}
    for r in seeds_run["json"]["results"]:
        for q in r["ask"]["quotes"]:
            assert texts[q["doc_id"]][q["start"]:q["end"]] == q["text"]
        assert r["judgement"]["problems"] == []
    m = seeds_run["json"]["metrics"]["hybrid"]
    assert m["verbatim"] == (1.0 if m["quotes"] else None)


def test_seeds_results_and_follow_ups(seeds_run):
    results = seeds_run["json"]["results"]
    assert [(r["id"], r["mode"]) for r in results] == [(r["id"], "hybrid") for r in seeds_run["rows"]]
    for r in results:
        assert r["ask"]["question"] == next(x["question"] for x in seeds_run["rows"] if x["id"] == r["id"])
        assert r["judgement"]["resolved"]
        if r["id"] == "x1":
            j = r["judgement"]
            assert (j["contained"], j["correct"], j["relevant_passages"], j["retrieval"]) == (False, False, 0, None)


def test_seeds_report_is_escaped(seeds_run):
    page = (seeds_run["report"] / "index.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<i>no such answer" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;i&gt;no such answer" in page
    assert page.count("<td>x1</td>") == 1


def test_seeds_report_says_what_was_evaluated(seeds_run, model_files):
    """The report's header: date, question set, index, models, settings and every document."""
    page = (seeds_run["report"] / "index.html").read_text(encoding="utf-8")
    header = page.split('<table class="setup">')[1].split("</table>")[0]
    for label in ("date", "questions", "index", "embedding model", "reader", "settings", "documents (2)"):
        assert f"<th>{label}</th>" in header
    assert re.search(r"<td>20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d", header)
    from qa.reader import calibration_key

    calibrated = read_card()["calibration"]["by_encoding"][calibration_key(model_files)]["threshold"]
    assert "all-MiniLM-L6-v2" in header and f"threshold {calibrated:.4g}" in header
    assert all(f"{name}.txt</small>" in header for name in ("000_4cf354647c8c7dec", "001_2feeabb1633a6458"))
    assert f"<th>indexed</th><td>2 documents from {SEEDS} (named with --docs)</td>" in header
    setup = seeds_run["json"]["setup"]
    assert len(setup["documents"]) == 2 and setup["threshold"] == pytest.approx(calibrated, abs=1e-4)
    assert (setup["sources"], setup["corpus"]) == ([str(SEEDS)], "named with --docs")


def test_seeds_stages_are_said_on_stderr(seeds_run):
    """Every stage that can take more than a second is announced as it starts."""
    err = seeds_run["err"]
    for stage in ("loading the index in", "loading the query encoder and the reader", "asking 7 questions in hybrid",
                  "writing the report to"):
        assert stage in err, err


# -- what eval indexes: the question set's own documents, never the web chat's uploads -------------
def _settings(tmp_path, **changes):
    from qa.settings import Settings

    return Settings(index_dir=tmp_path / "index", cache_dir=tmp_path / "cache").with_(**changes)


def _record_sources(index: Path, sources: list[str]) -> None:
    index.mkdir(parents=True, exist_ok=True)
    (index / "manifest.json").write_text(json.dumps({"sources": sources}), encoding="utf-8")


def test_corpus_is_the_folder_holding_the_question_set(tmp_path):
    from qa.evaluate import QUESTION_SET_FOLDER, corpus_of

    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "a.txt").write_text("A.\n", encoding="utf-8")
    questions = read_jsonl(_line(doc_ids=["a"]), "set")
    corpus = corpus_of(folder / "q.jsonl", questions, _settings(tmp_path))
    assert corpus.sources == (folder,) and corpus.why == QUESTION_SET_FOLDER
    # the seeds' own question set is scored over seeds/, whatever the index holds
    seeds = read_jsonl((SEEDS / "questions.jsonl").read_text(encoding="utf-8"), "seeds")
    _record_sources(tmp_path / "index", [str(tmp_path / "mine")])
    assert corpus_of(Path("seeds/questions.jsonl"), seeds, _settings(tmp_path)).sources == (Path("seeds"),)


def test_corpus_named_with_docs_is_taken_as_it_is(tmp_path):
    from qa.evaluate import corpus_of

    uploads = tmp_path / "uploads"
    settings = _settings(tmp_path, docs=(tmp_path / "d", uploads), uploads=uploads)
    corpus = corpus_of(tmp_path / "q.jsonl", read_jsonl(_line(), "set"), settings)
    assert corpus.sources == (tmp_path / "d", uploads) and corpus.why == "named with --docs"  # told: uploads too


def test_corpus_from_the_index_leaves_the_uploads_out(tmp_path):
    """Issue 30: with three uploads in the index, a question set was scored against them too."""
    from qa.evaluate import corpus_of

    uploads = tmp_path / "uploads"
    _record_sources(tmp_path / "index", [str(tmp_path / "docs"), str(uploads)])
    corpus = corpus_of(tmp_path / "elsewhere" / "q.jsonl", read_jsonl(_line(), "set"),
                       _settings(tmp_path, uploads=uploads))
    assert corpus.sources == (tmp_path / "docs",)
    assert corpus.why == "the documents the index was built from, less the web chat's uploads"
    _record_sources(tmp_path / "index", [str(uploads)])  # only uploads: the default documents
    assert corpus_of(tmp_path / "q.jsonl", read_jsonl(_line(), "set"),
                     _settings(tmp_path, uploads=uploads)).sources == (Path("seeds"),)


def test_eval_index_is_never_the_users_index_built_from_other_documents(tmp_path, monkeypatch):
    from qa.evaluate import Corpus, index_for

    docs, uploads = tmp_path / "docs", tmp_path / "uploads"
    settings = _settings(tmp_path)
    _record_sources(settings.index_dir, [str(docs)])
    assert index_for(settings, Corpus((docs,), "")) == settings.index_dir  # built from exactly these
    _record_sources(settings.index_dir, [str(docs), str(uploads)])
    own = index_for(settings, Corpus((docs,), ""))
    assert own.parent == settings.cache_dir / "eval" and re.fullmatch(r"[0-9a-f]{16}", own.name)
    monkeypatch.chdir(tmp_path)  # one index per corpus, however its paths are spelled
    assert index_for(settings, Corpus((Path("docs"),), "")) == own
    assert index_for(settings, Corpus((uploads,), "")) != own


def test_engine_without_uploads_indexes_only_what_it_is_told(tmp_path, cache_dir):
    from qa.engine import Engine

    docs, uploads = tmp_path / "docs", tmp_path / "uploads"
    for folder in (docs, uploads):
        folder.mkdir()
        (folder / f"{folder.name}.txt").write_text("Text.\n", encoding="utf-8")
    settings = _settings(tmp_path, docs=(docs,), uploads=uploads, cache_dir=cache_dir)
    assert Engine(settings).sources() == (docs, uploads)
    assert Engine(settings.with_(include_uploads=False)).sources() == (docs,)
    named = settings.with_(include_uploads=False, docs=(docs, uploads))
    assert Engine(named).sources() == (docs, uploads)


def test_engine_for_leaves_the_uploads_out_when_called_as_before(tmp_path, cache_dir):
    """qa/reader/calibrate.py calls ``_engine_for(settings, squad, None)``: the settings' own
    documents and index, now without the per-user uploads folder it would otherwise pick up."""
    from qa.evaluate import _engine_for

    docs, uploads = tmp_path / "docs", tmp_path / "uploads"
    for folder in (docs, uploads):
        folder.mkdir()
        (folder / f"{folder.name}.txt").write_text("Text.\n", encoding="utf-8")
    settings = _settings(tmp_path, docs=(docs,), uploads=uploads, cache_dir=cache_dir)
    with _engine_for(settings, None, None) as engine:
        assert engine.sources() == (docs,) and engine.settings.index_dir == settings.index_dir


def test_eval_leaves_the_uploads_out_and_says_what_it_indexed(own_index, tmp_path, monkeypatch):
    """Issue 30: `qa eval` scored the question set against the web chat's uploads too. With an
    upload present it indexes exactly the set's documents (the folder holding it), uses the
    user's index unchanged since it was built from exactly those, and its header lists them."""
    index, docs = own_index
    uploads = tmp_path / "user-data" / "qa-cite" / "uploads"  # the default uploads folder (conftest)
    uploads.mkdir(parents=True)
    (uploads / "lake.txt").write_text("Lake news\n\nThe Zorblatt Festival drew 4,200 visitors.\n", encoding="utf-8")
    rows = [json.loads(line) for line in (SEEDS / "questions.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    path = docs / "subset.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows if r["id"] in ("q001", "q002")), encoding="utf-8")
    manifest = (index / "manifest.json").read_bytes()
    bars = []  # (total, what it counts) of each progress bar asked for
    monkeypatch.setattr("qa.cli._questions_progress", lambda total, desc: bars.append((total, desc, "question")))
    monkeypatch.setattr("qa.cli._tqdm_progress", lambda total, desc: bars.append((total, desc, "text")))
    argv = ["eval", str(path), "--mode", "bm25", "--index-dir", str(index)]
    code, out, err = run_main([*argv, "--json"])
    assert code == 0, err
    setup = json.loads(out)["setup"]
    assert [Path(p).name for p, _ in setup["documents"]] == [f"{name}.txt" for name in
                                                             ("000_4cf354647c8c7dec", "001_2feeabb1633a6458")]
    assert (setup["sources"], setup["corpus"], setup["index"]) == \
        ([str(docs)], "the folder holding the question set", str(index))
    assert "lake" not in out and (index / "manifest.json").read_bytes() == manifest  # not rebuilt
    code, out, err = run_main(argv)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1:3] == [f"indexed: 2 documents from {docs} (the folder holding the question set)",
                          f"index: {index}"]
    # (the copied index keeps the paths its documents were first read from; their names are the seeds')
    assert [Path(ln.split()[0]).name for ln in lines[3:5]] == ["000_4cf354647c8c7dec.txt", "001_2feeabb1633a6458.txt"]
    assert lines[4].endswith(" \u2014 Nearly 50 Venezuelan Soldiers Killed in US President Maduro\u2019s Kidnapping "
                             "Nicolas Maduro News")
    assert lines[5] == ""
    assert "lake" not in out
    assert bars == [(2, "eval bm25", "question")] * 2  # the questions' bar counts questions; nothing embedded


def test_the_questions_bar_counts_questions(monkeypatch):
    """Issue 30: `qa eval`'s bar counted "text/s"."""
    import tqdm

    from qa import cli

    made = []

    class Bar:
        def __init__(self, **kwargs):
            made.append(kwargs)
            self.n = 0

    monkeypatch.setattr(tqdm, "tqdm", Bar)
    cli._questions_progress(5, "eval hybrid")
    cli._tqdm_progress(7, "embedding")
    assert [(m["total"], m["desc"], m["unit"]) for m in made] == [(5, "eval hybrid", "question"),
                                                                  (7, "embedding", "text")]
