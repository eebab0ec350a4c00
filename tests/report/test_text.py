"""The text renderer shows model text verbatim (rich markup must not eat "[batch, 8]")."""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

import edgefit
from edgefit.inspect import inspect_model
from edgefit.report.inspect_text import render_inspect_text
from edgefit.report.text import render_text


def test_bracketed_symbolic_shapes_survive(tmp_path):
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "n", 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "n", 8])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    p = tmp_path / "m.onnx"
    onnx.save(model, p)
    text = render_text(edgefit.analyze(p, device="coral"), width=1000)
    assert "'x' [batch, n, 8]" in text and "--input-shape batch=1 --input-shape n=128" in text
    assert "[batch, n, 8]" in render_inspect_text(inspect_model(p).to_dict(), width=1000)


def test_a_code_on_the_model_and_on_ops_renders():
    from edgefit.report.model import OpResult, Report

    ops = [OpResult(0, "a", "RELU", "cpu", None, ["a"], ["X-1"], "s", "X-1")]
    findings = [{"code": "X-1", "severity": "warning", "message": "model-wide", "op": None, "tensor": None,
                 "hint": None, "status": None},
                {"code": "X-1", "severity": "warning", "message": "on a", "op": 0, "tensor": None, "hint": None,
                 "status": None}]
    report = Report("m.onnx", "onnx", 1, 0, 0, "coral-usb", "Coral", {"dialect": "tflite"}, "cpu_only", ops,
                    findings, 0, {"budget_bytes": 1, "cached_bytes": 0, "streamed_bytes": 0}, 0, True)
    assert "X-1 x2 at a: model-wide" in render_text(report, width=1000)
