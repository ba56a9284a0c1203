import shutil

import numpy as np
import pytest

from qa.dense import CHECKSUMS, OnnxMiniLM, load_encoder, resolve_model, verify
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
