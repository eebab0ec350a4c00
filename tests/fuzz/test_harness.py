"""The fuzz harness itself (benchmarks/_fuzz_*.py): it sees hangs, dead workers and uncaught exceptions, and a
short run over every format passes. The full >= 10,000-case run is benchmarks/fuzz_readers.py (CI runs it)."""

from __future__ import annotations

import sys

import pytest
from conftest import REPO, SAMPLES

pytest.importorskip("hypothesis")
sys.path.insert(0, str(REPO / "benchmarks"))

from _fuzz_cases import EXTENSIONS, draw_cases, seeds, tflite_slots  # noqa: E402
from _fuzz_pool import run_cases  # noqa: E402


def test_pool_records_hangs_deaths_and_uncaught_exceptions_and_keeps_going():
    good = (SAMPLES / "tiny_cnn.onnx").read_bytes()
    cases = [(".onnx", good), (".selftest-hang", b""), (".onnx", good), (".selftest-die", b""),
             (".selftest-raise", b""), (".onnx", b"garbage"), (".onnx", good)]
    out = run_cases(cases, workers=2, timeout_s=3)
    assert out.cases == len(cases)
    assert out.ok == 3 and out.errors == 1
    assert [f.ext for f in out.hangs] == [".selftest-hang"]
    assert sorted(f.ext for f in out.crashes) == [".selftest-die", ".selftest-raise"]
    assert any("KeyError" in f.detail for f in out.crashes)
    assert 0 < out.peak_rss_kb < 3 << 20


def test_draws_are_distinct_and_reproducible():
    a, b = draw_cases("gguf", 50, run_seed=3), draw_cases("gguf", 50, run_seed=3)
    assert a == b and len(set(a)) == 50


def test_seeds_cover_every_format_and_control_flow():
    names = {fmt: [n for n, _ in seeds(fmt)] for fmt in EXTENSIONS}
    assert "tiny_cnn.onnx" in names["onnx"] and "built_loop.onnx" in names["onnx"]
    assert "built_while.tflite" in names["tflite"] and names["gguf"]
    slots = {what for _, _, what in tflite_slots((SAMPLES / "tiny_cnn_int8.tflite").read_bytes())}
    assert {"tensor.shape", "tensor.buffer", "op.opcode_index", "op.inputs", "subgraphs.length"} <= slots


@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
def test_a_short_fuzz_run_has_no_crash_and_no_hang(fmt):
    out = run_cases([(EXTENSIONS[fmt], c) for c in draw_cases(fmt, 60, run_seed=11)], workers=2)
    assert out.cases == 60
    assert not out.crashes and not out.hangs, [f.detail for f in out.crashes + out.hangs]
