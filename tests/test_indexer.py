import json
import shutil

import pytest

from qa.index import indexer, store
from qa.engine import Engine
from qa.errors import DocumentError, IndexCorruptError
from qa.settings import Settings, Splitter


class CountingEncoder:
    """Wraps the real encoder and counts the texts it embeds."""

    def __init__(self, inner):
        self.inner, self.count = inner, 0
        self.model_id, self.dim = inner.model_id, inner.dim

    def encode(self, texts, **kwargs):
        self.count += len(texts)
        return self.inner.encode(texts, **kwargs)


@pytest.fixture
def setup(tmp_path, seeds_copy, st_encoder, cache_dir):
    docs = tmp_path / "docs"
    shutil.copytree(seeds_copy, docs)
    enc = CountingEncoder(st_encoder)
    settings = Settings(index_dir=tmp_path / "index", docs=(docs,), cache_dir=cache_dir)
    return settings, docs, enc


def build(settings, enc):
    return indexer.build(settings, None if settings.docs is None else list(settings.docs), encoder=lambda _f: enc)


def test_incremental_builds(setup):
    settings, docs, enc = setup
    first = build(settings, enc)
    assert first.written and first.embedded == enc.count > 0 and len(first.added) == 2
    enc.count = 0
    second = build(settings, enc)
    assert not second.written and second.embedded == 0 and enc.count == 0
    assert indexer.stale_reason(settings, settings.docs) is None

    # a changed document: only its own passages and sentences are embedded
    f = docs / "000_4cf354647c8c7dec.txt"
    f.write_text(f.read_text(encoding="utf-8") + "\nA new closing sentence was added.\n", encoding="utf-8")
    assert "changed" in indexer.stale_reason(settings, settings.docs)
    third = build(settings, enc)
    assert third.changed == ("000_4cf354647c8c7dec",) and third.unchanged == 1
    assert 0 < enc.count < first.embedded

    # an added document, then a removed one
    enc.count = 0
    (docs / "extra.md").write_text("# Extra\n\nThe Zorblatt Festival drew 4,200 visitors.", encoding="utf-8")
    fourth = build(settings, enc)
    assert fourth.added == ("extra",) and enc.count <= 4
    (docs / "extra.md").unlink()
    enc.count = 0
    fifth = build(settings, enc)
    assert fifth.removed == ("extra",) and enc.count == 0
    engine = Engine(settings)
    assert set(engine.retriever().documents) == {"000_4cf354647c8c7dec", "001_2feeabb1633a6458"}


def test_reused_vectors_equal_fresh_ones(setup, tmp_path):
    import numpy as np
    from qa.index.store import read_index

    settings, docs, enc = setup
    build(settings, enc)
    (docs / "extra.txt").write_text("Another document entirely.", encoding="utf-8")
    build(settings, enc)
    fresh = settings.with_(index_dir=tmp_path / "fresh")
    build(fresh, enc)
    a, b = read_index(settings.index_dir), read_index(fresh.index_dir)
    assert a.passages == b.passages and a.sentences == b.sentences
    assert np.allclose(a.passage_vectors(), b.passage_vectors(), atol=1e-5)
    assert np.allclose(np.asarray(a.sentence_vectors), np.asarray(b.sentence_vectors), atol=1e-5)


def test_changed_settings_rebuild(setup):
    settings, docs, enc = setup
    first = build(settings, enc)
    other = settings.with_(splitter=Splitter(sentences_per_passage=2, overlap=0))
    assert "splitter" in indexer.stale_reason(other, other.docs)
    enc.count = 0
    report = build(other, enc)
    assert report.written and enc.count > 0 and report.passages != first.passages


def test_corrupt_index_is_rebuilt(setup):
    settings, docs, enc = setup
    build(settings, enc)
    (store.data_dir(settings.index_dir) / "dense.faiss").write_bytes(b"garbage")
    report = build(settings, enc)
    assert report.written and report.unchanged == 0


def test_empty_folder_is_an_error_and_keeps_index(setup, tmp_path):
    settings, docs, enc = setup
    build(settings, enc)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DocumentError, match="no readable documents"):
        indexer.build(settings, [empty], encoder=lambda _f: enc)
    assert (settings.index_dir / "manifest.json").is_file()


@pytest.mark.parametrize("damage", ["schema 1 layout", "data folder outside the index"])
def test_unusable_manifest_is_rebuilt_from_the_recorded_documents(own_index, st_encoder, cache_dir, damage):
    """An index from an older version (data files beside the manifest, schema 1) or whose manifest
    points outside its folder is rebuilt on the next question, from the documents it was built
    from, not seeds/."""
    index, docs = own_index
    manifest = json.loads((index / "manifest.json").read_text())
    if damage == "schema 1 layout":
        shutil.rmtree(store.data_dir(index, manifest))
        for name in store.LEGACY_FILES:  # schema 1 kept its files beside the manifest
            (index / name).write_bytes(b"from an older version")
        manifest["schema"] = 1
        del manifest["data"]
        (index / "manifest.json").write_text(json.dumps(manifest))
    else:
        manifest["data"] = "../../../etc"
        (index / "manifest.json").write_text(json.dumps(manifest))
    engine = Engine(Settings(index_dir=index, cache_dir=cache_dir), document_encoder=st_encoder)
    assert engine.sources() == (docs,)
    hits = engine.search("How many Cuban soldiers were killed?").hits
    assert any("32 Cuban soldiers" in h.text for h in hits)  # the recorded documents, not another corpus
    assert store.read_manifest(index)["sources"] == [str(docs)]
    assert {p.name for p in index.iterdir() if not p.name.startswith(".")} == \
        {"manifest.json", "sources.json", store.read_manifest(index)["data"]}  # the old layout's files are gone


def test_truncated_manifest_is_rebuilt_from_the_recorded_documents(own_index, st_encoder, cache_dir, caplog):
    """A manifest cut short still leaves what to rebuild from (sources.json beside it), and the
    rebuild is announced in one line that says what was found and what is done."""
    index, docs = own_index
    manifest = index / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:100])
    engine = Engine(Settings(index_dir=index, cache_dir=cache_dir), document_encoder=st_encoder)
    assert engine.sources() == (docs,)
    with caplog.at_level("WARNING"):
        hits = engine.search("How many Cuban soldiers were killed?").hits
    assert any("32 Cuban soldiers" in h.text for h in hits)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings
    assert "unreadable" in warnings[0] and f"rebuilding the index from {docs}" in warnings[0]
    assert "run `qa index`" not in warnings[0]
    assert store.read_manifest(index)["sources"] == [str(docs)]


def damage_data_file(path, how):
    data = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(bytes(data[:len(data) // 2]))
        return
    start = data.index(b"\n") + 1 if path.suffix == ".npy" else len(data) // 2  # an .npy keeps its header
    data[start:] = bytes(b ^ 0x5A for b in data[start:])
    path.write_bytes(bytes(data))  # other bytes, the same size


@pytest.mark.parametrize("name, how", [(name, "overwritten") for name in store.DATA_FILES]
                         + [("texts.txt", "truncated"), ("sentence_vectors.npy", "truncated")])
def test_damaged_data_file_is_named_and_rebuilt_from_the_recorded_documents(own_index, st_encoder, cache_dir,
                                                                           caplog, name, how):
    """One rule for every data file, however damaged: the next question finds it, says which file in
    one line that says what is done (rebuilding, not "run `qa index`"), and rebuilds the index."""
    index, docs = own_index
    damaged = store.data_dir(index) / name
    damage_data_file(damaged, how)
    engine = Engine(Settings(index_dir=index, cache_dir=cache_dir), document_encoder=st_encoder)
    with caplog.at_level("WARNING"):
        hits = engine.search("How many Cuban soldiers were killed?").hits
    assert any("32 Cuban soldiers" in h.text for h in hits)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"index file {damaged} ")
    assert warnings[0].endswith(f"; rebuilding the index from {docs}")
    assert "run `qa index`" not in warnings[0] and "—" not in warnings[0]
    assert store.data_files_intact(index, store.read_manifest(index))  # rebuilt whole


def test_damaged_index_that_no_longer_says_its_documents_is_an_error(own_index, cache_dir):
    """With neither the manifest nor its copy readable, the tool stops and says which option to
    pass, rather than answering from seeds/."""
    index, _docs = own_index
    (index / "manifest.json").write_text("{")
    (index / "sources.json").unlink()
    engine = Engine(Settings(index_dir=index, cache_dir=cache_dir))
    with pytest.raises(IndexCorruptError, match=r"no longer records which documents.*--docs PATH"):
        engine.search("How many Cuban soldiers were killed?")


def test_uploads_are_indexed_with_the_documents(setup, tmp_path):
    """Files in the uploads folder (in the per-user data folder by default) are part of the corpus
    whichever documents are named, and the documents folder is never written."""
    settings, docs, enc = setup
    before = sorted(p.name for p in docs.iterdir())
    assert settings.uploads_dir == tmp_path / "user-data" / "qa-cite" / "uploads"  # conftest's XDG_DATA_HOME
    engine = Engine(settings, document_encoder=enc)
    engine.build()
    settings.uploads_dir.mkdir(parents=True)
    (settings.uploads_dir / "lake.txt").write_text("Lake news\n\nThe Zorblatt Festival drew 4,200 visitors.\n")
    assert engine.sources() == (docs, settings.uploads_dir)
    assert "lake" in {d.doc_id for d in engine.retriever().documents.values()}  # stale: rebuilt with it
    engine.build([docs])  # naming the documents keeps the uploads
    assert "lake" in engine.retriever().documents
    assert sorted(p.name for p in docs.iterdir()) == before
    (settings.uploads_dir / "lake.txt").unlink()
    assert engine.sources() == (docs,)
    assert "lake" not in Engine(settings, document_encoder=enc).retriever().documents


# -- document encoding: recorded, changed -> rebuilt, each text encoded once --------------------
@pytest.fixture(scope="module")
def doc_encoder(model_files):
    """A document encoder of the library (ONNX int8, sentence vectors from their passages; the one
    used where the CPU lacks bf16, and quicker to load than torch), one thread."""
    from qa.index.dense import OnnxMiniLM, Precision, load_encoder

    load_encoder(model_files, for_queries=True)  # extracts and verifies the model
    return OnnxMiniLM(model_files, Precision.INT8, threads=1)


class CountingSpanEncoder(CountingEncoder):
    """Counts the texts of both calls of an encoder that gives span vectors."""

    def encode_with_spans(self, texts, spans, **kwargs):
        self.count += len(texts)
        return self.inner.encode_with_spans(texts, spans, **kwargs)


def _alone():
    from qa.index.dense import DocumentEncoding, PassageVectors, Precision, Runtime, SentenceVectors

    return DocumentEncoding(Runtime.ONNX, Precision.INT8, PassageVectors.ENCODED, SentenceVectors.ALONE, 256)


def test_default_build_encodes_each_passage_once_and_records_how(setup, doc_encoder):
    """The manifest records the document encoding; only passages go through the model, and the
    sentence vectors taken from them find the sentence that answers."""
    import numpy as np

    from qa.index.dense import document_encoding, load_encoder, resolve_model
    from qa.index.store import read_index

    settings, _docs, _ = setup
    enc = CountingSpanEncoder(doc_encoder)
    report = build(settings, enc)
    data = read_index(settings.index_dir)
    expected = document_encoding(resolve_model(settings.model, settings.cache_dir)).to_json()
    assert data.manifest["embedding"] == expected and expected["sentences"] == "in-passage"
    assert report.embedded == enc.count == len(data.passages) < len(data.sentences)
    vectors = np.asarray(data.sentence_vectors)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    question = load_encoder(resolve_model(settings.model, settings.cache_dir), for_queries=True).encode(
        ["How many Cuban soldiers were killed?"])[0]
    text = {d.doc_id: d.text for d in data.documents}
    nearest = [data.sentences[int(i)] for i in np.argsort(-(vectors @ question))[:5]]
    assert any("32 Cuban soldiers" in text[s.doc_id][s.start:s.end] for s in nearest)


def test_index_from_before_the_encoding_was_recorded_is_rebuilt(setup, doc_encoder):
    settings, _docs, _ = setup
    enc = CountingSpanEncoder(doc_encoder)
    first = build(settings, enc)
    manifest = store.read_manifest(settings.index_dir)
    del manifest["embedding"]  # as an index built before 2026-11-24 (every text encoded, fp32)
    (settings.index_dir / "manifest.json").write_text(json.dumps(manifest))
    assert "embedding" in indexer.stale_reason(settings, settings.docs)
    enc.count = 0
    again = build(settings, enc)
    assert again.written and again.unchanged == 0 and enc.count == first.embedded
    assert store.read_manifest(settings.index_dir)["embedding"]["sentences"] == "in-passage"


def test_changed_encoding_rebuilds_rather_than_mixes(setup, doc_encoder):
    """An index made with another encoding is stale, and the build re-embeds every document."""
    settings, _docs, _ = setup
    enc = CountingSpanEncoder(doc_encoder)
    build(settings, enc)
    other = _alone()
    assert indexer.stale_reason(settings, settings.docs) is None
    enc.count = 0
    report = indexer.build(settings, list(settings.docs), encoder=lambda _f: enc, encoding=other)
    assert report.written and report.unchanged == 0
    assert enc.count == report.embedded == report.passages + report.sentences  # every text alone
    assert store.read_manifest(settings.index_dir)["embedding"] == other.to_json()
    assert "embedding" in indexer.stale_reason(settings, settings.docs)  # the default differs again


def test_identical_texts_are_encoded_once(setup, doc_encoder):
    settings, docs, _ = setup
    original = docs / "000_4cf354647c8c7dec.txt"
    (docs / "copy.txt").write_bytes(original.read_bytes())
    enc = CountingSpanEncoder(doc_encoder)
    report = build(settings, enc)
    from qa.index.store import read_index

    data = read_index(settings.index_dir)
    docs_by_id = {d.doc_id: d for d in data.documents}
    texts = {docs_by_id[p.doc_id].text[p.start:p.end] for p in data.passages}
    assert report.embedded == enc.count == len(texts) < len(data.passages)
    enc.count = 0
    alone = indexer.build(settings.with_(index_dir=settings.index_dir.parent / "alone"), list(settings.docs),
                          encoder=lambda _f: enc, encoding=_alone())
    sentences = {docs_by_id[s.doc_id].text[s.start:s.end] for s in data.sentences}
    assert alone.embedded == enc.count == len(texts | sentences)


def test_pooled_passages_are_the_mean_of_their_sentences(setup):
    import numpy as np

    from qa.index.dense import DocumentEncoding, PassageVectors, Precision, Runtime, SentenceVectors, pool
    from qa.index.store import read_index

    settings, _docs, enc = setup
    pooled = DocumentEncoding(Runtime.TORCH, Precision.FP32, PassageVectors.POOLED, SentenceVectors.ALONE, None)
    report = indexer.build(settings, list(settings.docs), encoder=lambda _f: enc, encoding=pooled)
    data = read_index(settings.index_dir)
    assert report.embedded == enc.count == len({d.text[s.start:s.end] for d in data.documents
                                                for s in data.sentences if s.doc_id == d.doc_id})
    expected = pool(np.asarray(data.sentence_vectors), [p.first_sentence for p in data.passages],
                    [p.last_sentence for p in data.passages])
    np.testing.assert_allclose(data.passage_vectors(), expected, atol=1e-6)


def test_sentence_cut_off_in_its_passage_is_encoded_alone(tmp_path, doc_encoder, cache_dir):
    """A sentence past the 256 wordpieces of every passage holding it gets its own forward pass."""
    import numpy as np

    from qa.index.store import read_index

    docs = tmp_path / "docs"
    docs.mkdir()
    long = " ".join(f"q{i}z" for i in range(150)) + "."
    last = "The Zorblatt Festival drew 4,200 visitors."
    (docs / "long.txt").write_text(f"{long} {last}\n", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index", docs=(docs,), cache_dir=cache_dir)
    enc = CountingSpanEncoder(doc_encoder)
    report = build(settings, enc)
    data = read_index(settings.index_dir)
    assert len(data.passages) == 1 and len(data.sentences) == 2
    assert report.embedded == enc.count == 2  # the passage, then the sentence it cut off
    np.testing.assert_allclose(np.asarray(data.sentence_vectors)[1], doc_encoder.encode([last])[0], atol=1e-5)


# -- the no-change check: the manifest and the files' stamps, not the documents ---------------------
def test_unchanged_build_reads_no_document(setup, monkeypatch, caplog):
    """Nothing changed: the build answers from the manifest and each file's size and modification
    time, without reading a document or the index's data, and still warns about skipped files."""
    settings, docs, enc = setup
    (docs / "bad.txt").write_bytes(b"\xff\xfe\x00")
    first = build(settings, enc)
    assert first.written and [s.path.endswith("bad.txt") for s in first.skipped] == [True]

    def refuse(*_a, **_k):
        raise AssertionError("read although nothing changed")

    monkeypatch.setattr(indexer, "load_documents", refuse)
    monkeypatch.setattr(indexer, "read_index", refuse)
    monkeypatch.setattr(indexer, "content_hash", refuse)
    caplog.clear()
    again = build(settings, enc)
    assert not again.written and again.embedded == 0
    assert (again.documents, again.passages, again.sentences) == (first.documents, first.passages, first.sentences)
    assert [s.reason for s in again.skipped] == [s.reason for s in first.skipped]
    assert any("bad.txt" in r.getMessage() for r in caplog.records)


def test_touched_file_is_rehashed_and_an_edit_of_the_same_size_is_seen(setup):
    import os

    settings, docs, enc = setup
    build(settings, enc)
    f = docs / "000_4cf354647c8c7dec.txt"
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))  # touched: same bytes
    enc.count = 0
    touched = build(settings, enc)
    assert not touched.written and enc.count == 0
    assert store.read_manifest(settings.index_dir)["stamps"][str(f)][1] == st.st_mtime_ns + 5_000_000_000
    text = f.read_text(encoding="utf-8")
    f.write_text(text.replace("Cuba", "Cubx", 1), encoding="utf-8")  # same size, other bytes
    assert f.stat().st_size == st.st_size
    assert "changed" in indexer.stale_reason(settings, settings.docs)
    edited = build(settings, enc)
    assert edited.written and edited.changed == ("000_4cf354647c8c7dec",)


def test_missing_data_file_is_not_taken_for_no_change(setup):
    settings, docs, enc = setup
    build(settings, enc)
    (store.data_dir(settings.index_dir) / "sentence_vectors.npy").unlink()
    enc.count = 0
    again = build(settings, enc)
    assert again.written and enc.count > 0  # rebuilt, not reported unchanged
