"""TPU rules: generated docs stay current, messages are filled, and every ONNX node test model analyses on the
TPU target without a crash (the op rules see every op type and dtype ONNX has)."""

from __future__ import annotations

import os

import onnx

import edgefit
from edgefit.errors import EdgefitError
from edgefit.rules import all_rules
from edgefit.rules.tpu import DOCS_PATH, SEQUENCE_OPS, generate_docs, tpu_rules


def test_docs_are_generated_from_rules_and_specs():
    assert DOCS_PATH.read_text() == generate_docs(), "regenerate with python -c 'from edgefit.rules.tpu import " \
                                                      "write_docs; write_docs()'"
    assert "`tpu-v5e`" in generate_docs() and "datacenter" in generate_docs()


def test_rules_are_registered_with_filled_messages():
    assert [r.code for r in all_rules("TPU-")] == [r.code for r in tpu_rules()]
    assert all("{" not in r.doc for r in tpu_rules())
    op_rules = {r.code for r in tpu_rules() if r.scope == "op"}
    assert op_rules == {"TPU-STRING", "TPU-SEQUENCE", "TPU-CUSTOM-OP"}
    assert SEQUENCE_OPS <= {s.name for s in onnx.defs.get_all_schemas()}  # spelled as ONNX spells them


def test_every_onnx_node_test_model_analyzes_on_the_tpu(tmp_path):
    from onnx.backend.test.loader import load_model_tests

    strings = placed_on_host = 0
    for case in load_model_tests(kind="node"):
        path = os.path.join(case.model_dir, "model.onnx") if case.model_dir else tmp_path / f"{case.name}.onnx"
        if not case.model_dir:
            onnx.save(case.model, path)
        try:
            report = edgefit.analyze(path, device="tpu-v5e")
        except EdgefitError:
            continue
        assert report.findings, case.name  # never an empty "everything is fine"
        strings += any(f["code"] == "TPU-STRING" for f in report.findings)
        placed_on_host += any(o.placement == "cpu" for o in report.ops)
    # string ops exist among the node tests (StringNormalizer, RegexFullMatch, ...) and are the only host ops
    assert strings > 0 and placed_on_host == strings
