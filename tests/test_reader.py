"""The reader: input windows keep exact offsets, the shipped weights are verified and small, the
NumPy forward pass matches transformers', and the training data builder labels spans exactly."""
import hashlib
import random
import shutil

import numpy as np
import pytest

from qa.errors import ModelError
from qa.reader import data as rc
from qa.reader import load
from qa.reader.model import (
    CARD_PATH,
    ENCODINGS,
    WEIGHTS_PATH,
    answerability_path,
    read_answerability,
    read_card,
)
from qa.reader.train import groups, labelled_windows, pack, shared_loss
from qa.reader.windows import MAX_LENGTH, plain, windows

from .conftest import ROOT

TINY = ROOT / "tests" / "data" / "squad_tiny_v2.json"


@pytest.fixture(scope="module")
def tokenizer(model_files):
    from tokenizers import Tokenizer

    from qa.index.dense import prepare_default_model

    prepare_default_model(model_files.path)
    return plain(Tokenizer.from_file(str(model_files.path / "tokenizer.json")))


@pytest.fixture(scope="module")
def reading(model_files):
    return load(model_files)


def test_windows_cover_a_long_context_with_exact_offsets(tokenizer):
    context = " ".join(f"Sentence {i} names the town of Zürich-{i} and the sum of ${i}.5 million." for i in range(60))
    ws = windows(tokenizer, "Which town is named?", [context])
    assert len(ws) > 2 and all(len(w.ids) <= MAX_LENGTH for w in ws)
    covered = set()
    for w in ws:
        ctx = np.nonzero(w.types)[0][:-1]
        for a, b in w.offsets[ctx]:
            assert context[a:b].strip() and a < b
            covered.add(int(a))
    # every word-piece of the context is in some window
    assert covered == {a for a, _ in tokenizer.encode(context, add_special_tokens=False).offsets}


def test_windows_of_an_empty_context(tokenizer):
    [w] = windows(tokenizer, "Anything?", [""])
    assert w.types.sum() == 1  # only the closing [SEP]


def test_training_labels_point_at_the_answer(tokenizer):
    first = "The Brindle Point lighthouse was built in 1873 by Margarethe Olsen on the Harwick coast."
    second = "Kelso harbour was dredged in 1911 and again in 1958."
    two = rc.Article("Harwick", (first, second), (
        ("h1", "Who built the Brindle Point lighthouse?", 0, ("Margarethe Olsen",), (first.index("Margarethe"),)),
        ("h2", "When was Kelso harbour dredged?", 1, ("1911",), (second.index("1911"),))))
    exs = rc.examples(rc.read_squad(TINY) + [two], seed=1, other_rate=1.0, swap_rate=1.0)
    kinds = {e.kind for e in exs}
    assert kinds >= {"gold", "other-paragraph", "swapped"}, kinds
    swapped = [e for e in exs if e.kind == "swapped"]
    assert all(e.question != e.qid for e in swapped)
    for ex in exs:
        for w, s, e in labelled_windows(tokenizer, ex):
            if ex.answer_start < 0:
                assert (s, e) == (0, 0)
            elif (s, e) != (0, 0):
                a, b = int(w.offsets[s, 0]), int(w.offsets[e, 1])
                assert ex.context[a:b].lower() == ex.answer_text.lower()


def _harwick() -> rc.Article:
    first = "The Brindle Point lighthouse was built in 1873 by Margarethe Olsen on the Harwick coast."
    second = "Kelso harbour was dredged in 1911 and again in 1958 by the Harwick port board."
    return rc.Article("Harwick", (first, second), (
        ("h1", "Who built the Brindle Point lighthouse on the Harwick coast?", 0, ("Margarethe Olsen",),
         (first.index("Margarethe"),)),
        ("h2", "When was Kelso harbour dredged?", 1, ("1911",), (second.index("1911"),)),
        ("h3", "Who painted the Brindle Point lighthouse?", 0, (), ())))


def test_inside_swaps_take_another_name_of_the_same_paragraph(tokenizer):
    text = ("Meanwhile the engineer Tomas Vidal built the Brindle Point lighthouse in 1873 for the Harwick "
            "port board. Keeper Ilse Marr lit its lamp in 1874.")
    art = rc.Article("Brindle", (text,), tuple(
        (f"b{i}", "Who built the Brindle Point lighthouse for the Harwick port board?", 0, ("Tomas Vidal",),
         (text.index("Tomas"),)) for i in range(20)))
    plain = rc.examples([art], seed=3, other_rate=0.0, swap_rate=0.0)
    exs = rc.examples([art], seed=3, other_rate=0.0, swap_rate=0.0, inside_swap_rate=1.0)
    assert [e for e in exs if e.kind != "swapped-inside"] == plain  # the rate moves no other example
    inside = [e for e in exs if e.kind == "swapped-inside"]
    assert len(inside) == 20
    question = art.questions[0][1].split()
    replacements = set()
    for e in inside:
        words = e.question.split()
        [(old, new)] = [(a, b) for a, b in zip(question, words) if a != b]
        assert old in ("Brindle", "Point", "Harwick") and new in text
        replacements.add(new)
        assert (e.answer_start, e.answer_text, e.context) == (-1, "", text)
        assert all(lw[1:] == (0, 0) for lw in labelled_windows(tokenizer, e))
    # never the answer's own words, a word only capitalised as a sentence opener, or the question's own
    assert replacements == {"Ilse", "Marr"}


def test_a_share_of_the_questions_keeps_every_paragraph():
    paragraphs = ("The first paragraph.", "The second paragraph.")
    arts = [rc.Article(t, paragraphs, tuple((f"{t}{i}", f"Question {i}?", i % 2, ("first",), (4,))
                                            for i in range(300))) for t in ("a", "b")]
    assert rc.sample(arts, 1.0, seed=5) == arts
    half = rc.sample(arts, 0.5, seed=5)
    assert half == rc.sample(arts, 0.5, seed=5) != rc.sample(arts, 0.5, seed=6)
    for old, new in zip(arts, half):
        assert (new.title, new.paragraphs) == (old.title, old.paragraphs)
        assert 100 < len(new.questions) < 200
        assert [q for q in old.questions if q in new.questions] == list(new.questions)  # a subset, in order
    assert sum(len(a.questions) for a in rc.sample(arts, 0.1, seed=5)) < 100


@pytest.mark.parametrize("share", ["0", "1.5", "-0.2"])
def test_training_refuses_a_share_outside_zero_to_one(share, capsys):
    from qa.reader.train import main

    with pytest.raises(SystemExit) as stop:
        main(["--share", share])
    assert stop.value.code == 2
    assert "is not a share in (0, 1]" in capsys.readouterr().err


def test_shared_groups_put_a_question_and_its_other_paragraph_together(tokenizer):
    exs = rc.examples([_harwick()], seed=1, other_rate=1.0, swap_rate=0.0)
    shared = groups(tokenizer, exs, "shared")
    by_question = {g.windows[0].ids.tobytes(): g for g in shared}
    assert len(shared) == 3 and len(by_question) == 3
    answerable = [g for g in shared if g.answerable]
    assert len(answerable) == 2 and all(len(g.windows) == 2 for g in answerable)
    assert all(sum(s > 0 for s in g.starts) == 1 for g in answerable)  # only the gold window is labelled
    [unanswerable] = [g for g in shared if not g.answerable]
    assert unanswerable.starts == (0,) and unanswerable.ends == (0,)
    per_window = groups(tokenizer, exs, "window")
    assert len(per_window) == 5 and all(len(g.windows) == 1 for g in per_window)
    assert sum(g.answerable for g in per_window) == 2
    batches = pack(shared + per_window, 3, random.Random(0))
    assert sorted(len(g.windows) for b in batches for g in b) == sorted(len(g.windows) for g in shared + per_window)
    assert all(sum(len(g.windows) for g in b) <= 3 for b in batches)


def test_shared_loss_is_cross_entropy_over_all_windows_of_a_group(tokenizer):
    torch = pytest.importorskip("torch")
    exs = rc.examples([_harwick()], seed=1, other_rate=1.0, swap_rate=0.0)
    gs = [g for g in groups(tokenizer, exs, "shared") if g.answerable][:1]
    [g] = gs
    n, t = len(g.windows), max(len(w.ids) for w in g.windows)
    gen = torch.Generator().manual_seed(0)
    start, end = torch.randn(n, t, generator=gen), torch.randn(n, t, generator=gen)
    # by hand: one softmax over [CLS] and the context tokens of both windows
    expected = 0.0
    for logits, labels in ((start, g.starts), (end, g.ends)):
        pool, right = [], None
        for row, (w, label) in enumerate(zip(g.windows, labels)):
            keep = [0] + list(range(w.first_context_token, len(w.ids) - 1))
            if label > 0:
                right = len(pool) + keep.index(label)
            pool += [float(logits[row, i]) for i in keep]
        pool = np.array(pool)
        expected += (np.log(np.exp(pool).sum()) - pool[right]) / 2
    assert float(shared_loss(torch, start, end, gs)) == pytest.approx(expected, rel=1e-5)
    # an unanswerable question's target is every window's [CLS]
    [none] = [g for g in groups(tokenizer, exs, "shared") if not g.answerable]
    s = torch.zeros(1, len(none.windows[0].ids))
    s[0, 0] = 50.0
    assert float(shared_loss(torch, s, s, [none])) == pytest.approx(0.0, abs=1e-6)


def test_shipped_weights_are_small_verified_and_documented():
    """The reader's weights and one answerability model for each document encoding a CPU can get,
    each calibrated on these very weights."""
    card = read_card()
    files = [WEIGHTS_PATH, *(answerability_path(e) for e in ENCODINGS)]
    assert sum(f.stat().st_size for f in files) <= 25 * 1024 * 1024
    assert hashlib.sha256(WEIGHTS_PATH.read_bytes()).hexdigest() == card["weights"]["sha256"]
    assert set(card["answerability"]) == set(card["calibration"]["by_encoding"]) == set(ENCODINGS)
    for encoding in ENCODINGS:
        entry = card["answerability"][encoding]
        assert hashlib.sha256(answerability_path(encoding).read_bytes()).hexdigest() == entry["sha256"]
        assert entry["reader_sha256"] == card["weights"]["sha256"]
        model = read_answerability(encoding)
        assert model.names == tuple(card["calibration"]["features"])
        assert model.threshold == pytest.approx(card["calibration"]["by_encoding"][encoding]["threshold"], abs=1e-4)
        assert card["calibration"]["by_encoding"][encoding]["measured_with"]["document_encoding"]["precision"] == encoding
    for key in ("command", "data", "hyper_parameters", "training", "calibration", "validation"):
        assert key in card, key
    assert all(len(d["sha256"]) == 64 for d in card["data"]["squad"])
    assert not set(card["data"]["train_articles"]) & set(card["data"]["validation_articles"])
    assert not set(card["data"]["train_articles"]) & set(card["data"]["calibration_articles"])


def test_tampered_weights_are_refused(model_files, tmp_path):
    bad = tmp_path / "reader.safetensors"
    shutil.copy(WEIGHTS_PATH, bad)
    with open(bad, "r+b") as f:
        f.seek(-8, 2)
        f.write(b"\x00" * 8)
    with pytest.raises(ModelError, match="checksum"):
        load(model_files, weights=bad, card=CARD_PATH)
    with pytest.raises(ModelError, match="cannot be read"):
        load(model_files, weights=tmp_path / "missing.safetensors", card=CARD_PATH)


def test_tampered_answerability_model_is_refused(tmp_path):
    bad = tmp_path / "answerability.safetensors"
    data = bytearray(answerability_path("int8u").read_bytes())
    data[-1] ^= 1
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="answerability model .* fail their checksum"):
        read_answerability("int8u", bad)
    with pytest.raises(ModelError, match="calibrate"):
        read_answerability("int8u", tmp_path / "missing.safetensors")


def test_an_answerability_model_serves_only_its_encoding_and_reader(tmp_path):
    """A card without a calibration for this CPU's encoding, or one made on other reader weights,
    is refused with the command that makes it."""
    import json

    card = read_card()
    missing = dict(card, answerability={k: v for k, v in card["answerability"].items() if k != "int8u"})
    (tmp_path / "missing.json").write_text(json.dumps(missing))
    with pytest.raises(ModelError, match="no answerability model calibrated for int8u .* qa.reader.calibrate"):
        read_answerability("int8u", card=tmp_path / "missing.json")
    stale = dict(card, answerability=dict(card["answerability"],
                                          int8u=dict(card["answerability"]["int8u"], reader_sha256="0" * 64)))
    (tmp_path / "stale.json").write_text(json.dumps(stale))
    with pytest.raises(ModelError, match="calibrated on other reader weights"):
        read_answerability("int8u", card=tmp_path / "stale.json")


def test_each_kind_of_cpu_gets_its_own_calibration(model_files, monkeypatch):
    """QA_CPU=avx2 (no AVX-512) reads the int8u calibration, whatever this machine has."""
    from qa.reader import calibration_key

    monkeypatch.setenv("QA_CPU", "avx2")
    assert calibration_key(model_files) == "int8u"
    _, model = load(model_files)
    assert model.threshold == read_answerability("int8u").threshold


@pytest.fixture(scope="module")
def reading_fp32(model_files):
    return load(model_files, precision="fp32")


@pytest.fixture(scope="module")
def reading_int8u(model_files):
    return load(model_files, precision="int8u")


def test_the_readers_int8_weights_follow_the_cpu(monkeypatch):
    """Signed int8 weights where the CPU has VNNI, unsigned ones on AVX2 alone (whose u8s8 kernels
    can saturate): both branches checked whatever this machine has."""
    import qa.reader as reader_package

    for vnni, expected in ((True, "int8"), (False, "int8u")):
        monkeypatch.setattr(reader_package, "native_vnni", lambda vnni=vnni: vnni)
        assert reader_package.default_precision() == expected


def test_onnx_reader_matches_transformers(model_files, reading_fp32, tokenizer):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from safetensors.numpy import load_file

    from qa.reader.windows import batch

    reader, _ = reading_fp32
    model = transformers.AutoModelForQuestionAnswering.from_pretrained(str(model_files.path))
    tuned = load_file(str(WEIGHTS_PATH))
    state = {("bert." + k if not k.startswith("qa_outputs") else k): torch.from_numpy(v.astype(np.float32))
             for k, v in tuned.items() if not k.startswith("answerability.")}
    missing = model.load_state_dict(state, strict=False)
    assert not missing.unexpected_keys
    model.eval()
    ws = windows(tokenizer, "Who founded the bakery?", ["The bakery was founded in 1921 by Ana López.",
                                                        "It sold bread."])
    ids, types, mask = batch(ws)
    with torch.no_grad():
        out = model(input_ids=torch.from_numpy(ids), token_type_ids=torch.from_numpy(types),
                    attention_mask=torch.from_numpy(mask))
    mine = reader.logits(ws)
    for i, (start, end) in enumerate(mine):
        n = len(ws[i].ids)
        np.testing.assert_allclose(start, out.start_logits[i, :n].numpy(), atol=2e-3)
        np.testing.assert_allclose(end, out.end_logits[i, :n].numpy(), atol=2e-3)


@pytest.mark.parametrize("which", ["reading", "reading_fp32", "reading_int8u"])
def test_reader_finds_an_obvious_answer(which, request):
    reader, _ = request.getfixturevalue(which)
    context = "The bakery was founded in 1921 by Ana López."
    best = reader.read("Who founded the bakery?", ["It sold bread.", context])[0]
    assert best.context == 1 and context[best.start:best.end] == "Ana López"
    assert best.margin > 0


def test_a_span_stays_inside_one_sentence_when_told_where_sentences_start(reading):
    reader, _ = reading
    context = ("The bakery on the corner was founded in 1921. Ana López ran it for forty years. "
               "Her son sold it in 1990 to a chain.")
    starts = [0, context.index("Ana"), context.index("Her")]
    free = reader.read("Who founded the bakery?", [context], per_context=40)
    assert any(np.searchsorted(starts, s.start, side="right") != np.searchsorted(starts, s.end - 1, side="right")
               for s in free)  # unbounded, some of the reader's best spans run across a sentence break
    bound = reader.read("Who founded the bakery?", [context], per_context=40, sentence_starts=[starts])
    assert len(bound) == 40
    assert all(np.searchsorted(starts, s.start, side="right") == np.searchsorted(starts, s.end - 1, side="right")
               for s in bound)


def test_damaged_converted_model_is_rebuilt_not_loaded(model_files, reading):
    onnx_dir = model_files.path.parent / "onnx"
    [target] = [p for p in onnx_dir.glob("reader-*-int8-per-channel.onnx")]
    with open(target, "r+b") as f:
        f.seek(100)
        f.write(b"tampered")
    reader, _ = load(model_files)
    best = reader.read("Who founded the bakery?", ["The bakery was founded in 1921 by Ana López."])[0]
    assert best.margin > 0


# -- the training and calibration commands refuse to run on less data than they were asked for ------
@pytest.mark.parametrize("command", ["qa.reader.train", "qa.reader.calibrate"])
def test_a_missing_squad_folder_stops_the_command(tmp_path, capsys, command):
    import importlib

    main = importlib.import_module(command).main
    assert main(["--squad", str(tmp_path / "absent")]) == 2
    assert "no SQuAD JSON files in" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["--squad", str(tmp_path / "empty")]) == 2
    assert "pass --squad FOLDER" in capsys.readouterr().err


def test_squad_folder_without_the_held_out_articles_or_with_a_broken_file(tmp_path):
    from qa.errors import DocumentError

    folder = tmp_path / "squad"
    folder.mkdir()
    shutil.copy(TINY, folder / "tiny.json")
    with pytest.raises(DocumentError, match="lacks the held-out articles"):
        rc.read_squad_folder(folder)
    (folder / "broken.json").write_text('{"data": [', encoding="utf-8")
    with pytest.raises(DocumentError, match="broken.json is not readable SQuAD JSON"):
        rc.read_squad_folder(folder)


# -- a long training run checkpoints, stops cleanly and resumes exactly ---------------------------
@pytest.fixture(scope="module")
def squad_folder(tmp_path_factory):
    """A tiny SQuAD folder holding every held-out article, so the command runs in seconds."""
    import json

    folder = tmp_path_factory.mktemp("squad")
    shutil.copy(TINY, folder / "tiny.json")
    held_out = [{"title": title, "paragraphs": [{
        "context": f"The museum of {title} opened in 1931. It was founded by Ada Lind, a teacher.",
        "qas": [{"id": f"{title}-0", "question": "Who founded the museum?",
                 "answers": [{"text": "Ada Lind", "answer_start": 58}]}]}]}
        for title in rc.VALIDATION_ARTICLES + rc.CALIBRATION_ARTICLES]
    (folder / "held-out.json").write_text(json.dumps({"version": "v2.0", "data": held_out}), encoding="utf-8")
    return folder


def _train(squad_folder, run_dir, out, *extra):
    from qa.reader.train import main

    return main(["--squad", str(squad_folder), "--run-dir", str(run_dir), "--out", str(out), "--batch", "4",
                 "--max-steps", "4", "--share", "0.3", "--curve", "--curve-questions", "3", *extra])


def test_a_stopped_run_resumes_to_the_same_weights(squad_folder, tmp_path, capsys):
    """Two steps, a stop at a checkpoint, a resume for the last two: bit for bit the weights of
    four steps in one go (same batches, optimiser moments, schedule and dropout draws)."""
    assert _train(squad_folder, tmp_path / "run", tmp_path / "a.safetensors", "--stop-after-steps", "2") == 0
    assert not (tmp_path / "a.safetensors").exists()
    assert "stopped at step 2/4" in capsys.readouterr().err
    assert _train(squad_folder, tmp_path / "run", tmp_path / "a.safetensors", "--resume") == 0
    assert "resumed" in capsys.readouterr().err
    assert _train(squad_folder, tmp_path / "straight", tmp_path / "b.safetensors") == 0
    digest = [hashlib.sha256((tmp_path / f"{x}.safetensors").read_bytes()).hexdigest() for x in "ab"]
    assert digest[0] == digest[1]
    from qa.reader import checkpoint

    done = checkpoint.progress(tmp_path / "run")
    assert (done.step, done.total) == (4, 4)
    assert [s["steps"] for s in done.segments] == [2, 2]  # each session's part is recorded
    curve = (tmp_path / "run" / "curve.jsonl").read_text().splitlines()
    assert len(curve) == 1 and '"validation_gold_paragraph"' in curve[0]  # --curve with no values: the end only


def test_a_run_refuses_to_mix_settings_or_lose_a_checkpoint(squad_folder, tmp_path, capsys):
    run, out = tmp_path / "run", tmp_path / "w.safetensors"
    assert _train(squad_folder, run, out, "--resume") == 1
    assert "no checkpoint in" in capsys.readouterr().err
    assert _train(squad_folder, run, out, "--stop-after-steps", "1") == 0
    capsys.readouterr()
    assert _train(squad_folder, run, out) == 1  # would start over on top of the checkpoint
    assert "pass --resume" in capsys.readouterr().err
    assert _train(squad_folder, run, out, "--resume", "--lr", "0.001") == 1
    assert "other settings (lr)" in capsys.readouterr().err
    (run / "checkpoint" / "state.json").write_text("{", encoding="utf-8")
    assert _train(squad_folder, run, out, "--resume") == 1
    assert "is damaged" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("option", ["--max-minutes", "--checkpoint-minutes"])
def test_training_refuses_minutes_that_are_not_positive(option, capsys):
    from qa.reader.train import main

    with pytest.raises(SystemExit) as stop:
        main([option, "0"])
    assert stop.value.code == 2
    assert "is not a positive number of minutes" in capsys.readouterr().err


def test_the_card_records_the_command_that_rebuilds_the_weights():
    """A run resumed over sessions, in another folder, stopped early: the card's command keeps only
    what decides the weights."""
    from qa.reader.train import rebuild_command

    argv = ["--epochs", "2", "--resume", "--run-dir", "/tmp/run", "--max-minutes=50", "--lr", "5e-5",
            "--stop-after-steps", "10", "--checkpoint-minutes", "5", "--out", "/tmp/w.safetensors"]
    assert rebuild_command(argv) == "python -m qa.reader.train --epochs 2 --lr 5e-5"
    assert rebuild_command([]) == "python -m qa.reader.train"


def test_calibrate_fits_one_model_for_each_encoding_this_machine_reproduces(squad_folder, tmp_path, monkeypatch,
                                                                              model_files):
    """The calibration command end to end on tiny data: every encoding gets a model, written where
    the card says, each recorded with its CPU kind, what it was measured with and the reader's
    weights. (Encodings this machine cannot reproduce keep the shipped card's entries.)"""
    import json

    from qa.reader import calibrate

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for doc in sorted((ROOT / "seeds").glob("*.txt")):
        shutil.copy(doc, seeds / doc.name)
    rows = [json.loads(line) for line in (ROOT / "seeds" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    few = [r for r in rows if r["split"] == "dev" and not r.get("follows")][:3]
    (seeds / "questions.jsonl").write_text("".join(json.dumps(r) + "\n" for r in few), encoding="utf-8")
    monkeypatch.setattr(calibrate, "CARD_PATH", tmp_path / "card.json")
    monkeypatch.setattr(calibrate, "answerability_path", lambda e: tmp_path / f"answerability-{e}.safetensors")
    monkeypatch.delenv("QA_CPU", raising=False)
    assert calibrate.main(["--squad", str(squad_folder), "--seeds", str(seeds)]) == 0
    card = json.loads((tmp_path / "card.json").read_text())
    assert set(card["answerability"]) == set(card["calibration"]["by_encoding"]) == set(ENCODINGS)
    fitted = {e for e in ENCODINGS if (tmp_path / f"answerability-{e}.safetensors").is_file()}
    assert fitted and fitted == set(calibrate.kinds_to_calibrate(model_files))
    for encoding in fitted:
        entry, made = card["answerability"][encoding], card["calibration"]["by_encoding"][encoding]
        assert hashlib.sha256((tmp_path / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
        assert entry["reader_sha256"] == made["reader_sha256"] == card["weights"]["sha256"]
        assert made["measured_with"]["document_encoding"]["precision"] == encoding
        assert made["cpu_kind"] in ("native", "avx512-vnni", "avx2")

