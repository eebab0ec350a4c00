"""Stage 1, read: a model file on disk -> ``edgefit.graph.Model``.

The format is chosen by extension and confirmed by the file's first bytes, so a renamed file is caught
with a message that says what it really is instead of a decoder error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from edgefit.errors import ModelFileError, UnsupportedFormatError, UsageError
from edgefit.graph import Model

#: Constants up to this size get their values read (shape vectors, axes, pads, quantization scales); weights
#: never. Both readers use it, so rules see the same small constants whatever the source format.
SMALL_CONSTANT_BYTES = 4096

ONNX_EXTENSIONS = (".onnx",)
TFLITE_EXTENSIONS = (".tflite", ".lite")
GGUF_EXTENSIONS = (".gguf",)

#: Formats people often try, with the way to a file edgefit reads.
_HINTS = {
    ".pb": "a TensorFlow GraphDef/SavedModel; convert it with tf2onnx or the TFLite converter first",
    ".h5": "a Keras model; convert it with the TFLite converter (tf.lite.TFLiteConverter) or tf2onnx first",
    ".keras": "a Keras model; convert it with the TFLite converter (tf.lite.TFLiteConverter) or tf2onnx first",
    ".pt": "a PyTorch checkpoint; export it with torch.onnx.export first",
    ".pth": "a PyTorch checkpoint; export it with torch.onnx.export first",
    ".ort": "an ONNX Runtime (ORT format) model; pass the original .onnx file",
    ".hef": "a compiled Hailo binary; pass the ONNX/TFLite model it was compiled from",
    ".engine": "a serialized TensorRT engine; pass the ONNX model it was built from",
    ".plan": "a serialized TensorRT engine; pass the ONNX model it was built from",
    ".mlmodel": "a Core ML model; pass the ONNX/TFLite model it was converted from",
}


def _looks_like(head: bytes) -> str | None:
    """Best guess of a file's format from its first bytes."""
    if head[:4] == b"GGUF":
        return "gguf"
    if len(head) >= 8 and head[4:8] == b"TFL3":
        return "tflite"
    if len(head) >= 8 and head[4:8] == b"ORTM":
        return "ort"
    # A serialized ModelProto nearly always starts with ir_version (field 1, varint: 0x08) followed by a
    # small version number.
    if len(head) >= 2 and head[0] == 0x08 and 0 < head[1] < 0x20:
        return "onnx"
    return None


def read_model(path: str | os.PathLike[str], input_shapes: dict[str, Any] | None = None) -> Model:
    """Read an ONNX, TFLite or GGUF model without loading external weight data (GGUF: the header only).

    ``input_shapes`` fixes dynamic input dims: ``{"input_ids": [1, 128]}`` or ``{"seq": 128}`` (ONNX only;
    a TFLite model's shapes are fixed when it is converted).
    """
    p = Path(path)
    if not p.exists():
        raise ModelFileError("no such file", p)
    if not p.is_file():
        raise ModelFileError("not a regular file", p)
    try:
        with open(p, "rb") as f:
            head = f.read(16)
    except OSError as e:
        raise ModelFileError(f"cannot read: {e.strerror}", p) from None
    if not head:
        raise ModelFileError("file is empty (0 bytes)", p)

    ext = p.suffix.lower()
    guess = _looks_like(head)
    if ext in GGUF_EXTENSIONS:
        if input_shapes:
            raise UsageError("--input-shape applies to ONNX models; a GGUF file has no input shapes to fix", p)
        from edgefit.read.gguf import read_gguf
        return read_gguf(p)
    if guess == "gguf":
        raise UnsupportedFormatError(f"has extension {ext or '(none)'} but its bytes are a GGUF file (magic "
                                     "'GGUF'); rename it to .gguf", p)
    if ext in ONNX_EXTENSIONS:
        if guess == "tflite":
            raise UnsupportedFormatError("has extension .onnx but its bytes are a TFLite flatbuffer "
                                         "(identifier 'TFL3'); rename it to .tflite", p)
        from edgefit.read.onnx import read_onnx
        return read_onnx(p, input_shapes)
    if ext in TFLITE_EXTENSIONS:
        if guess == "onnx":
            raise UnsupportedFormatError(f"has extension {ext} but its bytes look like an ONNX protobuf; "
                                         "rename it to .onnx", p)
        if input_shapes:
            raise UsageError("--input-shape applies to ONNX models; a TFLite model's shapes are fixed at "
                             "conversion (convert it again with a static input shape)", p)
        from edgefit.read.tflite import read_tflite
        return read_tflite(p)

    what = {"tflite": "; its bytes are a TFLite flatbuffer, rename it to .tflite",
            "onnx": "; its bytes look like an ONNX protobuf, rename it to .onnx"}.get(guess or "", "")
    hint = f" ({_HINTS[ext]})" if ext in _HINTS else ""
    raise UnsupportedFormatError(f"unsupported model format {ext or '(no extension)'!r}{hint}: edgefit reads "
                                 f".onnx, .tflite and .gguf files{what}", p)


def parse_dims(value: Any, what: str) -> list[int]:
    """``128``, ``[1, 128]`` or ``"1x128"`` -> a list of dims; ``what`` names the option in the error."""
    try:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, int):
            return [value]
        if isinstance(value, str):
            return [int(d) for d in value.lower().replace(",", "x").split("x")]
        return [int(d) for d in value]
    except (ValueError, TypeError):
        raise UsageError(f"{what}: {value!r} is not a shape (examples: 128, 1x128, [1, 128])") from None


def parse_input_shape_option(text: str) -> tuple[str, list[int]]:
    """``--input-shape input_ids=1x128`` / ``seq=128`` -> (name, dims)."""
    name, sep, dims = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"--input-shape {text!r}: expected NAME=DIMS such as input_ids=1x128 or seq=128")
    return name.strip(), parse_dims(dims, f"--input-shape {name.strip()}")
