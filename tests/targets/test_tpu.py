"""The Cloud TPU v5e target: XLA compiles the whole model, so the findings are memory (one chip's HBM), static
shapes, precision, and the ops XLA has no form for (string tensors run on the host)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import CORPUS, needs_corpus, run_edgefit
from onnx import TensorProto, helper
from test_cpu import GIB, KV_PER_TOKEN, StandInLlm, codes, finding, llm_input, matmul_model, onnx_file

import edgefit
from edgefit.read import read_model
from edgefit.targets.tpu import TARGET

HBM = 16 * GIB
QWEN = CORPUS / "qwen3"


def test_float32_model_with_a_dynamic_batch(tmp_path):
    report = edgefit.analyze(matmul_model(tmp_path, dims=("batch", 64)), device="tpu-v5e")
    assert report.verdict == "full" and report.accelerator == "TPU v5e (XLA)"
    assert {o.placement for o in report.ops} == {"accelerator"}
    dyn = finding(report, "TPU-DYNAMIC-SHAPES")
    assert dyn["severity"] == "warning" and "x: batch" in dyn["message"] and "recompiles" in dyn["message"]
    assert "MatMul x1" in finding(report, "TPU-FP32")["message"]
    assert "ONNX file" in finding(report, "TPU-INPUT-FORMAT")["message"]
    # weights as stored (fp32, 8 KiB), then cast to bf16 and int8 for the chip
    assert [(o["precision"], o["weight_bytes"]) for o in report.fit["options"]] == [
        ("fp32", 8192), ("bf16", 4096), ("int8", 2048)]
    assert report.fit["capacity_bytes"] == HBM
    assert "datacenter" in finding(report, "TPU-FIT")["message"]


def test_static_shapes_have_no_recompile_warning(tmp_path):
    report = edgefit.analyze(matmul_model(tmp_path), device="tpu-v5e")
    assert "TPU-DYNAMIC-SHAPES" not in codes(report)


def test_float16_is_converted_to_bfloat16(tmp_path):
    report = edgefit.analyze(matmul_model(tmp_path, TensorProto.FLOAT16, np.float16), device="tpu-v5e")
    assert "MatMul x1" in finding(report, "TPU-FP16")["message"]
    assert "TPU-FP32" not in codes(report)


def test_string_ops_run_on_the_host(tmp_path):
    path = onnx_file(tmp_path, [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("StringNormalizer", ["s"], ["t"], case_change_action="LOWER", name="norm")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4]),
         helper.make_tensor_value_info("s", TensorProto.STRING, [3])],
        [helper.make_tensor_value_info("r", TensorProto.FLOAT, [2, 4]),
         helper.make_tensor_value_info("t", TensorProto.STRING, [3])])
    report = edgefit.analyze(path, device="tpu-v5e")
    assert report.verdict == "partial"
    placements = {o.name: (o.placement, o.reason) for o in report.ops}
    assert placements == {"relu": ("accelerator", None), "norm": ("cpu", "TPU-STRING")}
    assert report.host == "TPU VM host CPU"


def test_sequences_and_custom_domains_need_a_converter(tmp_path):
    path = onnx_file(tmp_path, [
        helper.make_node("SplitToSequence", ["x"], ["seq"], axis=0, name="split"),
        helper.make_node("ConcatFromSequence", ["seq"], ["y"], axis=0, name="cat"),
        helper.make_node("FastGelu", ["y"], ["z"], domain="com.microsoft", name="gelu")],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 4])], opsets=(("", 17), ("com.microsoft", 1)))
    report = edgefit.analyze(path, device="tpu-v5e")
    assert report.verdict == "full"
    by_op = {o.name: o.findings for o in report.ops}
    assert by_op["split"] == by_op["cat"] == ["TPU-SEQUENCE"] and by_op["gelu"] == ["TPU-CUSTOM-OP"]


def test_llm_too_big_for_one_chip_is_refused(tmp_path):
    model = read_model(matmul_model(tmp_path))
    big = StandInLlm({"bf16": 40 * GIB, "int8": 20 * GIB, "int4": 10 * GIB})
    fits_int4 = TARGET.analyze(llm_input(model, "tpu-v5e", big))
    assert fits_int4.fit["precision"] == "int4" and not fits_int4.refused
    assert big.kv_dtypes and set(big.kv_dtypes) == {"bf16"}
    assert "TPU-FIT-REDUCED" in [f.code for f in fits_int4.findings]
    huge = StandInLlm({"bf16": 70 * GIB, "int8": 35 * GIB, "int4": 17 * GIB})
    result = TARGET.analyze(llm_input(model, "tpu-v5e", huge))
    assert result.refused and any(f.code == "TPU-NO-FIT" for f in result.findings)
    assert "TPU-FP32" not in [f.code for f in result.findings]  # an LLM is served in its serving formats


@needs_corpus
@pytest.mark.parametrize("name, bf16_bytes", [("qwen3-0.6b", 1_191_971_210), ("qwen3-1.7b", 3_441_136_010)])
def test_qwen3_fits_one_v5e_chip_in_bf16(name, bf16_bytes):
    report = edgefit.analyze(QWEN / f"{name}.onnx", device="tpu-v5e", context=4096)
    assert report.verdict == "full" and report.fit["precision"] == "bf16"
    assert report.fit["weight_bytes"] == bf16_bytes and report.fit["kv_cache_bytes"] == KV_PER_TOKEN * 4096
    assert "input_ids: seq" in finding(report, "TPU-DYNAMIC-SHAPES")["message"]
    assert "JetStream" in finding(report, "TPU-LLM")["message"]


@needs_corpus
def test_compare_row_for_the_tpu():
    result = run_edgefit("compare", QWEN / "qwen3-1.7b.onnx", "--devices", "tpu-v5e", "--format", "json")
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)["rows"]
    assert (row["verdict"], row["fits_memory"], row["precision"], row["memory_capacity_bytes"]) == (
        "full", True, "bf16", HBM)
    assert row["reasons"][0].startswith("TPU-DYNAMIC-SHAPES: ")
