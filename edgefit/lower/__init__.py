"""Stage 2, lower: a model's graph -> ops in the dialect a device toolchain consumes.

The Coral Edge TPU compiler reads TFLite, so its rules are written against the TFLite builtin dialect. A TFLite
model already is in that dialect (lowering is the identity); an ONNX model is first lowered the way a standard
converter (onnx2tf, or ONNX/PyTorch -> TensorFlow -> TFLiteConverter with full-integer post-training
quantization) would emit it. See ``docs/lowering.md`` for what is lowered to what.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgefit.graph import Model, OpGraph

#: Dialects edgefit can lower to, by source format.
SUPPORTED = {("tflite", "tflite"), ("onnx", "tflite")}


#: Lowering note codes -> (severity of the finding it becomes, what it means). Also read by `edgefit explain`.
NOTE_CODES: dict[str, tuple[str, str]] = {
    "LOWER-ASSUMED-INT8": ("info", "The model is float. It is analysed as if fully int8 post-training quantized "
                                   "(int8 activations and I/O, per-channel int8 weights, int32 biases), which is "
                                   "what the device needs; quantize it yourself to check accuracy."),
    "LOWER-NO-TFLITE-BUILTIN": ("warning", "This ONNX op has no TFLite builtin: a converter emits it as a "
                                           "TensorFlow select (Flex) op, shown as FLEX:<OnnxType>, which runs on "
                                           "the CPU, or fails without SELECT_TF_OPS."),
    "LOWER-CUSTOM-OP": ("warning", "An op from a non-standard domain or a model-local function: it becomes a "
                                   "TFLite custom op, shown as CUSTOM:<OnnxType>, which runs on the CPU."),
    "LOWER-TF2ONNX-PASSTHROUGH": ("info", "A tf2onnx TFL_<BUILTIN> pass-through node, mapped back to the TFLite "
                                          "builtin it stands for."),
    "LOWER-FLOAT-FALLBACK": ("warning", "The TFLite quantizer keeps this op in float inside the int8 model, "
                                        "between a DEQUANTIZE and a QUANTIZE."),
    "LOWER-DYNAMIC-SHAPE": ("warning", "Shapes needed to lower this op exactly are dynamic; the lowered op is the "
                                       "one a converter emits but its operands are approximate. Fix the input "
                                       "shapes (--input-shape) for an exact lowering."),
    "LOWER-CONTROL-FLOW": ("info", "ONNX control flow lowered to TFLite IF/WHILE with lowered bodies."),
    "LOWER-FAILED": ("warning", "edgefit could not lower this op; it is kept as FLEX:<OnnxType> so the rest of "
                                "the graph still lowers. Please report it."),
}


@dataclass(frozen=True, slots=True)
class LoweringNote:
    """Something the lowering could not express exactly; the caller turns it into a finding.

    ``code`` is ``LOWER-<WHAT>`` (see ``docs/lowering.md``), ``source_node`` the source-model node it concerns
    (``None`` for notes about the whole model).
    """

    code: str
    message: str
    source_node: str | None = None

    @property
    def severity(self) -> str:
        return NOTE_CODES.get(self.code, ("warning", ""))[0]

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "source_node": self.source_node}


@dataclass
class LoweredGraph:
    """A model's computation in a target dialect: the entry graph, control-flow bodies, and lowering notes."""

    dialect: str
    source_format: str
    #: Entry graph first, then the control-flow bodies its ops refer to (``Op.bodies``).
    graphs: list[OpGraph]
    notes: list[LoweringNote] = field(default_factory=list)
    #: True when a float model was lowered as if it were full-integer int8 post-training quantized.
    assumed_int8: bool = False

    @property
    def graph(self) -> OpGraph:
        return self.graphs[0]


def lower(model: Model, dialect: str) -> LoweredGraph:
    """Lower ``model`` into ``dialect``: ``"tflite"``, or the model's own format (the identity)."""
    if not any(len(g) for g in model.graphs):  # an op-less model (GGUF metadata only): nothing to lower
        return LoweredGraph(dialect=dialect, source_format=model.format, graphs=list(model.graphs))
    if model.format == dialect:  # any format: runtimes that read the model as it is (CPU runtimes, XLA)
        return _identity(model, dialect)
    if (model.format, dialect) not in SUPPORTED:
        pairs = ", ".join(f"{src} -> {dst}" for src, dst in sorted(SUPPORTED))
        raise ValueError(f"cannot lower a {model.format} model to {dialect!r}; supported: {pairs}")
    from edgefit.lower.onnx_to_tflite import lower_onnx_to_tflite

    return lower_onnx_to_tflite(model)


def _identity(model: Model, dialect: str) -> LoweredGraph:
    """The model already speaks the dialect: every op stands for itself."""
    for graph in model.graphs:
        for _, op in graph.walk():
            if not op.source_nodes:
                op.source_nodes = (op.name,)
    return LoweredGraph(dialect=dialect, source_format=model.format, graphs=list(model.graphs))
