import math

import numpy as np
import pytest

from qa.index.bm25 import BM25Index
from qa.index.tokenize import tokenize

CORPUS = ["Cuba received the remains of 32 soldiers.",
          "Thousands of Cubans protested in Havana.",
          "The soldiers were honored in Caracas and Havana."]


def test_ranks_by_hand():
    index = BM25Index.build([tokenize(t) for t in CORPUS])
    ids, scores = index.top(tokenize("soldiers remains"), 3)
    # "remain" only in doc 0; "soldier" in docs 0 and 2 -> 0 first, then 2; doc 1 matches nothing
    assert ids.tolist() == [0, 2]
    assert scores[0] > scores[1] > 0


def test_idf_positive_and_unseen_highest():
    index = BM25Index.build([tokenize(t) for t in CORPUS])
    assert math.isclose(index.idf("havana"), math.log(1 + (3 - 2 + 0.5) / (2 + 0.5)))
    assert index.idf("zzz") > index.idf("remain") > index.idf("havana") > 0


def test_empty_inputs():
    assert BM25Index.build([]).scores(["x"]).shape == (0,)
    index = BM25Index.build([tokenize(t) for t in CORPUS])
    assert np.all(index.scores([]) == 0)
    assert index.top(["nothing"], 5)[0].tolist() == []


def _rank_bm25_scores(corpus, query):
    from rank_bm25 import BM25Okapi

    from qa.index.bm25 import EPSILON, K1, B
    return np.asarray(BM25Okapi([list(t) for t in corpus], k1=K1, b=B, epsilon=EPSILON).get_scores(list(query)))


def _queries(corpus, rng, n):
    vocab = sorted({t for doc in corpus for t in doc})
    out = [list(rng.choice(vocab, size=int(rng.integers(1, 12)))) for _ in range(n)]  # repeats allowed
    out += [["never-seen", vocab[0]], [vocab[0], vocab[0], vocab[0]], []]
    return out


def test_sparse_scores_equal_rank_bm25_on_the_seeds():
    """rank-bm25 stays the definition: the matrix gives BM25Okapi.get_scores to 1e-6."""
    from qa.index.documents import read_document
    from qa.index.passages import make_passages, split_sentences
    from qa.settings import Splitter

    from .conftest import SEED_IDS, SEEDS

    corpus = []
    for name in SEED_IDS:
        doc = read_document(SEEDS / f"{name}.txt")
        corpus += [tokenize(doc.text[p.start:p.end])
                   for p in make_passages(doc, split_sentences(doc), Splitter())]
    index = BM25Index.build(corpus)
    rng = np.random.default_rng(0)
    for q in _queries(corpus, rng, 200) + [tokenize("How many Cuban soldiers were killed in Caracas?")]:
        np.testing.assert_allclose(index.scores(q), _rank_bm25_scores(corpus, q), rtol=0, atol=1e-6)


def test_sparse_scores_equal_rank_bm25_on_a_generated_corpus():
    """Zipf-like words, passages of 1 to 120 tokens, some terms in most passages (rank-bm25's
    negative idf floored at 0.25 x the mean idf) and many in one."""
    rng = np.random.default_rng(7)
    words = [f"w{i}" for i in range(3000)]
    weights = 1.0 / np.arange(1, len(words) + 1)
    corpus = [list(rng.choice(words, size=int(rng.integers(1, 120)), p=weights / weights.sum())) for _ in range(800)]
    index = BM25Index.build(corpus)
    for q in _queries(corpus, rng, 300):
        expected = _rank_bm25_scores(corpus, q)
        np.testing.assert_allclose(index.scores(q), expected, rtol=0, atol=1e-6)
        ids, scores = index.top(q, 10)
        want = -np.sort(-expected[expected > 0])[:10]  # ids may swap between scores equal to 1e-15
        np.testing.assert_allclose(scores, want, rtol=0, atol=1e-6)
        np.testing.assert_allclose(expected[ids], scores, rtol=0, atol=1e-6)


@pytest.mark.parametrize("k", [1, 3, 10, 50, 1000])
def test_top_keeps_the_full_sort_order_with_ties(k, monkeypatch):
    """Partitioning before the sort changes nothing: the same ids, best first, ties by lower id."""
    rng = np.random.default_rng(k)
    index = BM25Index.build([["a"], ["b"]])
    for _ in range(20):
        s = rng.integers(-2, 6, size=400).astype(np.float64)  # many ties, some zero or negative
        monkeypatch.setattr(index, "scores", lambda _q, s=s: s)
        hit = np.flatnonzero(s > 0)
        want = hit[np.argsort(-s[hit], kind="stable")[:k]]
        ids, scores = index.top(["a"], k)
        assert ids.tolist() == want.tolist() and scores.tolist() == s[want].tolist()
