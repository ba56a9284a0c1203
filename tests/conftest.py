"""Shared fixtures: the real model loaded once per session, a seeds index built once, and every
test's index and uploads folders pointed at its own tmp_path so no test touches the user's index/
or the documents they added in the web chat (nor writes into their home folder)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_IDS = ("000_4cf354647c8c7dec", "001_2feeabb1633a6458")

os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """Where the packaged model is extracted: once per session (shared with subprocesses)."""
    path = Path(os.environ.get("QA_TEST_CACHE_DIR") or tmp_path_factory.mktemp("model-cache"))
    os.environ["QA_CACHE_DIR"] = str(path)
    return path


@pytest.fixture(scope="session", autouse=True)
def isolated_user_data(tmp_path_factory) -> Path:
    """The per-user data folder (uploads) of the whole session, set before any session fixture
    builds an engine: never the real ~/.local/share."""
    path = tmp_path_factory.mktemp("user-data")
    os.environ["XDG_DATA_HOME"] = str(path)
    os.environ.pop("QA_UPLOADS_DIR", None)
    return path


@pytest.fixture(autouse=True)
def isolated_index(tmp_path, monkeypatch, cache_dir) -> Path:
    index = tmp_path / "index"
    monkeypatch.setenv("QA_INDEX_DIR", str(index))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user-data"))  # the default uploads folder
    monkeypatch.delenv("QA_UPLOADS_DIR", raising=False)
    monkeypatch.setenv("QA_CACHE_DIR", str(cache_dir))
    monkeypatch.delenv("QA_DOCS", raising=False)
    monkeypatch.delenv("QA_MODEL", raising=False)
    return index


@pytest.fixture(scope="session")
def model_files(cache_dir):
    from qa.index.dense import resolve_model
    from qa.settings import DEFAULT_MODEL

    return resolve_model(DEFAULT_MODEL, cache_dir)


@pytest.fixture(scope="session")
def st_encoder(model_files):
    """The real sentence-transformers encoder, loaded once per session."""
    from qa.index.dense import SentenceTransformerEncoder, prepare_default_model

    prepare_default_model(model_files.path)
    return SentenceTransformerEncoder(model_files)


@pytest.fixture(scope="session")
def seeds_copy(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("seeds") / "seeds"
    folder.mkdir()
    for name in SEED_IDS:
        shutil.copy(SEEDS / f"{name}.txt", folder)
    return folder


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, seeds_copy, st_encoder, cache_dir) -> Path:
    """A seeds index built once with the real model; copy it before changing it."""
    from qa.engine import Engine
    from qa.settings import Settings

    index = tmp_path_factory.mktemp("seed-index") / "index"
    Engine(Settings(index_dir=index, docs=(seeds_copy,), cache_dir=cache_dir),
           document_encoder=st_encoder).build()
    return index


@pytest.fixture(scope="session")
def seed_engine(seed_index, seeds_copy, st_encoder, cache_dir):
    """A ready engine on the seeds (shared: do not build or upload with it)."""
    from qa.engine import Engine
    from qa.settings import Settings

    engine = Engine(Settings(index_dir=seed_index, docs=(seeds_copy,), cache_dir=cache_dir),
                    document_encoder=st_encoder)
    engine.retriever()
    return engine


@pytest.fixture
def own_index(tmp_path, seed_index, seeds_copy) -> tuple[Path, Path]:
    """A private copy of the seeds documents and their index: (index_dir, docs_dir)."""
    index = tmp_path / "index"
    docs = tmp_path / "docs"
    shutil.copytree(seed_index, index)
    shutil.copytree(seeds_copy, docs)
    # The copied index records the session folder as its source; point it at the copy.
    import json

    manifest = json.loads((index / "manifest.json").read_text())
    manifest["sources"] = [str(docs)]
    manifest["inputs"] = {str(docs / Path(p).name): h for p, h in manifest["inputs"].items()}
    (index / "manifest.json").write_text(json.dumps(manifest))
    (index / "sources.json").write_text(json.dumps({"sources": manifest["sources"]}))
    return index, docs


def read_file(path: str | Path) -> str:
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()
