"""Real third-party ONNX models (../shared/corpus/wheels/) analysed for Coral once their inputs are fixed with
``--input-shape``: no false rejection from shapes the converter would know (skipped without the corpus)."""

from __future__ import annotations

from pathlib import Path

import pytest

import edgefit

WHEELS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "wheels"
pytestmark = pytest.mark.skipif(not WHEELS.is_dir(), reason="shared corpus (../shared/corpus/wheels) not present")

SHAPE_CODES = {"CORAL-STATIC-SHAPE", "LOWER-DYNAMIC-SHAPE"}


def analyze(rel: str, shapes: dict):
    report = edgefit.analyze(WHEELS / rel, "coral-usb", input_shapes=shapes)
    codes = {f["code"] for f in report.findings}
    return report, codes


def test_silero_vad_sequence_model_maps_once_the_sequence_is_fixed():
    """The STFT's reflect-pad amounts are computed (Reshape -> Slice -> Transpose -> Reshape of constants): folded,
    every shape is static and the convolutions map; the LSTM and the float SQRT stay on the CPU."""
    report, codes = analyze("silero_vad-6.2.3/silero_vad_16k_sequence.onnx", {"input": [1, 576]})
    assert not codes & SHAPE_CODES
    assert report.verdict == "partial"


def test_silero_vad_if_model_is_not_rejected_once_batch_is_fixed():
    """The model body sits in an If on the sampling rate (a run-time input, so the IF stays); the If outputs are
    declared with the inputs' "batch" symbol, which fixing ``input`` must fix inside the bodies too."""
    report, codes = analyze("silero_vad-6.2.3/silero_vad_op18_ifless.onnx", {"input": [1, 512]})
    assert not codes & SHAPE_CODES
    assert report.verdict != "rejected"


@pytest.mark.parametrize("rel, shape", [
    ("rapidocr_onnxruntime-1.4.4/ch_ppocr_mobile_v2.0_cls_infer.onnx", [1, 3, 48, 192]),  # input dims [-1, 3, ?, ?]
    ("rapidocr_onnxruntime-1.4.4/ch_PP-OCRv4_rec_infer.onnx", [1, 3, 48, 320]),
    ("rapidocr_onnxruntime-1.4.4/ch_PP-OCRv4_det_infer.onnx", [1, 3, 320, 320]),
])
def test_pp_ocr_models_have_static_shapes_once_the_input_is_fixed(rel, shape):
    """Paddle exports write dim_value -1 for the batch: a dynamic dim --input-shape fixes, not a static -1. What is
    left at model level is the RELU_0_TO_1 (HardSigmoid as max(0, min(1, .)) builtin code 152) the 16.0 compiler
    cannot read; no shape finding."""
    report, codes = analyze(rel, {"x": shape})
    assert not codes & SHAPE_CODES
    model_level = {f["code"] for f in report.findings if f["severity"] == "error" and not f.get("op")}
    assert model_level <= {"CORAL-BUILTIN-CODE"}, model_level
