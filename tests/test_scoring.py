"""The answerability evidence: features of one span and of its standing among the others."""
from qa.scoring import DROPPED, FEATURES, GROUPS, Evidence, backfill, features, with_standing

STANDING_NAMES = GROUPS["standing"] + ("similarity_gap",)  # computed over all of a question's spans


def _evidence(question: str, span: str, after: str) -> Evidence:
    sentence = f"In all {span}{after}"
    return Evidence(question, (), span, sentence, sentence, 1, 5.0, 1.0, -0.5, 0, 0.6, after)


def test_features_hold_every_group_and_the_shipped_ones_leave_the_dropped_out():
    feats = features(_evidence("How many soldiers were killed?", "47", " soldiers died."), lambda _t: 1.0)
    assert {n for names in GROUPS.values() for n in names} - set(STANDING_NAMES) <= set(feats)
    assert not set(FEATURES) & {n for g in DROPPED for n in GROUPS[g]}
    assert (feats["margin"], feats["type_mismatch"], feats["count_mismatch"]) == (4.0, 0.0, 0.0)


def test_a_count_of_something_else_is_evidence_against_it():
    right = features(_evidence("How many soldiers were killed?", "47", " soldiers died."), lambda _t: 1.0)
    wrong = features(_evidence("How many soldiers were killed?", "nine", " women died."), lambda _t: 1.0)
    assert (right["count_mismatch"], wrong["count_mismatch"]) == (0.0, 1.0)


def test_backfill_adds_only_what_is_missing():
    old = {"margin": 2.0}
    filled = backfill("How many soldiers were killed?", "nine", "Among them nine women died.", old)
    assert filled == {"margin": 2.0, "type_mismatch": 0.0, "count_mismatch": 1.0}
    assert backfill("Who won?", "Ana", "Ana won.", {"type_mismatch": 0.5})["type_mismatch"] == 0.5


def test_standing_compares_a_span_with_the_best_one():
    spans = with_standing([{"score": 3.0, "margin": 1.0, "similarity": 0.5},
                           {"score": 1.0, "margin": 2.0, "similarity": 0.7}])
    assert [s["score_gap"] for s in spans] == [0.0, -2.0]
    assert [s["margin_gap"] for s in spans] == [-1.0, 0.0]
    assert abs(sum(s["share"] for s in spans) - 1.0) < 1e-9
    assert with_standing([]) == []
