"""The same input gives byte-identical JSON whatever the interpreter's hash seed (set iteration order)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import CORPUS, SAMPLES, needs_corpus

SEEDS = ("0", "1", "4242")


def _json_under_seeds(*args: object) -> set[bytes]:
    outputs = set()
    for seed in SEEDS:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        r = subprocess.run([sys.executable, "-m", "edgefit", *map(str, args), "--format", "json"],
                           capture_output=True, env=env, timeout=300)
        assert r.returncode == 0, r.stderr.decode()
        outputs.add(r.stdout)
    return outputs


@pytest.mark.parametrize("model", ["tiny_cnn.onnx", "tiny_cnn_int8.tflite", "tiny_decoder.onnx"])
def test_compare_json_is_byte_identical_across_hash_seeds(model):
    assert len(_json_under_seeds("compare", SAMPLES / model)) == 1


@needs_corpus
@pytest.mark.parametrize("device", ["coral", "hailo-8", "jetson-agx-orin-64gb:dla", "rpi5"])
def test_analyze_json_of_a_real_detector_is_byte_identical_across_hash_seeds(device):
    model = CORPUS / "wheels" / "nudenet-3.4.2" / "320n.onnx"
    assert len(_json_under_seeds("analyze", model, "--device", device, "--input-shape", "images=1x3x320x320")) == 1
