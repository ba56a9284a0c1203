import pytest

from qa.values import number_value, same_value


@pytest.mark.parametrize("text,value", [
    ("47", 47), ("1,200 people", 1200), ("$4.2 million", 4_200_000), ("nine", 9), ("twenty-one", 21),
    ("two hundred", 200), ("tens of thousands", 10_000), ("thousands", 1_000), ("3.5%", 3.5),
    ("no number here", None), ("", None),
])
def test_number_value(text, value):
    assert number_value(text) == value


@pytest.mark.parametrize("a,b", [
    ("Delcy Rodríguez", "Delsey Rodriguez"),  # spelling variants of one person
    ("Maduro", "Nicolás Maduro"),  # a surname and the full name
    ("nine", "9"), ("1,200", "1200"), ("the harbour bridge", "Harbour Bridge"),
])
def test_same(a, b):
    assert same_value(a, b) and same_value(b, a)


@pytest.mark.parametrize("a,b", [
    ("47", "32"), ("tens of thousands", "thousands"), ("Harbor Town", "Mill River"),
    ("Maria Lopez", "Pedro Lopez"), ("March 2027", "April 2027"), ("12", "twelve hundred"),
])
def test_different(a, b):
    assert not same_value(a, b) and not same_value(b, a)
