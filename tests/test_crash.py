"""Crash safety: a build killed with SIGKILL leaves the previous index loadable, and concurrent
builds of one folder are serialized by a lock."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from qa.store import read_index

from .conftest import ROOT


def make_corpus(folder, copies):
    folder.mkdir(parents=True, exist_ok=True)
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    for i in range(copies):
        for s in seeds:
            text = s.read_text(encoding="utf-8").replace("47", str(47 + i)).replace("Havana", f"Havana-{i}")
            (folder / f"{s.stem}_{i:03d}.txt").write_text(f"Report {i}\n\n{text}", encoding="utf-8")


def start_index(docs, index):
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), QA_INDEX_DIR=str(index))
    return subprocess.Popen([sys.executable, "-m", "qa", "index", str(docs)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_build_keeps_previous_index(own_index, tmp_path):
    index, docs = own_index
    before = read_index(index)
    big = tmp_path / "big"
    make_corpus(big, 12)
    proc = start_index(big, index)
    time.sleep(12)  # model loaded, embedding under way (the build needs far longer than this)
    assert proc.poll() is None, "the build finished before it could be killed; make the corpus bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    after = read_index(index)  # the previous index still loads...
    assert after.passages == before.passages
    from qa.engine import Engine
    from qa.settings import Settings

    answer = Engine(Settings(index_dir=index, docs=(docs,)), auto_build=False).ask("How many Cuban soldiers were killed?")
    assert answer.answered and answer.answer == "32"  # ...and answers
    leftovers = list(index.glob(".build-*"))
    small = tmp_path / "small"
    make_corpus(small, 1)
    done = start_index(small, index)  # the next build completes
    out, err = done.communicate(timeout=600)
    assert done.returncode == 0, err
    assert len(read_index(index).documents) == 2
    assert json.loads((index / "manifest.json").read_text())["sources"] == [str(small)]
    assert not any(p.exists() for p in leftovers)  # the killed build's temporary folder is cleaned up
    assert not list(index.glob(".build-*"))


def test_concurrent_builds_are_serialized(tmp_path, seeds_copy):
    docs = tmp_path / "docs"
    shutil.copytree(seeds_copy, docs)
    make_corpus(docs, 2)
    index = tmp_path / "index"
    first = start_index(docs, index)
    time.sleep(1.0)
    second = start_index(docs, index)
    out1, err1 = first.communicate(timeout=900)
    out2, err2 = second.communicate(timeout=900)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert "another `qa index` is building" in err1 + err2
    # whichever ran second found the index up to date and embedded nothing
    assert "nothing re-embedded" in out1 + out2
    read_index(index)
