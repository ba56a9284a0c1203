"""Tests for qa/settings.py: where the uploads live by default, and what overrides it (issue 30:
uploads kept in index/uploads inside the checkout were deleted by `git clean -fdx`)."""
from __future__ import annotations

import contextlib
import io
import logging
import os
from pathlib import Path

import pytest

from qa.cli import build_parser, main, settings_from
from qa.settings import Settings, default_data_dir, default_uploads_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A home folder of its own, no XDG_DATA_HOME and no QA_UPLOADS_DIR."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("QA_UPLOADS_DIR", raising=False)
    return home


def test_uploads_default_to_the_users_data_folder(home):
    assert default_data_dir() == home / ".local" / "share" / "qa-cite"
    assert default_uploads_dir() == home / ".local" / "share" / "qa-cite" / "uploads"
    settings = Settings(index_dir=Path("index"))
    assert settings.uploads_dir == home / ".local" / "share" / "qa-cite" / "uploads"
    assert settings.index_dir not in settings.uploads_dir.parents  # not inside the index folder


def test_xdg_data_home_is_followed_when_absolute(home, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert Settings().uploads_dir == tmp_path / "data" / "qa-cite" / "uploads"
    # A relative one is ignored (the XDG spec): it would put the user's files wherever qa runs.
    monkeypatch.setenv("XDG_DATA_HOME", "data")
    assert Settings().uploads_dir == home / ".local" / "share" / "qa-cite" / "uploads"


def test_env_and_flag_override_the_default(home, tmp_path, monkeypatch):
    monkeypatch.setenv("QA_UPLOADS_DIR", str(tmp_path / "env"))
    assert Settings().uploads_dir == tmp_path / "env"
    args = build_parser().parse_args(["--uploads-dir", str(tmp_path / "flag"), "ask", "Who?"])
    assert settings_from(args).uploads_dir == tmp_path / "flag"
    args = build_parser().parse_args(["ask", "Who?", "--uploads-dir", str(tmp_path / "flag2")])
    assert settings_from(args).uploads_dir == tmp_path / "flag2"


def test_the_default_is_never_inside_the_checkout(home, monkeypatch):
    monkeypatch.chdir(ROOT)
    uploads = Settings().uploads_dir
    assert uploads.is_absolute() and ROOT not in uploads.resolve().parents


def test_tests_never_use_the_real_data_folder(tmp_path):
    """conftest points XDG_DATA_HOME at each test's tmp_path and drops QA_UPLOADS_DIR."""
    assert "QA_UPLOADS_DIR" not in os.environ
    assert Settings().uploads_dir == tmp_path / "user-data" / "qa-cite" / "uploads"


def test_help_names_the_default_uploads_folder():
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(out.getvalue().split())
    assert "$XDG_DATA_HOME/qa-cite/uploads" in text and "~/.local/share/qa-cite/uploads" in text
    assert "INDEX_DIR/uploads" not in text


def test_uploads_left_in_the_index_folder_are_named(tmp_path, cache_dir, caplog):
    """Uploads from before the move are not lost silently: one warning says where to move them."""
    from qa.engine import Engine

    old = tmp_path / "index" / "uploads"
    old.mkdir(parents=True)
    (old / "mine.txt").write_text("Mine.\n", encoding="utf-8")
    docs = tmp_path / "docs"
    docs.mkdir()
    with caplog.at_level(logging.WARNING, logger="qa"):
        engine = Engine(Settings(index_dir=tmp_path / "index", docs=(docs,), cache_dir=cache_dir))
    (record,) = [r for r in caplog.records if "web chat" in r.getMessage()]
    message = record.getMessage()
    assert str(old) in message and str(engine.settings.uploads_dir) in message and "mv " in message
    assert engine.sources() == (docs,)  # neither indexed nor moved
    assert (old / "mine.txt").exists()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="qa"):  # named as the uploads folder: no warning
        Engine(Settings(index_dir=tmp_path / "index", docs=(docs,), uploads=old, cache_dir=cache_dir))
    assert not [r for r in caplog.records if "web chat" in r.getMessage()]
