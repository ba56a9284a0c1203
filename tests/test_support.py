from qa.support import Scored, select


def c(doc, value, p, heading=False):
    return Scored(doc, value, p, heading)


def test_same_value_in_another_document_is_cited():
    sel = select([c("a", "47", 0.9), c("b", "forty-seven", 0.4), c("b", "12", 0.3)], 0.5, True)
    assert sel.chosen == (0, 1) and not sel.conflict


def test_confident_different_value_is_a_conflict():
    sel = select([c("a", "tens of thousands", 0.9), c("b", "thousands", 0.8)], 0.5, True)
    assert sel.chosen == (0, 1) and sel.conflict


def test_unsure_different_value_is_left_out():
    sel = select([c("a", "47", 0.9), c("b", "32", 0.3)], 0.5, True)
    assert sel.chosen == (0,) and not sel.conflict


def test_spelling_variant_is_support_not_conflict():
    sel = select([c("a", "Delcy Rodríguez", 0.9), c("b", "Delsey Rodriguez", 0.85)], 0.5, True)
    assert sel.chosen == (0, 1) and not sel.conflict


def test_headline_gives_way_to_a_body_sentence():
    sel = select([c("a", "47", 0.9, heading=True), c("a", "47", 0.7)], 0.5, True)
    assert sel.chosen == (1,)


def test_clause_answers_never_conflict_when_no_value_is_asked():
    sel = select([c("a", "because of the storm", 0.9), c("b", "to save money", 0.9)], 0.5, False)
    assert sel.chosen == (0,) and not sel.conflict
