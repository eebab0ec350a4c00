"""Every bad input ends in one line naming the file, exit code 2, no traceback."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import SAMPLES, run_edgefit

ONNX = SAMPLES / "tiny_cnn.onnx"
TFLITE = SAMPLES / "tiny_cnn_int8.tflite"


def bad_inputs(tmp_path):
    cases = {}
    for src in (ONNX, TFLITE):
        data = src.read_bytes()
        cases[f"truncated{src.suffix}"] = data[: len(data) // 2]
        cases[f"truncated_tail{src.suffix}"] = data[:-7]
        cases[f"empty{src.suffix}"] = b""
        cases[f"random{src.suffix}"] = os.urandom(4096)
    cases["model.txt"] = ONNX.read_bytes()
    cases["model.pb"] = b"\x0a\x03abc"
    cases["renamed.onnx"] = TFLITE.read_bytes()
    cases["renamed.tflite"] = ONNX.read_bytes()
    cases["noext"] = TFLITE.read_bytes()
    out = []
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        out.append(p)
    return out


def test_bad_files_exit_2_with_one_line(tmp_path):
    paths = bad_inputs(tmp_path) + [tmp_path / "missing.onnx", tmp_path]
    for p in paths:
        r = run_edgefit("inspect", p)
        assert r.returncode == 2, (p.name, r.returncode, r.stdout[:200], r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, (p.name, r.stderr)
        assert "Traceback" not in r.stderr and str(p) in lines[0], (p.name, r.stderr)
        assert r.stdout == ""


def test_messages_say_what_is_wrong(tmp_path):
    by_name = {p.name: p for p in bad_inputs(tmp_path)}
    expect = {"empty.onnx": "empty", "renamed.onnx": "TFLite flatbuffer", "renamed.tflite": "ONNX",
              "model.txt": "unsupported model format", "model.pb": "TensorFlow", "noext": "rename it to .tflite",
              "truncated.tflite": "truncated", "truncated.onnx": "ONNX"}
    for name, words in expect.items():
        r = run_edgefit("inspect", by_name[name])
        assert words in r.stderr, (name, r.stderr)


def test_bad_option_is_exit_2(tmp_path):
    shutil.copy(ONNX, tmp_path / "m.onnx")
    r = run_edgefit("inspect", tmp_path / "m.onnx", "--format", "yaml")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("src", [ONNX, TFLITE])
def test_every_truncation_point_is_handled(tmp_path, src):
    """Cut a small model at many points: every cut is either read or rejected as bad input, never a crash."""
    from edgefit.errors import EdgefitError
    from edgefit.inspect import inspect_model

    data = src.read_bytes()
    p = tmp_path / src.name
    for cut in range(1, len(data), max(1, len(data) // 200)):
        p.write_bytes(data[:cut])
        try:
            inspect_model(p).to_dict()
        except EdgefitError:
            pass


def test_random_byte_flips_never_crash(tmp_path):
    """Corrupt a few bytes of each sample many times: every result is a report or a clean bad-input error."""
    import random

    import edgefit
    from edgefit.errors import EdgefitError
    from edgefit.inspect import inspect_model

    rng = random.Random(1)
    for src in (ONNX, TFLITE):
        data = src.read_bytes()
        p = tmp_path / src.name
        for _ in range(150):
            mutated = bytearray(data)
            for _ in range(rng.randint(1, 6)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            p.write_bytes(mutated)
            for run in (lambda p=p: inspect_model(p).to_dict(), lambda p=p: edgefit.analyze(p).to_json()):
                try:
                    run()
                except EdgefitError:
                    pass
