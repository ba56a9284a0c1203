import pytest

from qa.index.documents import Document, find_boilerplate, read_document
from qa.index.passages import make_passages, split_line, split_sentences
from qa.settings import Splitter

from .conftest import SEED_IDS, SEEDS, read_file


def sentences_of(line: str) -> list[str]:
    return [line[a:b] for a, b in split_line(line)]


@pytest.mark.parametrize("line,expected", [
    ("He met U.S. officials. They left.", ["He met U.S. officials.", "They left."]),
    ("The U.S. Embassy in Havana was shut.", ["The U.S. Embassy in Havana was shut."]),
    ("They marched on Friday, Jan. 16, 2026, in Havana. Then rain.",
     ["They marched on Friday, Jan. 16, 2026, in Havana.", "Then rain."]),
    ("Dr. Smith arrived. Mr. Jones left.", ["Dr. Smith arrived.", "Mr. Jones left."]),
    ("Growth was 3.5 percent. It slowed.", ["Growth was 3.5 percent.", "It slowed."]),
    ("The photo is dated 16/20/2016. It is wrong.", ["The photo is dated 16/20/2016.", "It is wrong."]),
    ("President Nicolás Maduro was taken. His wife too.", ["President Nicolás Maduro was taken.", "His wife too."]),
    ("“No one surrenders here,” Diaz-Canel said. He left.", ["“No one surrenders here,” Diaz-Canel said.", "He left."]),
    ("“What did they do? They gave their lives,” Padrino said.", ["“What did they do? They gave their lives,” Padrino said."]),
    ("John F. Kennedy spoke.", ["John F. Kennedy spoke."]),
    ("No full stop at the end", ["No full stop at the end"]),
    ("", []),
    ("   ", []),
])
def test_split_line(line, expected):
    assert sentences_of(line) == expected


@pytest.mark.parametrize("doc_id", SEED_IDS)
def test_offsets_invariant_over_seeds(doc_id):
    path = SEEDS / f"{doc_id}.txt"
    text = read_file(path)
    doc = read_document(path)
    sentences = split_sentences(doc)
    passages = make_passages(doc, sentences, Splitter())
    assert sentences and passages
    for s in sentences:
        piece = text[s.start:s.end]
        assert piece == piece.strip() and piece and "\n" not in piece
    boiler = [text[b.start:b.end] for b in doc.boilerplate]
    for p in passages:
        piece = text[p.start:p.end]
        assert piece.startswith(text[sentences[p.first_sentence].start:sentences[p.first_sentence].end])
        assert not any(b.strip() in piece for b in boiler)
        assert "Leave a Reply" not in piece and "Recommended stories" not in piece
    # every sentence is in some passage, and consecutive passages overlap by one sentence
    covered = {i for p in passages for i in range(p.first_sentence, p.last_sentence + 1)}
    assert covered == set(range(len(sentences)))


def test_passage_windows_overlap():
    text = " ".join(f"Sentence number {i} is here." for i in range(10))
    doc = Document("d", "d.txt", "t", text, "h", find_boilerplate(text))
    sentences = split_sentences(doc)
    passages = make_passages(doc, sentences, Splitter(sentences_per_passage=4, overlap=1, max_chars=10_000))
    assert [(p.first_sentence, p.last_sentence) for p in passages] == [(0, 3), (3, 6), (6, 9)]


def test_long_line_is_chopped():
    text = "word " * 100_000
    doc = Document("d", "d.txt", "t", text, "h", ())
    sentences = split_sentences(doc)
    assert len(sentences) > 100
    assert all(s.end - s.start <= 1500 for s in sentences)
    passages = make_passages(doc, sentences, Splitter())
    assert all(p.end - p.start <= 1500 for p in passages)


def test_headings_are_marked():
    doc = read_document(SEEDS / "000_4cf354647c8c7dec.txt")
    headings = [doc.text[s.start:s.end] for s in split_sentences(doc) if s.heading]
    assert "Details of the U.S. Raid" in headings
    assert "Cuban Soldiers Among the Casualties" in headings
