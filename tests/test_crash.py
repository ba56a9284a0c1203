"""Crash safety: a build killed with SIGKILL leaves the previous index loadable, and concurrent
builds of one folder are serialized by a lock."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

from qa.index.store import read_index

from .conftest import ROOT


def make_corpus(folder, copies):
    """``copies`` of the seeds, every sentence of each copy marked with its number, so no passage
    text repeats (the build encodes a repeated text once)."""
    folder.mkdir(parents=True, exist_ok=True)
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    for i in range(copies):
        for s in seeds:
            text = s.read_text(encoding="utf-8").replace("47", str(47 + i)).replace("Havana", f"Havana-{i}").replace(". ", f". [{i}] ")
            (folder / f"{s.stem}_{i:03d}.txt").write_text(f"Report {i}\n\n{text}", encoding="utf-8")


def start_index(docs, index):
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), QA_INDEX_DIR=str(index))
    return subprocess.Popen([sys.executable, "-m", "qa", "index", str(docs)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_build_keeps_previous_index(own_index, tmp_path):
    index, docs = own_index
    before = read_index(index)
    big = tmp_path / "big"
    make_corpus(big, 80)  # ~1,800 distinct passages: ~15 s of embedding on two idle cores
    proc = start_index(big, index)
    time.sleep(6)  # model loaded, embedding under way (the build needs far longer than this)
    assert proc.poll() is None, "the build finished before it could be killed; make the corpus bigger"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    after = read_index(index)  # the previous index still loads...
    assert after.passages == before.passages
    from qa.engine import Engine
    from qa.settings import Settings

    engine = Engine(Settings(index_dir=index, docs=(docs,)), auto_build=False)
    hits = engine.search("How many Cuban soldiers were killed?").hits  # ...finds the documents' text
    assert any("32 Cuban soldiers" in h.text for h in hits)
    assert engine.ask("How many Cuban soldiers were killed?").passages  # ...and the answer path reads it
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
    make_corpus(docs, 30)  # ~700 distinct passages: the first build still runs when the second starts
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


KILL_AT_STEP = """
import os, sys
from pathlib import Path
from qa.index import store

index, step = Path(sys.argv[1]), int(sys.argv[2])
data = store.read_index(index)
data = store.IndexData(dict(data.manifest, sources=["new"]), *[getattr(data, f) for f in
                       ("documents", "passages", "passage_tokens", "sentences", "dense", "sentence_vectors")])
calls = 0

def dying(real):
    def step_then_maybe_die(*args, **kwargs):
        global calls
        calls += 1
        if calls == step:
            os._exit(9)  # like SIGKILL: no cleanup, no finally
        return real(*args, **kwargs)
    return step_then_maybe_die

store._fsync = dying(store._fsync)
store.os.replace = dying(store.os.replace)
store.write_index(index, data)
print(calls)
"""


def test_killed_at_every_commit_step_leaves_one_whole_index(seed_index, tmp_path):
    """Die before each fsync and rename of a write: the index that loads afterwards is the old one
    or the new one, whole, and the next write cleans up what the dead one left."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    index = tmp_path / "index"
    shutil.copytree(seed_index, index)
    old_sources = read_index(index).manifest["sources"]
    finished = subprocess.run([sys.executable, "-c", KILL_AT_STEP, str(index), "0"], env=env,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    steps = int(finished.stdout)
    assert steps >= 4
    for step in range(1, steps + 1):
        shutil.rmtree(index)
        shutil.copytree(seed_index, index)
        died = subprocess.run([sys.executable, "-c", KILL_AT_STEP, str(index), str(step)], env=env,
                              capture_output=True, text=True, timeout=120)
        assert died.returncode == 9, died.stderr
        # the manifest rename is third from last (then the folder is synced and the copy of the
        # sources renamed into place): before it, the old index
        want = old_sources if step < steps - 1 else ["new"]
        assert read_index(index).manifest["sources"] == want, f"died at step {step} of {steps}"
    # the dead build left the superseded generation behind; the next write removes it
    subprocess.run([sys.executable, "-c", KILL_AT_STEP, str(index), "0"], env=env, check=True,
                   capture_output=True, timeout=120)
    assert [p.name for p in index.iterdir() if p.name.startswith((".build-", ".manifest-", ".sources-", "data-"))] \
        == [read_index(index).manifest["data"]]
