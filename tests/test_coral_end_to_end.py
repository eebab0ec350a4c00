"""Coral analysis of real models, through the real CLI where a user would use it."""

from __future__ import annotations

import json

import pytest
from conftest import CORPUS, needs_corpus, run_edgefit

import edgefit

KERAS_PAIRS = ["mobilenetv2_035_96_int8", "mobilenetv3small_224_int8", "tiny_transformer_int8"]


@needs_corpus
@pytest.mark.parametrize("stem", KERAS_PAIRS)
def test_tflite_and_onnx_routes_agree(stem):
    """The int8 TFLite file and its tf2onnx conversion: same verdict, same CPU ops (type and count)."""
    via_tflite = edgefit.analyze(CORPUS / "keras" / f"{stem}.tflite", device="coral")
    via_onnx = edgefit.analyze(CORPUS / "keras" / f"{stem}_tf2onnx.onnx", device="coral")
    assert via_onnx.lowered and not via_tflite.lowered
    assert via_onnx.verdict == via_tflite.verdict
    assert via_onnx.cpu_ops_by_type == via_tflite.cpu_ops_by_type
    assert len(via_onnx.ops) == len(via_tflite.ops)


@needs_corpus
def test_qwen3_dynamic_sequence_is_rejected_with_the_fix():
    r = run_edgefit("analyze", CORPUS / "qwen3" / "qwen3-0.6b.onnx", "--device", "coral", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["verdict"] == "rejected"
    (static,) = [f for f in d["findings"] if f["code"] == "CORAL-STATIC-SHAPE"]
    assert static["severity"] == "error" and "'input_ids' [1, seq]" in static["message"]
    assert "--input-shape seq=128" in static["message"] and "--input-shape" in static["hint"]


@needs_corpus
def test_qwen3_with_fixed_shapes():
    r = run_edgefit("analyze", CORPUS / "qwen3" / "qwen3-0.6b.onnx", "--device", "coral", "--input-shape",
                    "seq=128", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    s = d["summary"]
    assert d["verdict"] in ("partial", "cpu_only")
    assert s["ops_on_cpu"] >= 0.95 * s["ops_total"]
    codes_of = {}
    for op in d["ops"]:
        codes_of.setdefault(op["type"], set()).update(op["findings"])
    assert "CORAL-OP-UNSUPPORTED" in codes_of["GATHER"]
    assert "CORAL-OP-UNSUPPORTED" in codes_of["BATCH_MATMUL"]
    assert all(op["reason"] for op in d["ops"] if op["placement"] == "cpu")  # every CPU op says why
    assert 560e6 < s["param_bytes_at_8bit"] < 640e6  # ~600 MB of int8 weights
    assert s["param_cache_budget_bytes"] <= 8 * 2**20  # of which at most ~8 MiB can be cached
    assert any(f["code"] == "LOWER-ASSUMED-INT8" for f in d["findings"])
    text = run_edgefit("analyze", CORPUS / "qwen3" / "qwen3-0.6b.onnx", "--input-shape", "seq=128").stdout
    assert "595.99 MB at 8 bits" in text and "can ever be cached on chip" in text
