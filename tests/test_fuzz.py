"""Property tests over hostile documents and questions: no crash, quotes verbatim at their offsets."""
import hashlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from qa.index.documents import read_document
from qa.engine import Engine
from qa.errors import DocumentError, InputError
from qa.index.passages import make_passages, split_sentences
from qa.settings import Settings, Splitter


class HashEncoder:
    """Deterministic unit vectors from a text hash: for properties that do not depend on meaning."""

    model_id, dim = "all-MiniLM-L6-v2", 384

    def encode(self, texts, **_kwargs):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            rng = np.random.default_rng(int.from_bytes(hashlib.sha256(t.encode("utf-8", "surrogatepass")).digest()[:8], "little"))
            v = rng.standard_normal(self.dim)
            out[i] = v / np.linalg.norm(v)
        return out


texts = st.one_of(
    st.text(max_size=2000),
    st.text(alphabet=st.sampled_from("ab .?!\n\r\t“”\"'’U.S.Jan.0123456789،\u202eé😀\x00"), max_size=2000),
    st.lists(st.sampled_from(["The U.S. Embassy said 47 soldiers died.", "Leave a Reply", "\r\n", "\r", "\n",
                              "Dr. Who met Mr. X on Jan. 16, 2026.", "“Quote,” he said.", "3.5", "<script>",
                              "No full stop", "¿Qué?", "Nine women.", ""]), max_size=60).map("".join),
)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts)
def test_sentences_and_passages_stay_inside_the_text(tmp_path, text):
    path = tmp_path / "doc.txt"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    try:
        doc = read_document(path)
    except DocumentError:
        return
    with open(path, encoding="utf-8", newline="", errors="surrogatepass") as f:
        assert doc.text == f.read()
    sentences = split_sentences(doc)
    for s in sentences:
        assert 0 <= s.start < s.end <= len(doc.text)
        assert doc.text[s.start:s.end].strip() == doc.text[s.start:s.end]
    passages = make_passages(doc, sentences, Splitter())
    for p in passages:
        assert 0 <= p.start < p.end <= len(doc.text)
        assert p.start == sentences[p.first_sentence].start and p.end == sentences[p.last_sentence].end


@pytest.mark.parametrize("name,data", [
    ("nul.txt", b"abc\x00def. More text here."),
    ("invalid.txt", b"valid start \xc3\x28 invalid"),
    ("one.txt", b"x"),
    ("noends.txt", b"word " * 2000),
    ("megaline.txt", b"a" * (1024 * 1024)),
    ("mixed.txt", b"First line.\r\nSecond line.\rThird line.\nFourth."),
    ("rtl.txt", "\u202eThe minister said 12 soldiers died.\u202c السلام عليكم".encode()),
])
def test_hostile_documents_index_and_answer(tmp_path, cache_dir, name, data):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / name).write_bytes(data)
    (docs / "anchor.txt").write_text("The Zorblatt Festival drew 4,200 visitors on Saturday.", encoding="utf-8")
    engine = Engine(Settings(index_dir=tmp_path / "index", docs=(docs,), cache_dir=cache_dir),
                    document_encoder=HashEncoder())
    report = engine.build()
    assert report.documents in (1, 2)
    for question in ("How many visitors did the festival draw?", "What did the minister say?", "a" * 1000):
        answer = engine.ask(question)
        for q in answer.quotes:
            text = engine.retriever().documents[q.doc_id].text
            assert text[q.start:q.end] == q.text and 0 <= q.start < q.end <= len(text)


questions = st.one_of(
    st.text(max_size=500),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=200),
    # lone surrogates: what Python makes of a terminal's non-UTF-8 bytes (surrogateescape)
    st.text(alphabet=st.characters(categories=("Cs", "Ll", "Nd", "Zs")), min_size=1, max_size=50),
    st.sampled_from(["Maduro \udcff\udcfe wife", "the of and to", "???", "\x00\x01\x02", "😀😀😀", "مرحبا كم عدد الجنود", "\u202ehow many\u202c",
                     "how many " * 200]),
)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(questions)
def test_hostile_questions(seed_engine, question):
    try:
        answer = seed_engine.ask(question)
    except InputError:
        return
    for q in answer.quotes:
        text = seed_engine.retriever().documents[q.doc_id].text
        assert text[q.start:q.end] == q.text
        assert q.text[q.answer_start:q.answer_end] == (answer.answer if q is answer.quotes[0] else q.answer)
