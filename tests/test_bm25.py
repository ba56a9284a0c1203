import math

import numpy as np

from qa.bm25 import BM25Index
from qa.tokenize import tokenize

CORPUS = ["Cuba received the remains of 32 soldiers.",
          "Thousands of Cubans protested in Havana.",
          "The soldiers were honored in Caracas and Havana."]


def test_ranks_by_hand():
    index = BM25Index([tokenize(t) for t in CORPUS])
    ids, scores = index.top(tokenize("soldiers remains"), 3)
    # "remain" only in doc 0; "soldier" in docs 0 and 2 -> 0 first, then 2; doc 1 matches nothing
    assert ids.tolist() == [0, 2]
    assert scores[0] > scores[1] > 0


def test_idf_positive_and_unseen_highest():
    index = BM25Index([tokenize(t) for t in CORPUS])
    assert math.isclose(index.idf("havana"), math.log(1 + (3 - 2 + 0.5) / (2 + 0.5)))
    assert index.idf("zzz") > index.idf("remain") > index.idf("havana") > 0


def test_empty_inputs():
    assert BM25Index([]).scores(["x"]).shape == (0,)
    index = BM25Index([tokenize(t) for t in CORPUS])
    assert np.all(index.scores([]) == 0)
    assert index.top(["nothing"], 5)[0].tolist() == []
