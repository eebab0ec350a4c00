"""edgefit compare: one row per device from that device's own Report, ranked, in every output format."""

from __future__ import annotations

import json

import pytest
from conftest import CORPUS, SAMPLES, needs_corpus, run_edgefit

import edgefit
from edgefit.compare import CompareRow, catalog_devices, compare, row_of
from edgefit.errors import SpecError

ONNX = SAMPLES / "tiny_cnn.onnx"
TFLITE = SAMPLES / "tiny_cnn_int8.tflite"


def test_rows_are_digests_of_the_device_reports():
    devices = [s.id for s in catalog_devices()]
    comparison = compare(ONNX)
    assert sorted(r.device for r in comparison.rows) == sorted(devices)
    for row in comparison.rows:
        report = edgefit.analyze(ONNX, device=row.device)
        assert row.to_dict() == row_of(report).to_dict()
        assert row.verdict == report.verdict and row.fits_memory == report.fit["fits"]
        assert row.reasons, f"{row.device}: a row always says why"


def test_best_realistic_choice_first():
    rows = compare(TFLITE).rows
    keys = [r.sort_key() for r in rows]
    assert keys == sorted(keys)
    verdict_rank = {"full": 0, "partial": 1, "cpu_only": 2, "rejected": 3}
    assert [verdict_rank[r.verdict] for r in rows] == sorted(verdict_rank[r.verdict] for r in rows)


def test_ranking_prefers_a_fit_and_accelerated_macs():
    base = row_of(edgefit.analyze(TFLITE, device="coral"))

    def variant(**kw):
        d = {k: getattr(base, k) for k in CompareRow.__dataclass_fields__}
        d.update(kw)
        return CompareRow(**d)

    fits, unknown, miss = variant(fits_memory=True), variant(fits_memory=None), variant(fits_memory=False)
    assert sorted([miss, unknown, fits], key=CompareRow.sort_key) == [fits, unknown, miss]
    more, less = variant(accelerated_mac_share=0.9, device="b"), variant(accelerated_mac_share=0.5, device="a")
    assert sorted([less, more], key=CompareRow.sort_key) == [more, less]
    assert sorted([variant(verdict="rejected"), variant(verdict="partial")], key=CompareRow.sort_key)[0].verdict \
        == "partial"


def test_subset_overrides_and_bad_device():
    comparison = compare(TFLITE, devices=["coral", "coral-pcie"], overrides={"memory.param_cache_bytes": 100})
    assert [r.device for r in comparison.rows] == ["coral-pcie", "coral-usb"] or \
        {r.device for r in comparison.rows} == {"coral-pcie", "coral-usb"}
    assert all(r.memory_capacity_bytes == 100 and r.fits_memory is False for r in comparison.rows)
    with pytest.raises(SpecError, match="unknown device"):
        compare(TFLITE, devices=["coral", "no-such-device"])


def test_json_layout_is_documented_and_deterministic():
    d = compare(TFLITE).to_dict()
    assert set(d) == {"schema_version", "model", "rows"}
    assert set(d["model"]) >= {"path", "format", "op_count", "param_count", "llm", "context"}
    documented = {"device", "name", "verdict", "accelerated_op_share", "accelerated_mac_share", "partitions",
                  "weight_bytes", "memory_capacity_bytes", "memory_capacity", "fits_memory", "precision",
                  "reasons", "accelerator"}
    assert all(set(r) == documented for r in d["rows"])
    doc = (SAMPLES.parent / "docs" / "compare-json.md").read_text()
    assert all(f"`rows[].{k}" in doc or f", `{k}`" in doc or f"`{k}`" in doc for k in documented)
    assert compare(TFLITE).to_json() == compare(TFLITE).to_json()


def test_cli_formats_and_errors():
    r = run_edgefit("compare", TFLITE, "--devices", "coral,coral-pcie", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == compare(TFLITE, devices=["coral", "coral-pcie"]).to_dict()
    r = run_edgefit("compare", TFLITE, "--devices", "coral", "--format", "markdown")
    assert r.returncode == 0 and r.stdout.startswith("**edgefit compare**") and "| coral-usb | partial |" in r.stdout
    r = run_edgefit("compare", TFLITE, "--devices", "coral")
    assert r.returncode == 0 and "coral-usb" in r.stdout and "partial" in r.stdout
    for args in (["--devices", "nope"], ["--devices", ","], ["--context", "0"]):
        r = run_edgefit("compare", TFLITE, *args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, (args, r.stderr)


@needs_corpus
@pytest.mark.parametrize("name", ["qwen3-0.6b.onnx", "qwen3-1.7b.onnx"])
def test_qwen3_every_catalog_device_has_a_row_with_reasons(name):
    comparison = compare(CORPUS / "qwen3" / name)
    assert {r.device for r in comparison.rows} == {s.id for s in catalog_devices()}
    assert comparison.model["llm"] is not None
    for row in comparison.rows:
        assert row.reasons and row.weight_bytes


def test_gguf_file_gets_a_row_per_device_from_its_metadata(tmp_path):
    """A GGUF file has no op graph: devices with an LLM runtime run it whole, Coral refuses it, and the
    weights are priced at the file's own precision where the device's runtime reads it."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "read"))
    from test_gguf import write_gguf  # the same GGUF writer the reader is tested with

    path = write_gguf(tmp_path / "tiny-q8_0.gguf")
    comparison = compare(path)
    assert comparison.model["format"] == "gguf" and comparison.model["llm"]["file_format"] == "Q8_0"
    by_device = {r.device: r for r in comparison.rows}
    assert by_device["coral-usb"].verdict == "rejected"
    assert any(r.startswith("CORAL-NO-GRAPH") for r in by_device["coral-usb"].reasons)
    assert by_device["rpi5"].verdict == "full" and by_device["rpi5"].fits_memory is True
