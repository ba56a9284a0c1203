"""What this CPU's vector units can do, read without importing torch or ONNX Runtime: the encodings
are chosen by it (``qa.index.dense.document_encoding``, ``qa.reader.load``).

* bfloat16 dot products (AVX512-BF16): documents are encoded in bfloat16 on torch; elsewhere torch
  would convert bfloat16 in software, so int8 on ONNX Runtime is used.
* int8 dot products (AVX512-VNNI or AVX-VNNI): ONNX Runtime's kernels for unsigned activations
  times signed weights (u8s8) sum exactly. Without VNNI, on AVX2, those kernels add pairs of
  products in 16 bits, which can saturate (ONNX Runtime's quantization guide says so); unsigned
  weights (u8u8) take a path that cannot. So int8 graphs get signed weights where the CPU has VNNI
  and unsigned ones elsewhere: the same exact integer arithmetic on every CPU.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import QAError

# QA_CPU: decide the encodings as a CPU of another kind would, to measure or test what its users
# get. A kind can only take features away (the kernels it picks run on every x86-64 CPU; claiming a
# feature the CPU lacks would be slow, not faster), so it is "native" (the default), "avx512-vnni"
# (int8 with signed weights, no bfloat16) or "avx2" (int8 with unsigned weights).
CPU_KINDS = {"native": (True, True), "avx512-vnni": (False, True), "avx2": (False, False)}


class CPUKindError(QAError):
    """QA_CPU names no kind this library knows."""


@contextmanager
def as_kind(kind: str) -> Iterator[None]:
    """Within the block, choose encodings as a CPU of ``kind`` would (QA_CPU set, then restored)."""
    if kind not in CPU_KINDS:
        raise CPUKindError(f"{kind!r} is not a CPU kind; use one of {', '.join(CPU_KINDS)}")
    before = os.environ.get("QA_CPU")
    os.environ["QA_CPU"] = kind
    try:
        yield
    finally:
        if before is None:
            del os.environ["QA_CPU"]
        else:
            os.environ["QA_CPU"] = before


def _allowed() -> tuple[bool, bool]:
    """(bfloat16, VNNI) as QA_CPU allows them."""
    kind = os.environ.get("QA_CPU", "").strip().lower() or "native"
    if kind not in CPU_KINDS:
        raise CPUKindError(f"QA_CPU={kind!r} is not a CPU kind; use one of {', '.join(CPU_KINDS)}, or unset it")
    return CPU_KINDS[kind]


def _numpy_features() -> dict[str, bool]:
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:
        try:  # numpy 1.x
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:  # another layout: decide conservatively
            return {}
    return dict(__cpu_features__)


def _linux_flags() -> frozenset[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("flags"):
                return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def native_bf16() -> bool:
    """Whether this CPU has bfloat16 dot products (AVX512-BF16), and QA_CPU lets them be used."""
    return _allowed()[0] and bool(_numpy_features().get("AVX512BF16"))


def native_vnni() -> bool:
    """Whether this CPU has int8 dot products that ONNX Runtime's u8s8 kernels use without
    saturating (AVX512-VNNI, or AVX-VNNI, which numpy does not report, from /proc/cpuinfo), and
    QA_CPU lets them be used."""
    return _allowed()[1] and (bool(_numpy_features().get("AVX512VNNI")) or "avx_vnni" in _linux_flags())
