import pytest

from qa.index.fusion import RRF_K, reciprocal_rank_fusion


def test_rrf_by_hand():
    ids, scores = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], k=60)
    assert ids.tolist() == [1, 3, 2]
    assert scores[0] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[1] == pytest.approx(1 / 63 + 1 / 61)
    assert scores[2] == pytest.approx(1 / 62)


@pytest.mark.parametrize("rankings", [[], [[]], [[], []]])
def test_empty(rankings):
    ids, scores = reciprocal_rank_fusion(rankings)
    assert ids.tolist() == [] and scores.tolist() == []


def test_weights_and_errors():
    ids, _ = reciprocal_rank_fusion([[1], [2]], weights=[1.0, 2.0])
    assert ids.tolist() == [2, 1]
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([[1]], weights=[1, 2])
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([[1]], k=-1)
    assert RRF_K == 60


def test_ties_keep_first_appearance():
    ids, _ = reciprocal_rank_fusion([[5], [7]])
    assert ids.tolist() == [5, 7]
