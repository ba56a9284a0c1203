import json
import os
import shutil

import numpy as np
import pytest

from qa.index import store
from qa.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, IndexWriteError


def copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def tree(folder):
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_round_trip(seed_index, tmp_path):
    data = store.read_index(copy(seed_index, tmp_path / "i"))
    assert data.dense.ntotal == len(data.passages) > 0
    assert data.sentence_vectors.shape == (len(data.sentences), 384)
    assert not list((tmp_path / "i").glob(".build-*"))
    store.write_index(tmp_path / "j", data)
    again = store.read_index(tmp_path / "j")
    assert again.passages == data.passages and again.documents == data.documents
    assert np.allclose(again.passage_vectors(), data.passage_vectors())


def test_missing(tmp_path):
    with pytest.raises(IndexMissingError, match="qa index"):
        store.read_index(tmp_path)


@pytest.mark.parametrize("name", store.DATA_FILES)
def test_truncated_file_is_named(seed_index, tmp_path, name):
    index = copy(seed_index, tmp_path / "i")
    path = store.data_dir(index) / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match=name):
        store.read_index(index)


def test_changed_small_file_fails_its_checksum(seed_index, tmp_path):
    index = copy(seed_index, tmp_path / "i")
    path = store.data_dir(index) / "passages.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size, other offsets
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError, match="passages.npy does not match its checksum"):
        store.read_index(index)


def overwrite_in_place(path, mtime_ns=None):
    """Other bytes at the same size (an .npy keeps its header), optionally at the old modification time."""
    data = bytearray(path.read_bytes())
    start = data.index(b"\n") + 1 if path.suffix == ".npy" else len(data) // 2
    data[start:] = bytes(b ^ 0x5A for b in data[start:])
    path.write_bytes(bytes(data))
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


@pytest.mark.parametrize("name", store.DATA_FILES)
def test_every_file_overwritten_at_its_size_is_named(seed_index, tmp_path, name):
    """One rule for every data file, large or small: other bytes at the recorded size fail the checksum."""
    index = copy(seed_index, tmp_path / "i")
    path = store.data_dir(index) / name
    overwrite_in_place(path)
    with pytest.raises(IndexCorruptError) as info:
        store.read_index(index)
    assert str(info.value) == f"index file {path} does not match its checksum; run `qa index` to rebuild"
    assert store.found(info.value) == f"index file {path} does not match its checksum"
    assert not store.data_files_intact(index, store.read_manifest(index))


def test_large_arrays_are_hashed_only_when_their_time_changed(seed_index, tmp_path, monkeypatch):
    """Loading does not read a large array end to end while its modification time is the recorded one
    (its size and shape are still checked); the small files are hashed every time."""
    index = copy(seed_index, tmp_path / "i")
    hashed = []
    real = store.file_sha256
    monkeypatch.setattr(store, "file_sha256", lambda path: hashed.append(path.name) or real(path))
    store.read_index(index)
    assert sorted(hashed) == sorted(store.HASHED)
    path = store.data_dir(index) / "sentence_vectors.npy"
    overwrite_in_place(path, mtime_ns=path.stat().st_mtime_ns)  # same size, same time: trusted
    store.read_index(index)
    os.utime(path)
    with pytest.raises(IndexCorruptError, match="sentence_vectors.npy does not match its checksum"):
        store.read_index(index)


def test_a_copied_index_with_new_times_still_loads(seed_index, tmp_path):
    """Copies that do not keep modification times (``cp -r``) cost a hash of each array, nothing more."""
    index = tmp_path / "i"
    shutil.copytree(seed_index, index, copy_function=shutil.copyfile)
    assert store.read_index(index).dense.ntotal > 0
    assert store.data_files_intact(index, store.read_manifest(index))


def test_index_from_before_the_arrays_were_hashed_still_loads(seed_index, tmp_path):
    """Manifests written before every file's hash and time were recorded: the arrays are checked by size."""
    index = copy(seed_index, tmp_path / "i")
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["files"] = {name: {"bytes": e["bytes"], **({"sha256": e["sha256"]} if name in store.HASHED else {})}
                         for name, e in manifest["files"].items()}
    (index / "manifest.json").write_text(json.dumps(manifest))
    assert store.read_index(index).dense.ntotal > 0


def test_arrays_that_disagree_are_refused(seed_index, tmp_path):
    """Arrays are checked by shape too: one that no longer fits the others (here the token offsets)
    is caught even when the manifest records it as it is."""
    from qa.index.hashing import file_sha256

    index = copy(seed_index, tmp_path / "i")
    folder = store.data_dir(index)
    path = folder / "token_offsets.npy"
    offsets = np.load(path)
    offsets[-1] += 1
    np.save(path, offsets, allow_pickle=False)
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["files"]["token_offsets.npy"] = {"bytes": path.stat().st_size, "sha256": file_sha256(path),
                                              "mtime_ns": path.stat().st_mtime_ns}
    (index / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="inconsistent files"):
        store.read_index(index)


def test_columns_read_back_as_passages_sentences_and_tokens(seed_index, seeds_copy, tmp_path):
    """The binary columns give back exactly the passages, sentences and tokens that were written,
    and the BM25 matrix stored with them scores as one built afresh from the tokens."""
    from qa.index.bm25 import BM25Index
    from qa.index.tokenize import tokenize

    data = store.read_index(seed_index)
    docs = {d.doc_id: d for d in data.documents}
    assert len(data.passage_tokens) == len(data.passages)
    for p, tokens in zip(data.passages, data.passage_tokens):
        assert tuple(tokenize(docs[p.doc_id].text[p.start:p.end])) == tokens
        assert data.sentences[p.first_sentence].doc_id == data.sentences[p.last_sentence].doc_id == p.doc_id
    assert list(data.passages[1:3]) == [data.passages[1], data.passages[2]]
    stored = BM25Index(*data.bm25, len(data.passages))
    fresh = BM25Index.build(list(data.passage_tokens))
    for query in ("How many Cuban soldiers were killed?", "Maduro wife Cilia Flores", "nothing-like-this"):
        q = tokenize(query)
        assert np.allclose(stored.scores(q), fresh.scores(q), atol=1e-12)
        assert stored.idf(q[0]) == fresh.idf(q[0])


@pytest.mark.parametrize("schema, made", [(1, "an older"), (99, "another"), (None, "another")])
def test_other_versions_index_is_named_plainly(seed_index, tmp_path, schema, made):
    index = copy(seed_index, tmp_path / "i")
    manifest = json.loads((index / "manifest.json").read_text())
    (index / "manifest.json").write_text(json.dumps(dict(manifest, schema=schema)))
    with pytest.raises(IndexMismatchError) as info:
        store.read_index(index)
    assert str(info.value) == f"the index in {index} was made by {made} version of qa; run `qa index` to rebuild"


@pytest.mark.parametrize("edit,error", [
    (lambda m: "{not json", IndexCorruptError),
    (lambda m: json.dumps(dict(m, schema=99)), IndexMismatchError),
    (lambda m: json.dumps({k: v for k, v in m.items() if k != "files"}), IndexCorruptError),
    (lambda m: json.dumps([1, 2]), IndexCorruptError),
    (lambda m: json.dumps(dict(m, files=["passages.npy"])), IndexCorruptError),
])
def test_edited_manifest(seed_index, tmp_path, edit, error):
    index = copy(seed_index, tmp_path / "i")
    manifest = json.loads((index / "manifest.json").read_text())
    (index / "manifest.json").write_text(edit(manifest))
    with pytest.raises(error):
        store.read_index(index)


def test_check_config_names_the_drift(tmp_path):
    with pytest.raises(IndexMismatchError, match="model"):
        store.check_config({"model": {"id": "a"}}, {"model": {"id": "b"}}, tmp_path)


def test_failed_write_keeps_previous_index(seed_index, tmp_path, monkeypatch):
    index = copy(seed_index, tmp_path / "i")
    before = tree(index)
    data = store.read_index(index)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(store.np, "save", boom)
    with pytest.raises(IndexWriteError, match="previous index is unchanged"):
        store.write_index(index, data)
    assert tree(index) == before
    assert not list(index.glob(".build-*")) and not list(index.glob(".manifest-*"))
    store.read_index(index)


def test_large_indexes_search_through_hnsw_with_flat_recall(seed_index, tmp_path, monkeypatch):
    """Above HNSW_MIN passages the vectors are served by an HNSW graph: written, read back with its
    efSearch, vectors intact, and recall@10 against flat search >= 0.98 on real MiniLM vectors."""
    import faiss

    data = store.read_index(seed_index)
    real = np.concatenate([data.passage_vectors(), np.asarray(data.sentence_vectors)])
    flat = store.flat_index(real)
    monkeypatch.setattr(store, "HNSW_MIN", 0)
    graph = store.served_index(flat)
    assert isinstance(graph, faiss.IndexHNSWFlat) and graph.hnsw.efSearch == store.HNSW_EF_SEARCH
    _, want = flat.search(real, 10)
    _, got = graph.search(real, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want, got)])
    assert recall >= 0.98, recall
    store.write_index(tmp_path / "big", data)
    again = store.read_index(tmp_path / "big")
    assert isinstance(again.dense, faiss.IndexHNSW) and again.dense.hnsw.efSearch == store.HNSW_EF_SEARCH
    assert np.allclose(again.passage_vectors(), data.passage_vectors())
    monkeypatch.setattr(store, "HNSW_MIN", 10**9)
    assert isinstance(store.served_index(flat), faiss.IndexFlat)
