import json
import shutil

import numpy as np
import pytest

from qa.index.dense import (
    CHECKSUMS,
    DocumentEncoding,
    ONNX_PRECISIONS,
    OnnxMiniLM,
    PassageVectors,
    Precision,
    Runtime,
    SentenceTransformerEncoder,
    SentenceVectors,
    SpanEncoder,
    TorchMiniLM,
    document_encoding,
    load_encoder,
    onnx_path,
    pool,
    resolve_model,
    verify,
)
from qa.errors import ModelError
from qa.settings import DEFAULT_MODEL

TEXTS = ["How many Cuban soldiers were killed?",
         "Nine female soldiers were among 47 Venezuelan soldiers when the United States attacked Caracas.",
         "x", "Rodríguez met Ratcliffe in Caracas on Thursday. " * 40]


def test_packaged_model_is_extracted_and_verified(model_files):
    load_encoder(model_files, for_queries=True)
    for name in CHECKSUMS:
        assert (model_files.path / name).is_file()
    verify(model_files.path)


def test_modified_model_file_is_refused(tmp_path, model_files):
    load_encoder(model_files, for_queries=True)
    copy = tmp_path / "model"
    shutil.copytree(model_files.path, copy)
    with (copy / "config.json").open("a") as f:
        f.write(" ")
    with pytest.raises(ModelError, match="config.json fails its checksum"):
        verify(copy)
    (copy / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="missing"):
        verify(copy)


def test_tampered_cache_refused_on_load(tmp_path):
    files = resolve_model(DEFAULT_MODEL, tmp_path)
    load_encoder(files, for_queries=True)  # extracts
    data = bytearray((files.path / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (files.path / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="model.safetensors fails its checksum"):
        load_encoder(files, for_queries=True)


def test_onnx_encoder_matches_sentence_transformers(model_files, st_encoder):
    fast = OnnxMiniLM(model_files)
    a, b = fast.encode(TEXTS), st_encoder.encode(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), 384) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    assert np.min(np.sum(a * b, axis=1)) > 0.9999


def test_empty_batch(model_files):
    assert OnnxMiniLM(model_files).encode([]).shape == (0, 384)


def test_unknown_local_model_path_is_a_model_error(tmp_path):
    files = resolve_model(str(tmp_path), tmp_path)
    with pytest.raises(ModelError):
        load_encoder(files, for_queries=False)


# -- documents: the int8 encoder, batching by length, pooling ---------------------------------
# Texts of very different lengths, so that batches by length differ from batches in input order.
MIXED = ["Rodríguez met Ratcliffe in Caracas on Thursday. " * 30, "x", "The vote was 12 to 3.",
         "How many Cuban soldiers were killed?", "Nine female soldiers were among 47 Venezuelan soldiers.",
         "", "A much longer sentence about the funeral at Colon Cemetery in Havana, attended by thousands.",
         "47", "Ceasefire talks resumed in Doha after a week-long pause, officials said on Monday."]


@pytest.fixture(scope="module")
def int8_encoder(model_files):
    load_encoder(model_files, for_queries=True)  # extracts and verifies
    return OnnxMiniLM(model_files, Precision.INT8, threads=1)


BF16 = DocumentEncoding(Runtime.TRANSFORMERS, Precision.BF16, PassageVectors.ENCODED, SentenceVectors.IN_PASSAGE, 256)
INT8 = DocumentEncoding(Runtime.ONNX, Precision.INT8, PassageVectors.ENCODED, SentenceVectors.IN_PASSAGE, 256)
INT8U = DocumentEncoding(Runtime.ONNX, Precision.INT8U, PassageVectors.ENCODED, SentenceVectors.IN_PASSAGE, 256)


def test_document_encoder_follows_the_cpu_and_queries_stay_fp32(model_files):
    """The verified model embeds documents in bf16 on torch where the CPU has bf16 dot products,
    with the int8 graph on every core elsewhere (signed weights where the CPU has VNNI, unsigned
    ones on AVX2 alone), questions in fp32 on ONNX Runtime; any other model keeps
    sentence-transformers. Whatever this machine has, every branch is checked here."""
    from qa.index.cpu import native_bf16, native_vnni

    assert document_encoding(model_files, bf16=True) == BF16
    assert document_encoding(model_files, bf16=False, vnni=True) == INT8
    assert document_encoding(model_files, bf16=False, vnni=False) == INT8U  # an AVX2 machine
    assert document_encoding(model_files) == (BF16 if native_bf16() else INT8 if native_vnni() else INT8U)
    int8u = load_encoder(model_files, for_queries=False, encoding=INT8U)
    assert isinstance(int8u, OnnxMiniLM) and int8u.precision is Precision.INT8U
    int8 = load_encoder(model_files, for_queries=False, encoding=INT8)
    assert isinstance(int8, OnnxMiniLM) and int8.precision is Precision.INT8 and isinstance(int8, SpanEncoder)
    bf16 = load_encoder(model_files, for_queries=False, encoding=BF16)
    assert isinstance(bf16, TorchMiniLM) and bf16.precision is Precision.BF16 and isinstance(bf16, SpanEncoder)
    assert load_encoder(model_files, for_queries=True).precision is Precision.FP32
    other = resolve_model("/nonexistent/some-model", model_files.path)
    assert document_encoding(other) == DocumentEncoding(Runtime.TORCH, Precision.FP32, PassageVectors.ENCODED,
                                                        SentenceVectors.ALONE, None)


def test_int8_document_encoder_is_close_to_sentence_transformers(int8_encoder, st_encoder):
    """Measured on 1,500 sentences of the bench corpus: cosine to sentence-transformers mean 0.9925,
    min 0.983 (per-matrix int8: mean 0.959, min 0.917). The bound leaves room for other texts."""
    a, b = int8_encoder.encode(MIXED), st_encoder.encode(MIXED)
    assert a.dtype == np.float32 and np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-5)
    cos = np.sum(a * b, axis=1)
    assert cos.mean() > 0.98 and cos.min() > 0.97, cos


@pytest.mark.parametrize("precision", [Precision.FP32, Precision.INT8, Precision.INT8U, Precision.INT8S])
def test_onnx_document_encoder_matches_sentence_transformers(model_files, st_encoder, precision):
    fast = OnnxMiniLM(model_files, precision)
    cos = np.sum(fast.encode(MIXED, batch_size=3) * st_encoder.encode(MIXED), axis=1)
    assert cos.min() > {Precision.FP32: 0.999, Precision.INT8: 0.97, Precision.INT8U: 0.97, Precision.INT8S: 0.98}[precision], cos


def test_bf16_document_encoder_gives_float32_vectors(model_files):
    """On 400 SQuAD paragraphs (bench/results/2026-11-24-embedding-bf16.md) bf16's cosine to float32
    is 0.99998 on average, min 0.99996, against int8's 0.9943 / 0.9893; whatever the batching, a
    text's vector moves by less than 2e-5. Here every text is held to 1e-4, far closer than int8."""
    load_encoder(model_files, for_queries=True)  # extracts and verifies
    exact = OnnxMiniLM(model_files).encode(MIXED)
    bf16 = TorchMiniLM(model_files)
    together = bf16.encode(MIXED)
    assert together.dtype == np.float32 and np.allclose(np.linalg.norm(together, axis=1), 1, atol=1e-5)
    assert np.sum(together * exact, axis=1).min() > 0.9999
    alone = bf16.encode(MIXED, batch_size=1)
    assert np.sum(together * alone, axis=1).min() > 0.9999
    vectors, sums, counts = bf16.encode_with_spans(MIXED[:1], [[(0, 48)]])
    np.testing.assert_allclose(vectors, together[:1], atol=1e-6)
    assert counts[0] > 5 and np.isfinite(sums).all()


def test_torch_encoder_refuses_weights_that_lack_a_layer(tmp_path, model_files):
    import json

    from safetensors.numpy import load_file, save_file

    from qa.index.torch_bert import TorchBert

    load_encoder(model_files, for_queries=True)  # extracts and verifies
    weights = load_file(str(model_files.path / "model.safetensors"))
    del weights["encoder.layer.3.output.dense.weight"]
    save_file(weights, str(tmp_path / "model.safetensors"))
    config = json.loads((model_files.path / "config.json").read_text())
    with pytest.raises(ModelError, match="lacks 1 weights of the model .encoder.layer.3.output.dense.weight"):
        TorchBert(tmp_path / "model.safetensors", config)


def test_bf16_is_used_only_where_the_cpu_has_it():
    """numpy's CPU feature detection decides (no torch import); on Linux it must agree with the
    kernel's list of CPU flags."""
    from pathlib import Path

    from qa.index.cpu import _allowed, native_bf16, native_vnni

    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        pytest.skip("no /proc/cpuinfo to compare with")
    flags = {f for line in cpuinfo.read_text().splitlines() if line.startswith("flags") for f in line.split()}
    bf16, vnni = _allowed()  # all of them unless QA_CPU takes some away for this run
    assert native_bf16() is (bf16 and "avx512_bf16" in flags)
    assert native_vnni() is (vnni and bool({"avx512_vnni", "avx_vnni"} & flags))


@pytest.mark.parametrize("kind, bf16, vnni", [("avx2", False, False), ("avx512-vnni", False, None),
                                              ("native", None, None), ("", None, None)])
def test_qa_cpu_decides_as_another_kind_of_cpu_would(monkeypatch, model_files, kind, bf16, vnni):
    """QA_CPU takes features away (None: as the CPU has it), so one machine can show what users of
    another kind of CPU get; an unknown kind is a one-line error."""
    from qa.index import cpu
    from qa.index.dense import document_encoding

    monkeypatch.delenv("QA_CPU", raising=False)
    have_bf16, have_vnni = cpu.native_bf16(), cpu.native_vnni()
    monkeypatch.setenv("QA_CPU", kind)
    expected_bf16 = have_bf16 if bf16 is None else bf16 and have_bf16
    expected_vnni = have_vnni if vnni is None else vnni and have_vnni
    assert (cpu.native_bf16(), cpu.native_vnni()) == (expected_bf16, expected_vnni)
    assert document_encoding(model_files) == (BF16 if expected_bf16 else INT8 if expected_vnni else INT8U)
    monkeypatch.setenv("QA_CPU", "avx9000")
    with pytest.raises(cpu.CPUKindError, match="QA_CPU='avx9000' is not a CPU kind"):
        cpu.native_bf16()


def test_smoothing_brings_int8_closer_to_float32(model_files, int8_encoder):
    """Smoothing brings int8 vectors closer to float32's on every CPU. How much closer depends on
    the CPU's int8 kernels (with VNNI on AVX-512 the mean 1 - cosine fell by more than a third here;
    on an AVX2 machine without it by a little less), so the amount is a benchmark figure
    (``python -m bench.embedding``), not a test's."""
    exact = OnnxMiniLM(model_files).encode(MIXED)
    plain = 1 - np.sum(int8_encoder.encode(MIXED) * exact, axis=1)
    smoothed = 1 - np.sum(OnnxMiniLM(model_files, Precision.INT8S).encode(MIXED) * exact, axis=1)
    assert smoothed.mean() < plain.mean(), (smoothed.mean(), plain.mean())


def test_smoothing_keeps_the_float32_function(model_files):
    """Dividing a product's input by the scales its weights' rows are multiplied by changes nothing
    in float32: the smoothed graph, unquantized, gives the same final states."""
    import json

    import onnxruntime as ort
    from safetensors.numpy import load_file

    from qa.index import smoothing
    from qa.index.onnx_bert import bert_graph, product_inputs

    weights = load_file(str(model_files.path / "model.safetensors"))
    config = json.loads((model_files.path / "config.json").read_text())
    outputs = {o for n in bert_graph(weights, config, None, None).graph.node for o in n.output}
    assert set(product_inputs(6).values()) <= outputs  # the tensors fit_smoothing measures exist
    ids = np.array([[101, 2129, 2116, 3548, 2020, 2730, 1029, 102]], dtype=np.int64)
    feeds = {"input_ids": ids, "position_ids": np.arange(8, dtype=np.int64)[None], "token_type_ids": np.zeros_like(ids),
             "attention_bias": np.zeros((1, 1, 1, 8), dtype=np.float32)}
    states = [ort.InferenceSession(bert_graph(weights, config, None, None, sm).SerializeToString(),
                                   providers=["CPUExecutionProvider"]).run(None, feeds)[0]
              for sm in (None, smoothing.load())]
    assert np.abs(states[0]).max() > 1
    np.testing.assert_allclose(states[1], states[0], atol=1e-4)


def test_tampered_activation_ranges_are_refused(tmp_path):
    from qa.index import smoothing

    copy = tmp_path / smoothing.ACTIVATIONS_PATH.name
    data = bytearray(smoothing.ACTIVATIONS_PATH.read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="fails its checksum"):
        smoothing.load(copy)
    with pytest.raises(ModelError, match="missing"):
        smoothing.load(tmp_path / "absent.safetensors")
    with pytest.raises(ModelError, match="cannot be read"):
        smoothing.load(card=tmp_path / "absent.json")


def test_activation_ranges_come_from_the_readers_training_articles():
    """The ranges are measured on the reader's training articles and alpha chosen on its
    calibration ones; the validation articles stay unread, as for the reader."""
    from qa.index import fit_smoothing
    from qa.reader import data

    assert fit_smoothing.ALPHA_ARTICLES == data.CALIBRATION_ARTICLES
    assert set(fit_smoothing.HELD_OUT) <= set(data.VALIDATION_ARTICLES)
    if fit_smoothing.DEFAULT_SQUAD.is_file():  # the other validation articles are not in the file it reads
        titles = {a["title"] for a in json.loads(fit_smoothing.DEFAULT_SQUAD.read_text(encoding="utf-8"))["data"]}
        assert titles & set(data.VALIDATION_ARTICLES) <= set(fit_smoothing.HELD_OUT)


@pytest.mark.parametrize("batch_size", [1, 2, 4, 32])
def test_batching_by_length_keeps_input_order(model_files, batch_size):
    """Texts are batched by wordpiece count; the vectors come back in the order of the input."""
    enc = OnnxMiniLM(model_files)
    alone = np.stack([enc.encode([t])[0] for t in MIXED])
    progress = []
    batched = enc.encode(MIXED, batch_size=batch_size, progress=progress.append)
    assert sum(progress) == len(MIXED) and max(progress) <= batch_size
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    np.testing.assert_allclose(enc.encode(MIXED[::-1], batch_size=batch_size), alone[::-1], atol=1e-5)


def test_sentence_transformers_batches_keep_input_order(st_encoder):
    alone = np.stack([st_encoder.encode([t])[0] for t in MIXED])
    np.testing.assert_allclose(st_encoder.encode(MIXED, batch_size=2), alone, atol=1e-5)


def test_damaged_converted_document_model_is_rebuilt_not_loaded(tmp_path, model_files, int8_encoder):
    from qa.index.hashing import file_sha256

    files = resolve_model(DEFAULT_MODEL, tmp_path)
    shutil.copytree(model_files.path, files.path)
    OnnxMiniLM(files, Precision.INT8)
    target = onnx_path(files, Precision.INT8)
    good = file_sha256(target)
    with open(target, "r+b") as f:
        f.seek(200)
        f.write(b"tampered")
    assert file_sha256(target) != good
    vec = OnnxMiniLM(files, Precision.INT8).encode(MIXED[:3])
    assert file_sha256(target) == good == target.with_suffix(".sha256").read_text().strip()
    np.testing.assert_allclose(vec, int8_encoder.encode(MIXED[:3]), atol=1e-6)


def test_int8_graph_is_cached_apart_from_fp32(model_files):
    paths = {onnx_path(model_files, p) for p in ONNX_PRECISIONS}
    assert len(paths) == len(ONNX_PRECISIONS)
    assert {p.parent for p in paths} == {model_files.path.parent / "onnx"}
    from qa.index.smoothing import read_card
    assert read_card()["sha256"][:12] in onnx_path(model_files, Precision.INT8S).name


def test_nodes_named_to_stay_float_are_left_unquantized(tmp_path, model_files):
    import json

    import onnx
    from safetensors.numpy import load_file

    from qa.index.onnx_bert import ensure

    kept = ("encoder.layer.5.inner.mm", "encoder.layer.5.out.mm")
    target = ensure(tmp_path / "partial.onnx", lambda: load_file(str(model_files.path / "model.safetensors")),
                    json.loads((model_files.path / "config.json").read_text()), quantize=True, per_channel=True,
                    float_nodes=kept)
    ops = {n.name: n.op_type for n in onnx.load(str(target)).graph.node}
    assert all(ops[name] == "MatMul" for name in kept)
    assert ops["encoder.layer.5.query.mm_quant"] == ops["encoder.layer.0.out.mm_quant"] == "MatMulInteger"


def test_pool_by_hand():
    s = np.array([[1, 0], [0, 1], [0, 1], [-1, 0]], dtype=np.float32)
    out = pool(s, [0, 1, 0, 3], [1, 2, 3, 3])
    r = np.sqrt(0.5)
    np.testing.assert_allclose(out, [[r, r], [0, 1], [0, 1], [-1, 0]], atol=1e-6)
    assert out.dtype == np.float32
    assert pool(s, [], []).shape == (0, 2)


@pytest.mark.parametrize("first,last", [([0], [4]), ([-1], [0]), ([2], [1])])
def test_pool_rejects_ranges_outside_the_sentences(first, last):
    with pytest.raises(ValueError, match="sentence range"):
        pool(np.eye(4, dtype=np.float32), first, last)


def test_encoding_names_its_settings():
    enc = DocumentEncoding(Runtime.ONNX, Precision.INT8, PassageVectors.ENCODED, SentenceVectors.IN_PASSAGE, 256)
    assert enc.to_json() == {"runtime": "onnxruntime", "precision": "int8", "passages": "encoded",
                             "sentences": "in-passage", "max_tokens": 256}


@pytest.mark.parametrize("runtime,precision,passages,sentences,error", [
    (Runtime.TORCH, Precision.INT8, PassageVectors.ENCODED, SentenceVectors.ALONE, "in fp32, not int8"),
    (Runtime.TRANSFORMERS, Precision.FP32, PassageVectors.ENCODED, SentenceVectors.ALONE, "in bf16, not fp32"),
    (Runtime.ONNX, Precision.BF16, PassageVectors.ENCODED, SentenceVectors.ALONE, "not bf16"),
    (Runtime.TORCH, Precision.FP32, PassageVectors.ENCODED, SentenceVectors.IN_PASSAGE, "packaged MiniLM"),
    (Runtime.ONNX, Precision.INT8, PassageVectors.POOLED, SentenceVectors.IN_PASSAGE, "passages encoded"),
])
def test_impossible_encodings_are_refused(runtime, precision, passages, sentences, error):
    with pytest.raises(ValueError, match=error):
        DocumentEncoding(runtime, precision, passages, sentences, None)


# -- sentence vectors from their passages' forward pass -----------------------------------------
PASSAGE = "The vote was 12 to 3. Ceasefire talks resumed in Doha. Officials said nothing."


def _span(text: str, sentence: str) -> tuple[int, int]:
    start = text.index(sentence)
    return start, start + len(sentence)


def test_span_vectors_pool_the_wordpieces_inside_each_span(model_files):
    from tokenizers import Tokenizer

    enc = OnnxMiniLM(model_files)
    sentences = ["The vote was 12 to 3.", "Ceasefire talks resumed in Doha.", "Officials said nothing."]
    spans = [_span(PASSAGE, x) for x in sentences]
    vectors, sums, counts = enc.encode_with_spans([PASSAGE], [spans])
    np.testing.assert_allclose(vectors, enc.encode([PASSAGE]), atol=1e-6)  # the text's own vector is unchanged
    tok = Tokenizer.from_file(str(model_files.path / "tokenizer.json"))
    tok.no_padding()  # the file pads to 128
    assert counts.tolist() == [len(tok.encode(x, add_special_tokens=False).ids) for x in sentences]
    assert counts.sum() == len(tok.encode(PASSAGE, add_special_tokens=False).ids)  # every wordpiece, once
    units = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    alone = enc.encode(sentences)
    # In context, not alone: close to each sentence's own vector, closer than to the others'.
    sim = units @ alone.T
    assert np.all(np.argmax(sim, axis=1) == [0, 1, 2]) and np.diag(sim).min() > 0.6, sim


def test_span_vectors_keep_input_order_and_mark_truncated_spans(model_files):
    enc = OnnxMiniLM(model_files)
    long = "Rodríguez met Ratcliffe in Caracas on Thursday. " * 40 + "The last sentence is cut off."
    texts = [long, PASSAGE, "x"]
    spans = [[_span(long, "The last sentence is cut off."), (0, 9)], [_span(PASSAGE, "The vote was 12 to 3.")], []]
    vectors, sums, counts = enc.encode_with_spans(texts, spans, batch_size=1)
    np.testing.assert_allclose(vectors, enc.encode(texts), atol=1e-5)
    assert counts[0] == 0 and not sums[0].any()  # past the 256 wordpieces the model reads
    assert counts[1] > 0 and counts[2] == 7  # "Rodríguez" at the start; "The vote was 12 to 3." in PASSAGE
    one = enc.encode_with_spans([PASSAGE], [spans[1]])
    np.testing.assert_allclose(sums[2], one[1][0], atol=1e-4)
    with pytest.raises(ValueError, match="span lists"):
        enc.encode_with_spans(texts, spans[:2])
    empty = enc.encode_with_spans([], [])
    assert empty[0].shape == (0, 384) and empty[1].shape == (0, 384) and empty[2].shape == (0,)


def test_encoders_handle_no_texts(model_files, st_encoder):
    assert OnnxMiniLM(model_files, Precision.INT8).encode([]).shape == (0, 384)
    assert isinstance(st_encoder, SentenceTransformerEncoder) and st_encoder.encode([]).shape == (0, 384)


def test_int8_vectors_do_not_depend_on_their_batch_mates(int8_encoder):
    """Dynamic quantization scales activations per batch: the int8 encoder runs one text a batch,
    so a text's vector is the same whatever is encoded with it."""
    assert int8_encoder.batch_size == 1
    together = int8_encoder.encode(MIXED)
    alone = np.stack([int8_encoder.encode([t])[0] for t in MIXED])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    vectors, _, _ = int8_encoder.encode_with_spans(MIXED, [[] for _ in MIXED])
    np.testing.assert_allclose(vectors, alone, atol=1e-6)
