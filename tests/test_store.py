import json
import shutil

import numpy as np
import pytest

from qa import store
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


@pytest.mark.parametrize("name", ["dense.faiss", "sentences.npy", "passages.jsonl", "documents.jsonl"])
def test_truncated_file_is_named(seed_index, tmp_path, name):
    index = copy(seed_index, tmp_path / "i")
    path = store.data_dir(index) / name
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match=name):
        store.read_index(index)


def test_passages_missing_lines(seed_index, tmp_path):
    index = copy(seed_index, tmp_path / "i")
    path = store.data_dir(index) / "passages.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    with pytest.raises(IndexCorruptError, match="passages.jsonl"):
        store.read_index(index)


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
