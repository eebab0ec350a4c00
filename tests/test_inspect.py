"""`edgefit inspect`: counts checked against independent counts made directly with onnx / the flatbuffer API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import onnx
import pytest
from conftest import CORPUS, SAMPLES, needs_corpus, run_edgefit

from edgefit.inspect import inspect_model

ONNX_LIGHT = sorted((Path(onnx.__file__).parent / "backend" / "test" / "data" / "light").glob("*.onnx"))


def onnx_truth(path: Path) -> tuple[int, Counter]:
    m = onnx.load(str(path), load_external_data=False)
    return len(m.graph.node), Counter(n.op_type for n in m.graph.node)


def tflite_truth(path: Path) -> tuple[int, Counter]:
    """Ops over all subgraphs except control-flow bodies, straight from the flatbuffer."""
    from tflite.BuiltinOperator import BuiltinOperator
    from tflite.Model import Model

    names = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
    fb = Model.GetRootAs(path.read_bytes(), 0)
    codes = []
    for i in range(fb.OperatorCodesLength()):
        oc = fb.OperatorCodes(i)
        name = names[max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())]
        codes.append(f"CUSTOM:{oc.CustomCode().decode()}" if name == "CUSTOM" else name)
    bodies = set()
    for k in range(fb.SubgraphsLength()):
        sg = fb.Subgraphs(k)
        for j in range(sg.OperatorsLength()):
            op = sg.Operators(j)
            if codes[op.OpcodeIndex()] in ("WHILE", "IF", "CALL_ONCE"):
                raise NotImplementedError("corpus has no control flow; extend this count when it does")
    hist = Counter()
    for k in range(fb.SubgraphsLength()):
        if k in bodies:
            continue
        sg = fb.Subgraphs(k)
        for j in range(sg.OperatorsLength()):
            hist[codes[sg.Operators(j).OpcodeIndex()]] += 1
    return sum(hist.values()), hist


def check_counts(path: Path) -> None:
    d = inspect_model(path).to_dict()
    count, hist = onnx_truth(path) if path.suffix == ".onnx" else tflite_truth(path)
    assert d["node_count"] == count, path
    assert d["op_histogram"] == dict(hist), path


@pytest.mark.parametrize("path", ONNX_LIGHT, ids=lambda p: p.stem)
def test_onnx_light_models_match_independent_count(path):
    check_counts(path)


@needs_corpus
def test_corpus_models_match_independent_count():
    paths = sorted(CORPUS.rglob("*.onnx")) + sorted(CORPUS.rglob("*.tflite"))
    assert len(paths) > 100
    for p in paths:
        check_counts(p)


def test_onnx_node_tests_all_load(tmp_path):
    """~1,400 single-op models from the onnx wheel: none may crash the reader or the summary."""
    from onnx.backend.test.loader import load_model_tests

    cases = load_model_tests(kind="node")
    assert len(cases) > 1000
    for case in cases:
        if case.model_dir is not None:
            path = Path(case.model_dir) / "model.onnx"
        else:  # built in memory by the loader
            path = tmp_path / f"{case.name}.onnx"
            onnx.save(case.model, path)
        d = inspect_model(path).to_dict()
        assert d["node_count"] == onnx_truth(path)[0], path


def test_sample_models_json(tmp_path):
    for path in (SAMPLES / "tiny_cnn_int8.tflite", SAMPLES / "tiny_cnn.onnx"):
        r = run_edgefit("inspect", path, "--format", "json")
        assert r.returncode == 0, r.stderr
        d = json.loads(r.stdout)
        for key in ("format", "node_count", "op_histogram", "param_count", "param_bytes", "inputs", "outputs",
                    "dynamic_dims"):
            assert key in d
        assert d["macs"]["total"] == 8 * 16 * 16 * (27 + 9) + 8 * 10  # conv, depthwise, fully connected
    tfl = json.loads(run_edgefit("inspect", SAMPLES / "tiny_cnn_int8.tflite", "--format", "json").stdout)
    assert tfl["format"] == "tflite" and tfl["op_versions"]["CONV_2D"] == [3]
    assert tfl["params_by_dtype"]["int8"] == {"count": 8 * 27 + 9 * 8 + 80, "bytes": 368}
    assert tfl["inputs"] == [{"name": "input", "shape": [1, 32, 32, 3], "dtype": "float32"}]


def test_symbolic_macs_and_dynamic_dims():
    d = inspect_model(SAMPLES / "tiny_decoder.onnx").to_dict()
    # q, k, v, o projections (32x32) and the 32x256 head per token; QK^T and PV are seq x seq x 32.
    assert d["macs"]["terms"] == [{"coefficient": 4 * 32 * 32 + 32 * 256, "dims": ["seq"]},
                                  {"coefficient": 2 * 32, "dims": ["seq", "seq"]}]
    assert d["dynamic_dims"][0] == {"dim": "seq", "origin": "input", "declared_by": [{"tensor": "input_ids", "axis": 1}]}


def test_text_output_mentions_the_essentials():
    r = run_edgefit("inspect", SAMPLES / "tiny_decoder.onnx")
    assert r.returncode == 0, r.stderr
    for words in ("19 ops", "MatMul", "seq: from input_ids[1]", "20,516 parameters"):
        assert words in r.stdout


AUDIT = """
import sys, json
opened = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)) and str(args[0]).endswith(".data"):
        opened.append(str(args[0]))
sys.addaudithook(hook)
from edgefit.inspect import inspect_model
d = inspect_model(sys.argv[1]).to_dict()
print(json.dumps({"opened": opened, "node_count": d["node_count"], "param_count": d["param_count"],
                  "external": d["external_data"]}))
"""


@needs_corpus
def test_qwen3_without_its_weights_file(tmp_path):
    model = tmp_path / "qwen3-0.6b.onnx"
    shutil.copy(CORPUS / "qwen3" / "qwen3-0.6b.onnx", model)
    # A decoy data file: inspect must not open it even when it exists.
    (tmp_path / "qwen3-0.6b.onnx.data").write_bytes(b"")
    r = subprocess.run([sys.executable, "-c", AUDIT, str(model)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["opened"] == []
    assert out["node_count"] == 2417
    assert abs(out["param_count"] - 596_000_000) / 596_000_000 < 0.005
    os.remove(tmp_path / "qwen3-0.6b.onnx.data")
    d = inspect_model(model).to_dict()
    assert d["external_data"][0]["present"] is False and d["external_data"][0]["bytes"] == 2_383_942_144
    assert d["dynamic_dims"][0]["dim"] == "seq"
