import pytest

from qa.index.tokenize import fold, tokenize, words


@pytest.mark.parametrize("a,b", [("Rodríguez", "Rodriguez"), ("José Martí", "Jose Marti"), ("LÓPEZ", "lopez")])
def test_accents_fold(a, b):
    assert tokenize(a) == tokenize(b)
    assert fold(a) == fold(b).lower()


def test_stems_and_stopwords():
    assert tokenize("The soldiers were killed") == tokenize("soldier kill")
    assert tokenize("the of and") == []


def test_acronyms_and_possessives():
    assert tokenize("U.S. troops") == tokenize("US troops")
    assert words("Venezuela’s oil") == ["venezuela", "oil"]


@pytest.mark.parametrize("text", ["", "   ", "?!…", "\x00\x01"])
def test_degenerate(text):
    assert tokenize(text) == []
