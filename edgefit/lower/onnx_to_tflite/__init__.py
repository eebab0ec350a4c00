"""Lower an ONNX graph into the TFLite builtin dialect, the way a converter would emit it.

The result is what onnx2tf (or ONNX -> TensorFlow -> ``TFLiteConverter`` with full-integer post-training
quantization) produces for the same network, so the Coral rules written against TFLite apply unchanged:

* Ops get TFLite builtin types and option attributes named as ``edgefit.read.tflite`` names them.
* 4-D (and 3-D/5-D) activations of channel-first ops are NHWC. Layout is tracked lazily: every lowered tensor
  remembers which ONNX axis each of its axes holds (``_Val.perm``); ONNX ``Transpose`` only changes that record, and
  a real ``TRANSPOSE`` is emitted only where a consumer needs an order the tensor does not have. The layout
  Transposes a converter removes therefore never appear.
* Constant-only subgraphs are folded (with ``onnx.reference`` where values are needed), ``Identity``/``Dropout``
  disappear, ``QuantizeLinear``/``DequantizeLinear`` pairs fold into int8 ops.
* Converter peepholes run on the lowered graph: activations fuse into their producer, ``Sqrt``+``Reciprocal``
  becomes ``RSQRT``, ``(a-b)*(a-b)`` becomes ``SQUARED_DIFFERENCE``, the Erf/Tanh GELU patterns become ``GELU``,
  per-channel constant ``Add``/``Mul`` after a convolution fold into its bias and weights.
* A float model is lowered as if fully int8 post-training quantized (int8 I/O and activations, int8 per-channel
  weights, int32 biases; scales unknown, so NaN). Ops the TFLite quantizer cannot quantize stay float between
  ``DEQUANTIZE``/``QUANTIZE``, as in a real converted file.
* An ONNX op with no TFLite builtin becomes ``FLEX:<OnnxType>`` (domain ``flex``: a converter needs a Select-TF op
  or fails); an op from a non-standard domain becomes ``CUSTOM:<OnnxType>`` (domain ``custom``). Each such op, and
  anything else the lowering cannot express exactly, gets a ``LoweringNote``.

The package: ``core`` holds the lowering of one graph (``_GraphLowering``), the shapes ONNX shape inference could
not give and the handler registry; ``facts`` and ``layout`` the note codes, TFLite facts and layout helpers it is
written against. One module per op family registers its handlers (``elementwise``, ``activations``, ``conv``,
``reductions``, ``shape_ops``, ``norms``, ``matmul``, ``quantization_ops``, ``recurrent``, ``msft``);
``peepholes`` and ``quantize`` are the passes run on the lowered graph. This module holds the entry point and
imports every handler module, so the registry is complete once the package is imported.
"""

from __future__ import annotations

from edgefit.graph import Model, OpGraph
from edgefit.lower import LoweredGraph, LoweringNote
from edgefit.lower.onnx_to_tflite.core import _GraphLowering
from edgefit.lower.onnx_to_tflite.facts import ASSUMED_INT8
from edgefit.lower.onnx_to_tflite.layout import _CHANNEL_FIRST_OPS, Perm, _channel_last
from edgefit.lower.onnx_to_tflite.quantize import _is_real

# Importing a handler module registers its handlers (``_handles``), so every one is imported here, in the order the
# single-module lowering defined them.
from edgefit.lower.onnx_to_tflite import elementwise  # noqa: F401
from edgefit.lower.onnx_to_tflite import activations  # noqa: F401
from edgefit.lower.onnx_to_tflite import conv  # noqa: F401
from edgefit.lower.onnx_to_tflite import reductions  # noqa: F401
from edgefit.lower.onnx_to_tflite import shape_ops  # noqa: F401
from edgefit.lower.onnx_to_tflite import norms  # noqa: F401
from edgefit.lower.onnx_to_tflite import matmul  # noqa: F401
from edgefit.lower.onnx_to_tflite import quantization_ops  # noqa: F401
from edgefit.lower.onnx_to_tflite import recurrent  # noqa: F401
from edgefit.lower.onnx_to_tflite import msft  # noqa: F401

# Re-exported: the note codes, the registry, and the layout helpers tests use.
from edgefit.lower.onnx_to_tflite.core import _HANDLERS, _MS_HANDLERS  # noqa: F401
from edgefit.lower.onnx_to_tflite.facts import (  # noqa: F401
    CONTROL_FLOW, CUSTOM_DOMAIN, DYNAMIC_SHAPE, FLOAT_FALLBACK, LOWERING_FAILED, NO_BUILTIN, TF2ONNX_PASSTHROUGH
)
from edgefit.lower.onnx_to_tflite.layout import _inverse  # noqa: F401

# -- finishing a graph ------------------------------------------------------------------------------------------------

def _unify_versions(graphs: list[OpGraph]) -> None:
    """A TFLite file has one operator code per builtin, at the highest version any of its ops needs."""
    highest: dict[str, int] = {}
    for graph in graphs:
        for op in graph.ops:
            highest[op.type] = max(highest.get(op.type, 1), op.version or 1)
    for graph in graphs:
        for op in graph.ops:
            op.version = highest[op.type]


_LAYOUT_NEUTRAL_OPS = frozenset({"DequantizeLinear", "QuantizeLinear", "Cast", "Identity", "Relu", "Clip",
                                 "LeakyRelu", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "Add", "Sub", "Mul",
                                 "Div", "Neg", "Abs", "Exp", "Pad", "PRelu", "Elu"})


def _input_layouts(graph: OpGraph) -> dict[str, Perm]:
    """Channel-last for the inputs that feed channel-first ops (Conv, pools, ...) through layout-neutral ops, as
    onnx2tf gives a converted model NHWC inputs; inputs that go through a Transpose first (an NHWC model exported
    with a layout transpose) or into anything else keep the ONNX order."""
    layouts: dict[str, Perm] = {}
    for name in graph.inputs:
        t = graph.tensors.get(name)
        if t is None or t.shape is None or not 3 <= len(t.shape) <= 5:
            continue
        frontier, seen = [name], set()
        while frontier and name not in layouts:
            current = frontier.pop(0)
            for op in graph.consumers(current):
                if op.index in seen:
                    continue
                seen.add(op.index)
                if op.type in _CHANNEL_FIRST_OPS and op.inputs and op.inputs[0] == current:
                    layouts[name] = _channel_last(len(t.shape))
                    break
                if op.type in _LAYOUT_NEUTRAL_OPS:
                    frontier.extend(o for o in op.outputs if o)
    return layouts


def _has_quantization(graph: OpGraph) -> bool:
    quant_ops = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul"}
    return any(op.type in quant_ops or op.type.startswith("QLinear") for _, op in graph.walk())


def lower_onnx_to_tflite(model: Model, *, quantize: bool = True) -> LoweredGraph:
    """Lower an ONNX model's main graph (and its control-flow bodies) into the TFLite builtin dialect.

    ``quantize=False`` stops before quantization: the float graph the converter optimizes, with constant values
    kept (tests run it numerically); the Coral rules want the default."""
    notes: list[LoweringNote] = []
    main = model.main
    lw = _GraphLowering(main, model.opsets, notes)
    lw.quantize = quantize
    lw.assumed_int8 = quantize and not _has_quantization(main)
    lw.lower_graph(_input_layouts(main))
    graph = lw.finish()
    _unify_versions([graph, *lw.registry])
    if lw.assumed_int8 and any(_is_real(t) for t in graph.tensors.values()):
        notes.insert(0, LoweringNote(ASSUMED_INT8, "float model: lowered as if full-integer int8 post-training "
                                     "quantized (int8 inputs, outputs and activations, int8 per-channel weights, int32 "
                                     "biases); quantization scales are unknown (NaN) without calibration"))
    return LoweredGraph(dialect="tflite", source_format="onnx", graphs=[graph, *lw.registry], notes=notes,
                        assumed_int8=lw.assumed_int8)
