"""The Hailo target: the DFC cut (start/end nodes, host parts, HEF regions), contexts, LLM answers, commands."""

from __future__ import annotations

import ast
import json
import shlex

import numpy as np
import onnx
import pytest
import yaml
from conftest import CORPUS, SAMPLES, needs_corpus, run_edgefit
from onnx import TensorProto, helper, numpy_helper

from edgefit.api import resolve_device
from edgefit.devices import load_device
from edgefit.errors import SpecError
from edgefit.estimate.macs import op_macs
from edgefit.graph import Model, OpGraph
from edgefit.inspect import parameter_totals
from edgefit.lower import lower
from edgefit.read import read_model
from edgefit.targets import TargetInput, get_target

NUDENET = CORPUS / "wheels" / "nudenet-3.4.2" / "320n.onnx"
QWEN3 = [CORPUS / "qwen3" / "qwen3-0.6b.onnx", CORPUS / "qwen3" / "qwen3-1.7b.onnx"]
HAILO = ("hailo-8", "hailo-8l", "hailo-10h", "rpi-ai-hat-plus-2")


# -- building tiny ONNX models -------------------------------------------------------------------------------------

class Net:
    """A float32 ONNX graph under construction; node names are given explicitly (the cut must not depend on them)."""

    def __init__(self, in_shape=(1, 3, 64, 64), in_type=TensorProto.FLOAT):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self.shapes = {"x": list(in_shape)}
        self.input = helper.make_tensor_value_info("x", in_type, list(in_shape))

    def const(self, name: str, arr: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(arr, name))
        return name

    def node(self, op: str, name: str, inputs: list[str], shape: list[int], **attrs) -> str:
        self.nodes.append(helper.make_node(op, inputs, [name + ":0"], name=name, **attrs))
        self.shapes[name + ":0"] = shape
        return name + ":0"

    def conv(self, name: str, x: str, cout: int, k: int = 3, stride: int = 1) -> str:
        n, cin, h, w = self.shapes[x]
        weight = self.const(name + ".w", np.zeros((cout, cin, k, k), np.float32))
        return self.node("Conv", name, [x, weight], [n, cout, h // stride, w // stride], kernel_shape=[k, k],
                         strides=[stride, stride], pads=[k // 2] * 4)

    def save(self, path, *outputs: str) -> str:
        outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, self.shapes[o]) for o in outputs]
        graph = helper.make_graph(self.nodes, "net", [self.input], outs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        onnx.save(model, str(path))
        return str(path)


def analyze(path, device="hailo-8", llm=None, overrides=None, input_shapes=None):
    model = read_model(path, input_shapes or {})
    return analyze_model(model, device, llm, overrides)


def analyze_model(model: Model, device="hailo-8", llm=None, overrides=None):
    spec = resolve_device(device, overrides)
    target = get_target(spec.family)
    lowered = lower(model, target.dialect(spec, model))
    count, _, _ = parameter_totals(model)
    return target.analyze(TargetInput(model=model, lowered=lowered, spec=spec, param_count=count, llm=llm,
                                      op_macs=op_macs(lowered.graph)))


def placement(result) -> dict[str, tuple[str, int | None, str | None]]:
    return {o.name: (o.placement, o.subgraph, o.reason) for o in result.ops}


def yolo_style(tmp_path, box_name="head.a.box"):
    """Backbone -> two scales, each with a box conv and a class conv -> per-scale Concat -> flatten to rank 3 ->
    Concat over scales -> Split -> Sigmoid -> Concat -> output (a YOLOv8-like decode, no NMS)."""
    n = Net()
    s1 = n.node("Relu", "b.act1", [n.conv("b.conv1", "x", 32, stride=2)], [1, 32, 32, 32])
    s2 = n.node("Relu", "b.act2", [n.conv("b.conv2", s1, 64, stride=2)], [1, 64, 16, 16])
    s3 = n.node("Relu", "b.act3", [n.conv("b.conv3", s2, 64, stride=2)], [1, 64, 8, 8])
    flat = []
    for tag, feat, (h, w) in (("a", s2, (16, 16)), ("b", s3, (8, 8))):
        stem = n.node("Relu", f"head.{tag}.act", [n.conv(f"head.{tag}.stem", feat, 64)], [1, 64, h, w])
        box = n.conv(box_name if tag == "a" else f"head.{tag}.box", stem, 16, k=1)
        cls = n.conv(f"head.{tag}.cls", stem, 4, k=1)
        joined = n.node("Concat", f"decode.{tag}.cat", [box, cls], [1, 20, h, w], axis=1)
        flat.append(n.node("Reshape", f"decode.{tag}.flat", [joined, n.const(f"decode.{tag}.shape",
                                                                             np.array([1, 20, -1], np.int64))],
                           [1, 20, h * w]))
    allp = n.node("Concat", "decode.cat", flat, [1, 20, 320], axis=2)
    split = n.const("decode.split_sizes", np.array([16, 4], np.int64))
    n.nodes.append(helper.make_node("Split", [allp, split], ["box:0", "cls:0"], name="decode.split", axis=1))
    n.shapes.update({"box:0": [1, 16, 320], "cls:0": [1, 4, 320]})
    boxes = n.node("Softmax", "decode.dfl", ["box:0"], [1, 16, 320], axis=1)
    scores = n.node("Sigmoid", "decode.score", ["cls:0"], [1, 4, 320])
    out = n.node("Concat", "decode.out", [boxes, scores], [1, 20, 320], axis=1)
    return n.save(tmp_path / "yolo_style.onnx", out)


# -- the cut ---------------------------------------------------------------------------------------------------------

def test_unsupported_preprocessing_goes_to_the_host_before_the_start_node(tmp_path):
    n = Net(in_type=TensorProto.UINT8)
    cast = n.node("Cast", "prep.cast", ["x"], [1, 3, 64, 64], to=TensorProto.FLOAT)
    scaled = n.node("Div", "prep.scale", [cast, n.const("k255", np.array(255.0, np.float32))], [1, 3, 64, 64])
    y = n.conv("c2", n.node("Relu", "r1", [n.conv("c1", scaled, 16)], [1, 16, 64, 64]), 16)
    result = analyze(n.save(tmp_path / "prep.onnx", y))
    where = placement(result)
    assert where["prep.cast"] == ("cpu", None, "HAILO-OP-NO-EVIDENCE")
    assert all(where[k][0] == "accelerator" for k in ("prep.scale", "c1", "r1", "c2"))
    cut = result.sections["cut"]
    assert cut["start_nodes"] == ["prep.scale"] and cut["end_nodes"] == ["c2"]
    assert cut["host_ops_by_part"]["before"] == ["prep.cast"] and result.accelerator_subgraphs == 1
    assert "--start-node-names prep.scale" in cut["commands"]["hailo_parser"]
    assert not result.refused


def test_yolo_style_decode_tail_is_cropped_at_the_head_convs(tmp_path):
    result = analyze(yolo_style(tmp_path))
    cut = result.sections["cut"]
    assert cut["end_nodes"] == ["head.a.box", "head.a.cls", "head.b.box", "head.b.cls"]
    assert cut["start_nodes"] == [] and cut["start_is_graph_inputs"]
    assert set(cut["host_ops_by_part"]["after"]) == {"decode.a.cat", "decode.a.flat", "decode.b.cat", "decode.b.flat",
                                                     "decode.cat", "decode.split", "decode.dfl", "decode.score",
                                                     "decode.out"}
    where = placement(result)
    assert where["decode.a.cat"][2] == "HAILO-HOST-POST" and where["head.a.box"][0] == "accelerator"
    assert any("box decoder" in line for line in cut["lines"])
    assert "nms_postprocess" in " ".join(cut["lines"])
    assert not result.refused and result.accelerator_subgraphs == 1


def test_a_classifier_tail_stays_in_the_hef(tmp_path):
    n = Net()
    feat = n.node("Relu", "r", [n.conv("c", "x", 32, stride=2)], [1, 32, 32, 32])
    pooled = n.node("GlobalAveragePool", "gap", [feat], [1, 32, 1, 1])
    flat = n.node("Flatten", "flat", [pooled], [1, 32])
    logits = n.node("Gemm", "fc", [flat, n.const("fc.w", np.zeros((10, 32), np.float32))], [1, 10], transB=1)
    probs = n.node("Softmax", "prob", [logits], [1, 10], axis=1)
    result = analyze(n.save(tmp_path / "cls.onnx", probs))
    assert all(o.placement == "accelerator" for o in result.ops)
    assert result.sections["cut"]["end_nodes"] == ["prob"] and result.sections["cut"]["host_ops"] == []


def test_a_rank2_flatten_into_a_small_fc_stays_in_the_hef(tmp_path):
    n = Net()
    heavy = n.conv("c2", n.conv("c1", "x", 128, stride=4), 256, stride=4)  # 1 x 256 x 4 x 4
    feat = n.conv("c3", heavy, 8, k=1)
    flat = n.node("Flatten", "flat", [feat], [1, 128])
    logits = n.node("Gemm", "fc", [flat, n.const("fc.w", np.zeros((1, 128), np.float32))], [1, 1], transB=1)
    result = analyze(n.save(tmp_path / "fc.onnx", logits))
    # the flatten + fc tail is cheap (<1 % of MACs and parameters), yet an fc head is no decoder: it stays
    assert all(o.placement == "accelerator" for o in result.ops), placement(result)
    assert result.sections["cut"]["end_nodes"] == ["fc"]


def test_weights_behind_folded_ops_count_as_hef_parameters(tmp_path):
    n = Net()
    w = n.const("w.q", np.zeros((16, 3, 3, 3), np.int8))
    deq = n.node("DequantizeLinear", "w.dq", [w, n.const("w.s", np.array(0.1, np.float32))], [16, 3, 3, 3])
    y = n.node("Conv", "conv", ["x", deq], [1, 16, 64, 64], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    result = analyze(n.save(tmp_path / "dq.onnx", y))
    assert placement(result)["w.dq"][:2] == ("accelerator", 0)  # folded into the conv's weights
    assert result.sections["contexts"]["hef_params"] == 16 * 3 * 3 * 3


def test_unsupported_op_mid_graph_gives_two_hef_regions(tmp_path):
    n = Net()
    a = n.conv("front.c2", n.conv("front.c1", "x", 16), 16)
    mid = n.node("Mod", "mid.mod", [a, n.const("three", np.array(3.0, np.float32))], [1, 16, 64, 64], fmod=1)
    b = n.conv("back.c2", n.conv("back.c1", mid, 64), 64)
    result = analyze(n.save(tmp_path / "mid.onnx", b))
    where = placement(result)
    assert where["mid.mod"] == ("cpu", None, "HAILO-OP-UNSUPPORTED")
    assert where["front.c1"][:2] == where["front.c2"][:2] == ("accelerator", 0)
    assert where["back.c1"][:2] == where["back.c2"][:2] == ("accelerator", 1)
    assert result.accelerator_subgraphs == 2
    cut = result.sections["cut"]
    regions = {r["index"]: r for r in cut["regions"]}
    assert regions[0]["start_nodes"] == [] and regions[0]["end_nodes"] == ["front.c2"]
    assert regions[1]["start_nodes"] == ["back.c1"] and regions[1]["end_nodes"] == ["back.c2"]
    # the largest region (more MACs after the Mod) is the one printed ready to paste
    assert cut["region"] == 1 and cut["start_nodes"] == ["back.c1"]
    assert cut["host_ops_by_part"]["between"] == ["mid.mod"]
    assert "--start-node-names back.c1" in regions[1]["commands"]["hailo_parser"]
    multi = next(f for f in result.findings if f.code == "HAILO-MULTI-HEF")
    assert "mid.mod" in multi.message and multi.severity == "warning"
    # each HEF is compiled on its own: the contexts estimate is for the largest, the totals cover both
    contexts = result.sections["contexts"]
    assert contexts["hef_params"] == regions[1]["params"] == 64 * 16 * 9 + 64 * 64 * 9
    assert [r["params"] for r in contexts["per_region"]] == [regions[0]["params"], regions[1]["params"]]
    assert result.memory["hef_params"] == regions[0]["params"] + regions[1]["params"]


def test_commands_contain_exactly_the_models_node_names(tmp_path):
    odd = "head a 'box'"  # a name that needs quoting in every syntax
    path = yolo_style(tmp_path, box_name=odd)
    result = analyze(path)
    cut = result.sections["cut"]
    names = {node.name for node in onnx.load(path).graph.node}
    ends = cut["end_nodes"]
    assert odd in ends and set(ends) <= names
    argv = shlex.split(cut["commands"]["hailo_parser"])
    assert argv[:4] == ["hailo", "parser", "onnx", path] and argv[argv.index("--hw-arch") + 1] == "hailo8"
    assert argv[argv.index("--end-node-names") + 1:] == ends and "--start-node-names" not in argv
    call = ast.parse(cut["commands"]["client_runner"], mode="eval").body
    assert call.func.attr == "translate_onnx_model" and ast.literal_eval(call.args[0]) == path
    assert ast.literal_eval(call.func.value.keywords[0].value) == "hailo8"
    assert {k.arg: ast.literal_eval(k.value) for k in call.keywords} == {"end_node_names": ends}
    assert yaml.safe_load(cut["commands"]["model_zoo_yaml"]) == {"parser": {"nodes": [None, ends]}}


def test_start_nodes_appear_in_every_command_form(tmp_path):
    n = Net(in_type=TensorProto.UINT8)
    cast = n.node("Cast", "pre/cast", ["x"], [1, 3, 64, 64], to=TensorProto.FLOAT)
    y = n.conv("net/conv", cast, 8)
    cut = analyze(n.save(tmp_path / "s.onnx", y), device="hailo-10h").sections["cut"]
    argv = shlex.split(cut["commands"]["hailo_parser"])
    assert argv[argv.index("--start-node-names") + 1] == "net/conv"
    assert argv[argv.index("--hw-arch") + 1] == "hailo10h"
    assert "start_node_names=['net/conv']" in cut["commands"]["client_runner"]
    assert yaml.safe_load(cut["commands"]["model_zoo_yaml"])["parser"]["nodes"] == ["net/conv", ["net/conv"]]


# -- the corpus detector ---------------------------------------------------------------------------------------------

HEAD_CONVS = ["/model.22/cv2.0/cv2.0.2/Conv", "/model.22/cv3.0/cv3.0.2/Conv", "/model.22/cv2.1/cv2.1.2/Conv",
              "/model.22/cv3.1/cv3.1.2/Conv", "/model.22/cv2.2/cv2.2.2/Conv", "/model.22/cv3.2/cv3.2.2/Conv"]


@needs_corpus
def test_nudenet_detector_ends_at_the_six_head_convs():
    result = analyze(NUDENET, device="hailo-8", input_shapes={"images": [1, 3, 320, 320]})
    cut = result.sections["cut"]
    assert cut["end_nodes"] == HEAD_CONVS  # the Model Zoo's yolov8n end nodes (ref hailo.md §4.2)
    assert cut["start_nodes"] == [] and result.accelerator_subgraphs == 1 and not result.refused
    types = {o.name: o.type for o in result.ops}
    assert all(types[n] == "Conv" for n in cut["end_nodes"])
    host = set(cut["host_ops"])
    assert "/model.22/dfl/conv/Conv" in host and "/model.22/Concat_25" in host  # the DFL decode is host work
    assert not host & {o.name for o in result.ops if o.type in ("Conv", "MaxPool", "Resize")} - {
        "/model.22/dfl/conv/Conv"}
    contexts = result.sections["contexts"]
    assert contexts["estimate"] == "single" and contexts["is_estimate"]
    argv = shlex.split(cut["commands"]["hailo_parser"])
    assert argv[argv.index("--end-node-names") + 1:] == HEAD_CONVS


@needs_corpus
def test_nudenet_with_dynamic_shapes_is_refused_but_the_cut_is_the_same():
    result = analyze(NUDENET, device="hailo-8l")
    assert result.refused and any(f.code == "HAILO-STATIC-SHAPE" for f in result.findings)
    assert result.sections["cut"]["end_nodes"] == HEAD_CONVS


# -- contexts and precision ------------------------------------------------------------------------------------------

def test_contexts_estimate_follows_the_anchor_and_the_precision_mode(tmp_path):
    path = yolo_style(tmp_path)
    base = analyze(path)
    params = base.sections["contexts"]["hef_params"]
    assert base.sections["contexts"]["estimate"] == "single"
    assert base.fit["precision"] == "a8_w8" and base.fit["weight_bytes"] == params
    assert [o["precision"] for o in base.fit["options"]] == ["a8_w8", "a8_w4"]
    small = analyze(path, overrides={"hailo.max_single_context_params_m": params / 1.5e6})
    assert small.sections["contexts"]["estimate"] == "multi"
    assert any(f.code == "HAILO-CONTEXTS-MULTI" for f in small.findings) and not small.refused
    assert small.fit["fits"] is True and small.fit["precision"] == "a8_w4"  # 4-bit weights halve the bytes
    w4 = analyze(path, overrides={"hailo.max_single_context_params_m": params / 1.5e6,
                                  "hailo.default_precision_mode": "a8_w4"})
    assert w4.sections["contexts"]["estimate"] == "single" and w4.device_param_bytes == params // 2
    with pytest.raises(SpecError, match="hailo.default_precision_mode"):
        analyze(path, overrides={"hailo.default_precision_mode": "int4"})


def test_every_result_carries_an_info_with_the_fit_numbers(tmp_path):
    result = analyze(yolo_style(tmp_path), device="hailo-8l")
    info = next(f for f in result.findings if f.code == "HAILO-CONTEXTS-SINGLE")
    assert "M parameters in the HEF" in info.message and "11.68 M parameters" in info.message


# -- LLMs ------------------------------------------------------------------------------------------------------------

class TinyDecoder:
    """A duck-typed stand-in for ``edgefit.llm.LlmArchitecture``: what the Hailo target reads."""

    arch = "qwen3"
    params = 600_000_000

    def kv_cache_bytes(self, context: int, kv_dtype: str = "fp16") -> int:
        return context * 2 * 28 * 8 * 128 * 2


def tiny_graph_model(tmp_path) -> Model:
    n = Net()
    return read_model(n.save(tmp_path / "stand_in.onnx", n.conv("c", "x", 8)))


def test_llm_is_refused_on_hailo8_and_8l_with_the_vendor_statement(tmp_path):
    for device in ("hailo-8", "hailo-8l"):
        result = analyze_model(tiny_graph_model(tmp_path), device, llm=TinyDecoder())
        assert result.refused and result.accelerator_subgraphs == 0
        assert {o.placement for o in result.ops} == {"cpu"}
        first = next(f for f in result.findings if f.severity == "error")
        assert first.code == "HAILO-LLM-NOT-SUPPORTED" and "hailo-rpi5-examples/issues/21" in first.message
        assert result.fit["fits"] is False and "cut" not in result.sections


def test_llm_on_hailo10h_only_via_vendor_compiled_models(tmp_path):
    for device in ("hailo-10h", "rpi-ai-hat-plus-2"):
        result = analyze_model(tiny_graph_model(tmp_path), device, llm=TinyDecoder())
        assert result.refused
        vendor = next(f for f in result.findings if f.code == "HAILO-LLM-VENDOR-ONLY")
        assert "Only via vendor-compiled models" in vendor.message and "no qwen3 HEF is listed" in vendor.message
        assert "Qwen2.5-1.5B-Instruct" in vendor.message
        assert result.fit["fits"] is True and result.fit["precision"] == "a8_w4"
        assert result.fit["weight_bytes"] == TinyDecoder.params // 2 and result.fit["capacity_bytes"] == 8 << 30
        section = result.sections["llm_support"]
        assert section["supported"] == "vendor_compiled_only" and "Qwen2-1.5B-Instruct" in section[
            "related_vendor_hefs"]


def test_a_file_without_an_op_graph(tmp_path):
    gguf = Model(path=str(tmp_path / "m.gguf"), format="gguf", graphs=[OpGraph("m", [], {}, [], [])])
    result = analyze_model(gguf, "hailo-10h", llm=TinyDecoder())
    codes = {f.code for f in result.findings}
    assert {"HAILO-NO-GRAPH", "HAILO-LLM-VENDOR-ONLY"} <= codes and result.refused
    plain = analyze_model(gguf, "hailo-8")
    assert [f.code for f in plain.findings] == ["HAILO-NO-GRAPH"] and plain.refused


# -- TFLite ----------------------------------------------------------------------------------------------------------

def test_tflite_is_parsed_in_its_own_dialect():
    model = read_model(SAMPLES / "tiny_cnn_int8.tflite")
    assert get_target("hailo").dialect(load_device("hailo-8"), model) == "tflite"
    result = analyze_model(model, "hailo-8")
    assert any(f.code == "HAILO-TFLITE" for f in result.findings)
    cut = result.sections["cut"]
    if cut["regions"]:
        assert cut["commands"]["hailo_parser"].startswith("hailo parser tf ")
        assert ".translate_tf_model(" in cut["commands"]["client_runner"]
        assert any("TFLite has no node names" in line for line in cut["lines"])


# -- specs -----------------------------------------------------------------------------------------------------------

def test_hailo_specs_and_the_ai_hat_plus_2():
    for device in HAILO:
        spec = load_device(device)
        assert spec.family == "hailo" and spec.get("hailo.default_precision_mode") == "a8_w8"
        assert spec.get("hailo.precision_modes")[:3] == ["a8_w8", "a8_w4", "a16_w16"]
    hat = load_device("ai-hat-plus-2")
    assert hat.id == "rpi-ai-hat-plus-2" and hat.get("hailo.hw_arch") == "hailo10h"
    assert hat.get("memory.size_bytes") == 8 << 30 and hat.get("llm.supported") == "vendor_compiled_only"
    assert (hat.get("host_link.pcie_gen"), hat.get("host_link.lanes")) == (2, 1)
    hailo8 = load_device("hailo-8")
    assert hailo8.get("llm.supported") == "no" and hailo8.get("memory.size_bytes") is None


# -- end to end ------------------------------------------------------------------------------------------------------

@needs_corpus
def test_cli_analyze_prints_the_cut_ready_to_paste():
    r = run_edgefit("analyze", NUDENET, "--device", "hailo-8", "--input-shape", "images=1x3x320x320", "--format",
                    "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["cut"]["end_nodes"] == HEAD_CONVS and d["verdict"] == "partial"
    assert d["contexts"]["estimate"] == "single"
    text = run_edgefit("analyze", NUDENET, "--device", "hailo-8l", "--input-shape", "images=1x3x320x320")
    assert text.returncode == 0 and "hailo parser onnx" in text.stdout and "--end-node-names" in text.stdout
    assert all(name in text.stdout for name in HEAD_CONVS)


@needs_corpus
def test_compare_qwen3_on_the_hailo_devices():
    for path in QWEN3:
        r = run_edgefit("compare", path, "--devices", ",".join(HAILO), "--format", "json")
        assert r.returncode == 0, r.stderr
        rows = {row["device"]: row for row in json.loads(r.stdout)["rows"]}
        for device in ("hailo-8", "hailo-8l"):
            row = rows[device]
            assert row["verdict"] == "rejected" and row["reasons"][0].startswith("HAILO-LLM-NOT-SUPPORTED")
            assert "no DRAM path" in row["reasons"][0] and "issues/21" in row["reasons"][0]
        for device in ("hailo-10h", "rpi-ai-hat-plus-2"):
            row = rows[device]
            assert row["reasons"][0].startswith("HAILO-LLM-VENDOR-ONLY: Only via vendor-compiled models")
            assert "no qwen3 HEF is listed" in row["reasons"][0] and "Qwen2.5-1.5B-Instruct" in row["reasons"][0]
            assert row["precision"] == "a8_w4" and row["fits_memory"] is True
            assert row["memory_capacity_bytes"] == 8 << 30 and row["weight_bytes"] < 1 << 30
