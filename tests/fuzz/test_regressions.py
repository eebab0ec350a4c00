"""Inputs the fuzzer (benchmarks/fuzz_readers.py) found crashing edgefit, kept as fixtures.

Each file under regressions/ once raised something other than edgefit's own error (or hung, or killed the
worker). Now every command on it either succeeds or exits 2 with one line on stderr, on every family. The
table below says which, and what the line names; a file the fuzzer adds later is held to the general rule.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_edgefit

from edgefit.cli import main

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
FIXTURES = sorted(p for p in REGRESSIONS.iterdir() if p.suffix in (".onnx", ".tflite", ".gguf"))
DEVICES = ("coral", "hailo-8", "jetson-agx-orin-64gb:dla", "rpi5", "tpu-v5e")

#: file -> (exit code, text the error line must contain; "" for a success). What crashed first, in the name.
EXPECTED = {
    "onnx-attribute-of-wrong-type.onnx": (2, "attribute 'axis' is of type INTS, the ONNX schema says INT"),
    "onnx-conv-weight-of-rank-1.onnx": (2, "need 4 bytes but its raw_data holds 5"),
    "onnx-custom-domain-conv-tensor-strides.onnx": (0, ""),
    "onnx-external-length-not-an-int.onnx": (2, "are not a tensor shape"),
    "onnx-external-location-too-long.onnx": (2, "external data length '-1' is not a byte count"),
    "onnx-external-offset-not-a-number.onnx": (2, "external data offset 'x' is not a byte count"),
    "onnx-graph-name-not-utf8.onnx": (2, "not valid UTF-8"),
    "onnx-opset-version-past-int32.onnx": (2, "version 2147483648 of domain 'ai.onnx' is not a valid opset"),
    "onnx-per-channel-quant-of-2e40-channels.onnx": (2, "are not a tensor shape"),
    "onnx-transpose-perm-not-a-permutation.onnx": (0, ""),
    "tflite-subgraph-calls-itself.tflite": (2, "control flow recurses"),
}


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([*args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("fixture", FIXTURES, ids=[p.name for p in FIXTURES])
def test_every_command_on_a_fuzz_regression_is_a_result_or_one_line_exit_2(fixture, capsys):
    want_code, want_text = EXPECTED.get(fixture.name, (None, None))
    runs = [("inspect", str(fixture), "--format", "json")]
    runs += [("analyze", str(fixture), "--device", d, "--format", "json") for d in DEVICES]
    runs.append(("check", str(fixture), "--device", "coral", "--format", "json"))
    for args in runs:
        code, out, err = _cli(capsys, *args)
        assert code in (0, 1, 2), (args, code, err)
        if args[0] == "check":
            assert json.loads(out)["results"][0]["status"] in ("pass", "fail", "error")
            continue
        if want_code is not None:
            assert code == want_code, (args, err)
        if code == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("edgefit: error: ") and str(fixture) in lines[0], err
            assert "internal error" not in err and "Traceback" not in err
            assert want_text is None or want_text in lines[0], (args, lines[0])
            assert out == ""
        else:
            json.loads(out)


def test_a_regression_in_a_real_process_prints_no_traceback():
    fixture = REGRESSIONS / "onnx-opset-version-past-int32.onnx"
    r = run_edgefit("analyze", fixture)
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_the_table_names_every_fixture():
    assert set(EXPECTED) <= {p.name for p in FIXTURES}
