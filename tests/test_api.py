"""edgefit.analyze(): the typed Python API and the JSON it renders."""

from __future__ import annotations

import json

import pytest
from conftest import CORPUS, SAMPLES, needs_corpus, run_edgefit

import edgefit
from edgefit.errors import SpecError, UsageError
from edgefit.read import read_model

TFLITE = SAMPLES / "tiny_cnn_int8.tflite"


def test_analyze_tflite_report_shape():
    report = edgefit.analyze(TFLITE, device="coral")
    d = json.loads(report.to_json())
    assert d["schema_version"] == 1
    assert {k: d["device"][k] for k in ("id", "name", "accelerator")} == {"id": "coral-usb", "name": "Coral USB Accelerator (USB 3)", "accelerator": "Edge TPU"}
    assert d["model"]["format"] == "tflite" and d["model"]["op_count"] == 8
    # For TFLite input, ops are exactly the model's ops, in model order, typed by builtin name.
    model = read_model(TFLITE)
    assert [(o["index"], o["name"], o["type"]) for o in d["ops"]] == [(op.index, op.name, op.type) for op in model.main.ops]
    assert d["verdict"] == "partial"
    assert d["summary"]["cpu_ops_by_type"] == {"DEQUANTIZE": 1, "QUANTIZE": 1}
    assert d["summary"]["ops_on_accelerator"] == 6 and d["summary"]["accelerator_subgraphs"] == 1
    assert d["summary"]["param_bytes_streamed"] == 0 and d["summary"]["param_bytes_cached"] > 0
    for f in d["findings"]:
        assert set(f) >= {"code", "severity", "message", "op", "tensor", "hint"}
    quant = d["ops"][0]
    assert quant["placement"] == "cpu" and quant["reason"] == "CORAL-QUANTIZE-FLOAT-INPUT"
    assert report.to_json() == edgefit.analyze(TFLITE, device="coral").to_json()  # deterministic


def test_overrides_take_the_same_keys_as_set():
    small = edgefit.analyze(TFLITE, device="coral", overrides={"memory.param_cache_bytes": 100})
    assert small.summary()["param_bytes_streamed"] > 0
    assert small.memory["budget_bytes"] == 100
    with pytest.raises(SpecError, match="memory.param_cache_bytes"):
        edgefit.analyze(TFLITE, device="coral", overrides={"memory.param_cache_bytes": "lots"})


def test_unknown_device_and_unanalysed_family(monkeypatch):
    with pytest.raises(SpecError, match="unknown device"):
        edgefit.analyze(TFLITE, device="coral-usb4")
    from edgefit import targets

    # Every catalog family has a target; a family without one (a spec written ahead of its module) is refused.
    monkeypatch.delitem(targets.FAMILY_MODULES, "tpu")
    with pytest.raises(UsageError, match="analysis of tpu devices is not implemented yet"):
        edgefit.analyze(TFLITE, device="tpu-v5e")


def test_cli_analyze_json_equals_api():
    r = run_edgefit("analyze", TFLITE, "--device", "coral", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == edgefit.analyze(TFLITE, device="coral").to_dict()


def test_cli_bad_set_and_shape_exit_2():
    for args in (["--set", "memory.param_cache_bytes=abc"], ["--set", "nonsense"], ["--input-shape", "x=1xq"],
                 ["--device", "nope"]):
        r = run_edgefit("analyze", TFLITE, *args)
        assert r.returncode == 2, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


@needs_corpus
def test_dead_and_custom_ops_in_posenet():
    report = edgefit.analyze(CORPUS / "coral" / "posenet_mobilenet_v1_075_353_481_quant_decoder-5e0aba.tflite")
    assert report.summary()["ops_removed"] > 0
    assert any(op.type.startswith("CUSTOM:") and op.placement == "cpu" for op in report.ops)


def test_a_loaded_spec_is_not_changed_by_overrides():
    from edgefit.devices import load_device

    spec = load_device("coral-pcie")
    report = edgefit.analyze(TFLITE, device=spec, overrides={"coral.compiler_version": "14.1"})
    assert report.toolchain["compiler_version"] == "14.1" and report.device_id == "coral-pcie"
    assert spec.get("coral.compiler_version") == "16.0"


def test_every_onnx_node_test_model_analyzes_without_a_crash(tmp_path):
    """~1,900 single-op models: each gives a report in every format, or a clean bad-input error."""
    import onnx
    from onnx.backend.test.loader import load_model_tests

    from edgefit.errors import EdgefitError
    from edgefit.report.edgetpu_log import render_edgetpu_log
    from edgefit.report.text import render_text

    cases = load_model_tests(kind="node")
    assert len(cases) > 1000
    for case in cases:
        if case.model_dir is not None:
            path = f"{case.model_dir}/model.onnx"
        else:
            path = tmp_path / f"{case.name}.onnx"
            onnx.save(case.model, path)
        try:
            report = edgefit.analyze(path, device="coral")
        except EdgefitError:
            continue
        report.to_json()
        render_text(report)
        render_edgetpu_log(report)


def test_a_cyclic_graph_is_bad_input_naming_the_file(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Add", ["x", "b"], ["a"], name="first"),
                           helper.make_node("Relu", ["a"], ["b"], name="second")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    p = tmp_path / "cycle.onnx"
    onnx.save(model, p)
    r = run_edgefit("analyze", p)
    assert r.returncode == 2 and str(p) in r.stderr and "cycle" in r.stderr, r.stderr
