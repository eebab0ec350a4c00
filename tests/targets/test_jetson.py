"""The Jetson target: TensorRT's whole-graph build on the GPU, DLA placement with GPU fallback (``<id>:dla``),
memory fit in shared DRAM, the operator-matrix sweep over ONNX's single-op test models, and Qwen3 fits."""

from __future__ import annotations

import json
import warnings
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
import yaml
from conftest import CORPUS, REPO, SAMPLES, needs_corpus, run_edgefit
from onnx import TensorProto, helper, numpy_helper

import edgefit
from edgefit.api import Analysis, resolve_device
from edgefit.compare import compare
from edgefit.devices import load_device, split_variant, validate
from edgefit.errors import EdgefitError, SpecError
from edgefit.graph import Model, OpGraph
from edgefit.lower import lower
from edgefit.targets import TargetInput
from edgefit.targets.jetson import DLA_HOST, DLA_SECTION, TARGET, TENSORRT_SECTION

GIB = 1 << 30
QWEN = CORPUS / "qwen3"
REFERENCE = REPO.parent / "shared" / "reference" / "tensorrt-onnx-ops.yaml"
JETSONS = ["jetson-orin-nano-4gb", "jetson-orin-nano-8gb", "jetson-orin-nano-8gb-super", "jetson-orin-nx-16gb",
           "jetson-agx-orin-64gb"]
#: Orin Nano 4GB: 4 GiB x 0.9 usable share - 1 GiB runtime overhead (both labelled estimates in the spec).
NANO4_USABLE = int(4 * GIB * 0.9) - GIB


def onnx_file(tmp_path, nodes, inputs, outputs, initializers=(), *, name="m.onnx", opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 9
    path = tmp_path / name
    onnx.save(m, path)
    return path


def cnn(tmp_path, ops=("Conv", "Relu"), shape=(1, 3, 16, 16), name="cnn.onnx"):
    """A chain of ops on a static NCHW input; each Conv is 3x3 with padding 1 (DLA-able)."""
    nodes, inits, x = [], [], "x"
    for i, op in enumerate(ops):
        y = f"t{i}"
        if op == "Conv":
            inits.append(numpy_helper.from_array(np.ones((shape[1], shape[1], 3, 3), np.float32), f"w{i}"))
            nodes.append(helper.make_node("Conv", [x, f"w{i}"], [y], kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
        else:
            nodes.append(helper.make_node(op, [x], [y]))
        x = y
    return onnx_file(tmp_path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                     [helper.make_tensor_value_info(x, TensorProto.FLOAT, list(shape))], inits, name=name)


def codes(report, severity=None):
    return [f["code"] for f in report.findings if severity is None or f["severity"] == severity]


def finding(report, code):
    return next(f for f in report.findings if f["code"] == code)


# -- the device variant ------------------------------------------------------------------------------------

def test_dla_variant_sets_dla_placement_and_names_the_device():
    spec = load_device("jetson-agx-orin-64gb:dla")
    assert spec.id == "jetson-agx-orin-64gb:dla" and spec.variant == "dla"
    assert spec.get("jetson.accelerator") == "dla" and "DLA core 0" in spec.name
    assert load_device("agx-orin:DLA").id == "jetson-agx-orin-64gb:dla"  # aliases and case work too
    assert load_device("jetson-agx-orin-64gb").get("jetson.accelerator") == "gpu"  # the catalog copy is untouched
    assert load_device("orin-nx:dla", {"jetson.gpu_fallback": False}).get("jetson.gpu_fallback") is False


@pytest.mark.parametrize("device", ["jetson-orin-nano-4gb:dla", "orin-nano:dla", "jetson-orin-nano-8gb-super:dla"])
def test_dla_variant_on_an_orin_nano_says_it_has_no_dla(device):
    with pytest.raises(SpecError, match="Orin Nano has no DLA"):
        load_device(device)


def test_an_unknown_variant_lists_the_valid_ones():
    with pytest.raises(SpecError, match="has no variant 'gpu0'; its variants: dla"):
        load_device("jetson-agx-orin-64gb:gpu0")
    with pytest.raises(SpecError, match="coral-usb has no variant 'dla'; it has no variants"):
        load_device("coral:dla")


def test_variant_syntax_leaves_paths_alone(tmp_path):
    assert split_variant("jetson-agx-orin-64gb:dla") == ("jetson-agx-orin-64gb", "dla")
    assert split_variant("C:\\specs\\my.yaml") == ("C:\\specs\\my.yaml", None)
    assert split_variant("/tmp/a:b/c.yaml") == ("/tmp/a:b/c.yaml", None)
    own = tmp_path / "jetson-agx-orin-64gb.yaml"
    own.write_text((REPO / "device_specs" / "jetson-agx-orin-64gb.yaml").read_text())
    assert load_device(f"{own}:dla").get("jetson.accelerator") == "dla"  # a path takes a variant too


def _tree(**variants):
    tree = yaml.safe_load((REPO / "device_specs" / "jetson-agx-orin-64gb.yaml").read_text())
    tree["variants"] = variants
    return tree


def test_variants_are_validated_like_the_spec():
    validate(_tree(dla={"set": {"jetson.accelerator": "dla"}}), "x.yaml")
    bad = [({"set": {"jetson.accelerator": "npu"}}, "expected one of gpu, dla"),
           ({"set": {"jetson.nope": 1}}, "not a field of the schema"),
           ({"set": {"coral.min_runtime": 13}}, "applies only to family coral"),
           ({"set": {"id": "other"}}, "a variant cannot change it"),
           ({"set": {"memory.size_bytes": 5}}, "expected a figure"),
           ({"set": {"jetson.accelerator": "dla"}, "unavailable": "x"}, "exactly one of 'set'"),
           ({"sets": {}}, "unknown key 'sets'")]
    for variant, message in bad:
        with pytest.raises(SpecError, match=message):
            validate(_tree(dla=variant), "x.yaml")
    with pytest.raises(SpecError, match="must be lower-case"):
        validate(_tree(DLA={"set": {"jetson.accelerator": "dla"}}), "x.yaml")


# -- the GPU: TensorRT builds the whole graph ---------------------------------------------------------------

def test_a_cnn_builds_on_the_gpu_with_its_fit_numbers_and_the_trtexec_command(tmp_path):
    report = edgefit.analyze(cnn(tmp_path), device="jetson-orin-nano-8gb")
    assert report.verdict == "full" and report.accelerator_subgraphs == 1
    assert report.accelerator == "GPU (TensorRT)" and all(o.status == "TensorRT GPU layer" for o in report.ops)
    fit = finding(report, "TRT-MEMORY-FIT")  # a clean result still says what fits
    assert fit["severity"] == "info" and "best fitting precision fp32" in fit["message"]
    assert report.fit["fits"] and report.fit["capacity_bytes"] == int(8 * GIB * 0.9) - GIB
    assert [o["precision"] for o in report.fit["options"]] == ["fp32", "fp16", "int8"]
    section = report.sections["tensorrt"]
    assert section["title"] and section["command"] == f"trtexec --onnx={report.model_path} --saveEngine=cnn.engine"
    assert section["lines"][0] == section["command"]
    assert report.toolchain["version"] == "10.3" and report.toolchain["jetpack"] == "6.2"
    assert report.toolchain["accelerator"] == "gpu"


def test_an_op_without_importer_refuses_the_whole_build(tmp_path):
    path = onnx_file(tmp_path, [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Unique", ["r"], ["y"])],
                     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])])
    report = edgefit.analyze(path, device="jetson-agx-orin-64gb")
    assert report.verdict == "rejected" and report.accelerator_subgraphs == 0
    unique = next(o for o in report.ops if o.type == "Unique")
    assert unique.placement == "cpu" and unique.reason == "TRT-OP-UNSUPPORTED"
    assert "TensorRT's ONNX parser has no importer for Unique" in finding(report, "TRT-OP-UNSUPPORTED")["message"]
    assert next(o for o in report.ops if o.type == "Relu").placement == "accelerator"


def test_dynamic_inputs_need_an_optimization_profile_not_a_refusal(tmp_path):
    path = onnx_file(tmp_path, [helper.make_node("Relu", ["x"], ["y"])],
                     [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, "h", "w"])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3, "h", "w"])])
    report = edgefit.analyze(path, device="jetson-orin-nx-16gb")
    assert report.verdict == "full"
    dynamic = finding(report, "TRT-DYNAMIC-SHAPE")
    assert dynamic["severity"] == "warning" and "--maxShapes=x:1x3x1024x1024" in dynamic["message"]
    assert "--minShapes=x:1x3x1x1" in report.sections["tensorrt"]["command"]


def test_a_tflite_model_is_refused_naming_tf2onnx():
    report = edgefit.analyze(SAMPLES / "tiny_cnn_int8.tflite", device="jetson-orin-nano-8gb")
    assert report.verdict == "rejected"
    onnx_only = finding(report, "TRT-ONNX-ONLY")
    assert onnx_only["severity"] == "error" and "tf2onnx" in onnx_only["hint"]
    assert all(o.placement == "cpu" and o.reason == "TRT-ONNX-ONLY" for o in report.ops)


def test_a_qdq_model_is_priced_at_int8_and_built_with_int8(tmp_path):
    scale = numpy_helper.from_array(np.array(0.05, np.float32), "s")
    zp = numpy_helper.from_array(np.array(0, np.int8), "z")
    w = numpy_helper.from_array(np.ones((3, 3, 3, 3), np.int8), "wq")
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["xq"]),
             helper.make_node("DequantizeLinear", ["xq", "s", "z"], ["xd"]),
             helper.make_node("DequantizeLinear", ["wq", "s", "z"], ["wd"]),
             helper.make_node("Conv", ["xd", "wd"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    path = onnx_file(tmp_path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])], [scale, zp, w])
    report = edgefit.analyze(path, device="jetson-orin-nano-8gb")
    assert report.verdict == "full"
    assert [o["precision"] for o in report.fit["options"]] == ["int8"]
    assert "--int8 --fp16" in report.sections["tensorrt"]["command"]
    assert "a Q/DQ model" in finding(report, "TRT-PRECISION")["message"]


def test_a_model_too_big_for_the_module_is_refused_with_the_numbers(tmp_path):
    report = edgefit.analyze(cnn(tmp_path), device="jetson-orin-nano-4gb", overrides={"memory.size_bytes": GIB})
    assert report.verdict == "rejected" and report.fit["fits"] is False
    assert "capacity 0.00 GiB" in finding(report, "TRT-MEMORY-EXCEEDED")["message"]


# -- DLA placement -----------------------------------------------------------------------------------------

def test_dla_layers_on_the_accelerator_and_gpu_fallback_on_the_host(tmp_path):
    path = cnn(tmp_path, ("Conv", "Relu", "Exp", "Conv", "Relu"))
    report = edgefit.analyze(path, device="jetson-agx-orin-64gb:dla")
    assert report.verdict == "partial" and report.device_id == "jetson-agx-orin-64gb:dla"
    assert report.accelerator == "DLA core 0 (TensorRT)" and report.host == DLA_HOST
    placement = {o.type + str(o.index): (o.placement, o.subgraph) for o in report.ops}
    assert placement == {"Conv0": ("accelerator", 0), "Relu1": ("accelerator", 0), "Exp2": ("cpu", None),
                         "Conv3": ("accelerator", 1), "Relu4": ("accelerator", 1)}
    assert report.accelerator_subgraphs == 2  # a DLA -> GPU -> DLA hand-off starts a second DLA subgraph
    exp = report.ops[2]
    assert exp.reason == "DLA-LAYER" and exp.status.startswith("GPU fallback")
    dla = report.sections["dla"]
    assert set(dla) == {"title", "lines", *DLA_SECTION}  # the keys docs/devices/jetson.md documents
    assert set(report.sections["tensorrt"]) == {"title", "lines", *TENSORRT_SECTION}
    assert dla["dla_ops"] == 4 and dla["gpu_fallback_ops"] == 1 and dla["subgraphs"] == 2
    assert dla["lines"][0].startswith("4 of 5 layers on DLA core 0 in 2 DLA subgraph(s)")
    assert "--useDLACore=0 --allowGPUFallback" in report.sections["tensorrt"]["command"]
    assert "--fp16" in report.sections["tensorrt"]["command"]  # DLA runs FP16 or INT8 only
    availability = finding(report, "DLA-AVAILABILITY")
    assert "TensorRT 10.3 (JetPack 6.2)" in availability["message"] and "10.7 and earlier" in availability["message"]
    assert [o["precision"] for o in report.fit["options"]] == ["fp16", "int8"]


def test_set_selects_dla_placement_too(tmp_path):
    via_set = edgefit.analyze(cnn(tmp_path), device="jetson-orin-nx-16gb", overrides={"jetson.accelerator": "dla"})
    assert via_set.verdict == "full" and via_set.accelerator_subgraphs == 1 and via_set.toolchain["accelerator"] == "dla"


def test_dla_subgraphs_beyond_sixteen_fall_back_to_the_gpu(tmp_path):
    path = cnn(tmp_path, ("Conv", "Exp") * 18)
    report = edgefit.analyze(path, device="jetson-agx-orin-64gb:dla")
    assert report.accelerator_subgraphs == 16
    limited = [o for o in report.ops if o.reason == "DLA-SUBGRAPH-LIMIT"]
    assert [o.type for o in limited] == ["Conv", "Conv"]
    assert "18 DLA subgraphs; 2 beyond the first 16" in finding(report, "DLA-SUBGRAPH-LIMIT")["message"]


def test_without_gpu_fallback_a_non_dla_layer_fails_the_build(tmp_path):
    report = edgefit.analyze(cnn(tmp_path, ("Conv", "Exp")), device="jetson-agx-orin-64gb:dla",
                             overrides={"jetson.gpu_fallback": False})
    assert report.verdict == "rejected" and "DLA-NO-GPU-FALLBACK" in codes(report, "error")
    assert "--allowGPUFallback" not in report.sections["tensorrt"]["command"]


def test_dla_asked_for_on_an_orin_nano_with_set_is_refused(tmp_path):
    report = edgefit.analyze(cnn(tmp_path), device="jetson-orin-nano-8gb", overrides={"jetson.accelerator": "dla"})
    assert report.verdict == "rejected"
    assert "has no DLA" in finding(report, "DLA-UNAVAILABLE")["message"]
    assert all(o.reason == "DLA-UNAVAILABLE" for o in report.ops)


def test_dla_needs_a_tensorrt_release_that_has_it(tmp_path):
    gap = edgefit.analyze(cnn(tmp_path), device="jetson-agx-orin-64gb:dla", overrides={"toolchain.version": "11.2"})
    assert gap.verdict == "rejected" and "DLA-TENSORRT-VERSION" in codes(gap, "error")
    back = edgefit.analyze(cnn(tmp_path), device="jetson-agx-orin-64gb:dla", overrides={"toolchain.version": "11.4.1"})
    assert back.verdict == "full" and "--stronglyTyped" in back.sections["tensorrt"]["command"]
    nx = edgefit.analyze(cnn(tmp_path), device="jetson-orin-nx-16gb:dla", overrides={"toolchain.version": "11.4.1"})
    assert "DLA-VERSION-UNVERIFIED" in codes(nx, "warning")


# -- LLMs ----------------------------------------------------------------------------------------------------

@pytest.fixture
def qwen_like():
    """A stand-in for Qwen3-1.7B's LlmArchitecture: its weight bytes per format and KV cache (114,688 B/token)."""
    sizes = {"fp16": 3_441_136_010, "q8_0": 1_828_446_996, "q4_k_m": 1_101_429_524, "int4": 1_354_731_914}
    return SimpleNamespace(arch="qwen3", params=1_720_568_005, weight_bytes=sizes.__getitem__,
                           kv_cache_bytes=lambda context, kv_dtype="fp16": 114_688 * context,
                           file_format="float32", file_weight_format=None, file_weight_bytes=6_882_272_020,
                           to_dict=lambda *a: {"arch": "qwen3"})


def _opless(fmt: str) -> Model:
    return Model(path=f"qwen3-1.7b.{fmt}", format=fmt, graphs=[OpGraph("main", [], {}, [], [])])


def _target_input(model: Model, spec, llm, context=4096) -> TargetInput:
    return TargetInput(model=model, lowered=lower(model, TARGET.dialect(spec, model)), spec=spec,
                       param_count=llm.params, llm=llm, context=context)


def test_an_llm_fits_the_orin_nano_4gb_in_int4_but_not_in_fp16(qwen_like):
    spec = load_device("jetson-orin-nano-4gb")
    result = TARGET.analyze(_target_input(_opless("onnx"), spec, qwen_like))
    options = {o["precision"]: o for o in result.fit["options"]}
    assert result.fit["capacity_bytes"] == NANO4_USABLE
    assert options["fp16"]["fits"] is False and options["int4"]["fits"] is True
    assert options["fp16"]["required_bytes"] == 3_441_136_010 + 114_688 * 4096
    assert not result.refused and result.fit["precision"] == "q8_0"  # the most precise format that fits
    llm = next(f for f in result.findings if f.code == "TRT-LLM")
    assert "qwen3, 1.72 B parameters" in llm.message and "llama.cpp (CUDA) or MLC LLM" in llm.message
    assert "LLM: serve with llama.cpp (CUDA) or MLC LLM" in result.sections["tensorrt"]["lines"][-1]


def test_a_gguf_file_is_priced_in_its_own_format_first(qwen_like):
    gguf = SimpleNamespace(**{**vars(qwen_like), "file_format": "Q4_K_M", "file_weight_format": "q4_k_m",
                              "file_weight_bytes": 1_120_000_000})
    result = TARGET.analyze(_target_input(_opless("gguf"), load_device("jetson-orin-nano-4gb"), gguf))
    assert [(o["precision"], o["weight_bytes"]) for o in result.fit["options"]] == [("q4_k_m", 1_120_000_000)]
    assert result.fit["fits"] and not result.refused and result.ops == []
    assert "GGUF" in next(f for f in result.findings if f.code == "TRT-LLM").message
    assert result.sections["tensorrt"]["command"] is None  # no trtexec for a llama.cpp file


def test_a_long_context_can_push_an_llm_out_of_memory(qwen_like):
    result = TARGET.analyze(_target_input(_opless("onnx"), load_device("jetson-orin-nano-4gb"), qwen_like,
                                          context=40_960))
    assert result.refused and any(f.code == "TRT-MEMORY-EXCEEDED" for f in result.findings)


@needs_corpus
def test_qwen3_compare_over_the_jetsons_shows_the_fit():
    """1.7B in fp16 (~3.4 GB of weights + 0.47 GB of KV at 4,096 tokens) cannot fit a 4 GB Orin Nano; int4 can."""
    rows = {}
    for size in ("0.6b", "1.7b"):
        comparison = compare(QWEN / f"qwen3-{size}.onnx", devices=JETSONS)
        rows[size] = {r.device: r for r in comparison.rows}
    for size, by_device in rows.items():
        for device, row in by_device.items():
            assert row.verdict == "full" and row.fits_memory, (size, device, row.reasons)
            assert row.report.llm["arch"] == "qwen3"
    nano = {o["precision"]: o for o in rows["1.7b"]["jetson-orin-nano-4gb"].report.fit["options"]}
    assert nano["fp16"]["fits"] is False and nano["int4"]["fits"] is True
    assert nano["fp16"]["kv_cache_bytes"] == 114_688 * 4096
    assert rows["1.7b"]["jetson-orin-nano-4gb"].precision == "q8_0"
    assert rows["1.7b"]["jetson-orin-nano-8gb"].precision == "fp16"
    assert rows["0.6b"]["jetson-orin-nano-4gb"].precision == "fp16"
    assert rows["1.7b"]["jetson-agx-orin-64gb"].memory_capacity_bytes == int(64 * GIB * 0.9) - GIB


@needs_corpus
def test_qwen3_on_dla_falls_back_to_the_gpu_for_transformer_layers():
    report = edgefit.analyze(QWEN / "qwen3-0.6b.onnx", device="jetson-agx-orin-64gb:dla", input_shapes={"seq": 128})
    assert report.verdict == "partial" and report.accelerator_subgraphs == 16
    dla = report.sections["dla"]
    assert dla["candidate_subgraphs"] > 16 and dla["gpu_fallback_types"]["ReduceMean"] == 113


# -- the operator-matrix sweep ---------------------------------------------------------------------------------

def _single_op_models(ops: dict) -> list[tuple[str, onnx.ModelProto]]:
    """ONNX's own test models (node tests, and the 'simple' sequence models), and for listed ops that have none a
    single-op model made here."""
    from onnx.backend.test.loader import load_model_tests

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = load_model_tests(kind="node") + load_model_tests(kind="simple")
    models = []
    for case in cases:
        model = case.model if case.model is not None else onnx.load(Path(case.model_dir) / "model.onnx")
        if {n.op_type for n in model.graph.node if n.domain in ("", "ai.onnx")} & set(ops):
            models.append((case.name, model))
    covered = {n.op_type for _, m in models for n in m.graph.node}
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    for op in sorted(set(ops) - covered):
        node = helper.make_node(op, ["x"], ["y"], **({"shape": [2, 2]} if op.startswith("Random") else {}))
        g = helper.make_graph([node], op, [x], [y])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        models.append((f"made_{op}", m))
    return models


@pytest.mark.skipif(not REFERENCE.is_file(), reason="shared reference (../shared) not present")
def test_every_listed_op_is_unsupported_on_jetson_exactly_when_the_matrix_says_so(tmp_path):
    ops = yaml.safe_load(REFERENCE.read_text())["operators"]
    spec = resolve_device("jetson-orin-nano-8gb")
    verdicts: dict[str, set[bool]] = defaultdict(set)
    wrong = []
    for name, model in _single_op_models(ops):
        path = tmp_path / f"{name}.onnx"
        onnx.save(model, path)
        try:
            report = Analysis(path).report(spec)
        except EdgefitError:
            continue
        for op in report.ops:
            if op.type in ops:
                flagged = "TRT-OP-UNSUPPORTED" in op.findings
                verdicts[op.type].add(flagged)
                if flagged == ops[op.type]["supported"]:
                    wrong.append(f"{name}: {op.type} {'flagged' if flagged else 'not flagged'}")
    assert not wrong, wrong[:20]
    assert set(verdicts) == set(ops), sorted(set(ops) - set(verdicts))  # every listed op was seen at least once
    assert sum(not v["supported"] for v in ops.values()) == 46 and len(ops) == 196


# -- the CLI -------------------------------------------------------------------------------------------------

def test_cli_analyze_with_the_dla_variant_and_its_errors(tmp_path):
    path = cnn(tmp_path, ("Conv", "Exp", "Conv"))
    r = run_edgefit("analyze", path, "--device", "jetson-agx-orin-64gb:dla", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["device"]["id"] == "jetson-agx-orin-64gb:dla" and data["device"]["host"] == DLA_HOST
    assert data["dla"]["subgraphs"] == 2 and data["tensorrt"]["command"].startswith("trtexec --onnx=")
    nano = run_edgefit("analyze", path, "--device", "orin-nano:dla")
    assert nano.returncode == 2 and "Orin Nano has no DLA" in nano.stderr and "Traceback" not in nano.stderr
    text = run_edgefit("analyze", path, "--device", "agx-orin:dla")
    assert text.returncode == 0 and "DLA placement" in text.stdout and "GPU (TensorRT, GPU fallback)" in text.stdout
    explain = run_edgefit("explain", "TRT-OP-UNSUPPORTED")
    assert explain.returncode == 0 and "Unique" in explain.stdout
