"""The float -> int8 quantization passes on the lowered graph: QDQ pairs of a quantized model folded into int8
ops (``_fold_qdq``), a float model taken as full-integer post-training quantized (``_assume_int8``), scales
propagated through scale-preserving ops, and operand types legalized (QUANTIZE/DEQUANTIZE around ops that
stay float, int8/int32 constants).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from edgefit.graph import Op, QuantParams, Tensor
from edgefit.lower import LoweringNote
from edgefit.lower.onnx_to_tflite.facts import (
    _BIAS_OPERAND, _FIXED_OUTPUT_QUANT, _FLOAT_DTYPES, _HYBRID_OPS, _INT8_INPUT_OPS, _INT8_OPS, _NAN, _QUANT_DTYPES,
    _SAME_SCALE_OPS, _WEIGHT_OPERAND, FLOAT_FALLBACK
)
from edgefit.lower.onnx_to_tflite.layout import _placeholder_quant
from edgefit.lower.onnx_to_tflite.peepholes import _dead_code, _matches, _merge_sources, _rewrite, _Sweep, _Uses

if TYPE_CHECKING:
    from edgefit.lower.onnx_to_tflite.core import _GraphLowering

# -- quantization ---------------------------------------------------------------------------------------------------

def _is_real(t: Tensor) -> bool:
    """Whether a tensor holds real numbers (float, or quantized integers), as opposed to indices, shapes, masks."""
    return t.dtype in _FLOAT_DTYPES or (t.dtype in _QUANT_DTYPES and t.quant is not None)


def _runs_int8(lw: _GraphLowering, op: Op) -> bool | None:
    """True if the op computes in int8, False in float, None if it has no real-valued output."""
    real = [lw.tensors[t] for t in op.outputs if t and _is_real(lw.tensors[t])]
    if not real:
        return None
    return any(t.dtype in _QUANT_DTYPES for t in real)


def _same_quant(a: Tensor, b: Tensor) -> bool:
    if a.dtype != b.dtype or a.quant is None or b.quant is None:
        return False
    qa, qb = a.quant, b.quant
    return qa.zero_point == qb.zero_point and len(qa.scale) == len(qb.scale) and all(
        math.isclose(x, y, rel_tol=1e-6) or (math.isnan(x) and math.isnan(y)) for x, y in zip(qa.scale, qb.scale))


def _fold_qdq(lw: _GraphLowering) -> None:
    """QuantizeLinear/DequantizeLinear pairs around an op become an int8 op reading and writing int8 tensors.

    A QUANTIZE of a quantizable op's only (float) result becomes that op's int8 result; DEQUANTIZE -> QUANTIZE is
    a requantization (one QUANTIZE, or nothing when the parameters match); an op that computes in int8 reads the
    int8 input of a DEQUANTIZE directly. What is left is where the TFLite model has them too: at float inputs and
    outputs, and around ops that stay float."""

    @_matches("QUANTIZE")
    def fold_quantize(lw: _GraphLowering, uses: _Uses, q: Op, sweep: _Sweep) -> bool:
        if q.type != "QUANTIZE":
            return False
        x = q.inputs[0]
        p = uses.producer.get(x)
        if p is None or not sweep.untouched(p):
            return False
        out = lw.tensors[q.outputs[0]]
        if p.type == "DEQUANTIZE":
            src = p.inputs[0]
            if _same_quant(lw.tensors[src], out):
                lw.replace_uses(q.outputs[0], src)
                sweep.remove(q)
            else:
                q.inputs[0] = src
                q.source_nodes = _merge_sources(p, q)
                sweep.touch(q)
            return True
        if p.type not in _INT8_OPS or x in uses.graph_outputs:
            return False
        readers = uses.consumers[x]
        if not all(r.type == "QUANTIZE" and _same_quant(lw.tensors[r.outputs[0]], out) for r in readers):
            return False
        p.outputs[p.outputs.index(x)] = q.outputs[0]
        p.source_nodes = _merge_sources(p, *readers)
        sweep.touch(p)
        for r in readers:
            if r is not q:
                lw.replace_uses(r.outputs[0], q.outputs[0])
            sweep.remove(r)
        return True

    @_matches(_SAME_SCALE_OPS)
    def sink_dequantize(lw: _GraphLowering, uses: _Uses, op: Op, sweep: _Sweep) -> bool:
        """A scale-preserving op (a layout TRANSPOSE the lowering placed after a DEQUANTIZE, a reshape, a pool)
        runs on the int8 data instead, keeping its scale: what the quantizer does with such ops."""
        if op.type not in _SAME_SCALE_OPS or _runs_int8(lw, op) is not False:
            return False
        real = [i for i, t in enumerate(op.inputs) if t and _is_real(lw.tensors[t])]
        if len(real) != 1:
            return False
        dq = uses.producer.get(op.inputs[real[0]])
        if dq is None or dq.type != "DEQUANTIZE":
            return False
        src = lw.tensors[dq.inputs[0]]
        op.inputs[real[0]] = dq.inputs[0]
        for name in op.outputs:
            t = lw.tensors.get(name) if name else None
            if t is not None and t.dtype in _FLOAT_DTYPES:
                t.dtype = src.dtype
                t.quant = src.quant if src.quant is None or src.quant.axis is None else QuantParams(
                    (src.quant.scale[0],), (src.quant.zero_point[0],))
        op.source_nodes = _merge_sources(op, dq)
        sweep.touch(op)
        return True

    @_matches(_SAME_SCALE_OPS)
    def hoist_quantize(lw: _GraphLowering, uses: _Uses, op: Op, sweep: _Sweep) -> bool:
        """The reverse: a scale-preserving op that now writes int8 (a RESHAPE the lowering put after a 1-D conv)
        makes the quantizable op feeding it write int8 too, at the same scale."""
        if op.type not in _SAME_SCALE_OPS or not _runs_int8(lw, op):
            return False
        real = [t for t in op.inputs if t and _is_real(lw.tensors[t])]
        if len(real) != 1 or lw.tensors[real[0]].dtype not in _FLOAT_DTYPES or lw.tensors[real[0]].is_constant:
            return False
        producer = uses.producer.get(real[0])
        if producer is None or producer.type not in _INT8_OPS or uses.only_consumer(real[0]) is not op:
            return False
        out = lw.tensors[op.outputs[0]]
        lw.tensors[real[0]].dtype, lw.tensors[real[0]].quant = out.dtype, out.quant
        sweep.touch(op)
        return True

    _rewrite(lw, fold_quantize)
    _rewrite(lw, sink_dequantize)
    _rewrite(lw, hoist_quantize)
    _rewrite(lw, fold_quantize)
    uses = _Uses(lw)
    for dq in [op for op in lw.ops if op.type == "DEQUANTIZE"]:
        src, out = dq.inputs[0], dq.outputs[0]
        for reader in uses.consumers.get(out, []):
            if reader.type in ("QUANTIZE", "DEQUANTIZE"):
                continue
            mode = _runs_int8(lw, reader)
            if mode or (mode is None and reader.type in _INT8_INPUT_OPS):
                reader.inputs = [src if t == out else t for t in reader.inputs]
                reader.source_nodes = _merge_sources(reader, dq)
    _dead_code(lw)


def _assume_int8(lw: _GraphLowering) -> None:
    """Post-training int8 quantization of a float graph: int8 I/O and every activation a quantizable op writes.
    Scales are unknown without calibration (NaN), except where the kernel fixes them."""
    for name in lw.inputs:
        t = lw.tensors[name]
        if t.dtype in _FLOAT_DTYPES:
            t.dtype, t.quant = "int8", _placeholder_quant()
    for op in lw.ops:
        if op.type not in _INT8_OPS:
            continue
        for name in op.outputs:
            t = lw.tensors.get(name) if name else None
            if t is not None and t.dtype in _FLOAT_DTYPES and not t.is_variable:
                fixed = _FIXED_OUTPUT_QUANT.get(op.type)
                t.dtype = "int8"
                t.quant = QuantParams((fixed[0],), (fixed[1],)) if fixed else _placeholder_quant()


def _propagate_scales(lw: _GraphLowering) -> None:
    """Int8 results of scale-preserving ops (reshape, transpose, pool, ...) share their input's quantization."""
    for op in lw.ops:
        if op.type not in _SAME_SCALE_OPS:
            continue
        data = op.inputs[1] if op.type == "SPLIT" else op.inputs[0]
        src = lw.tensors.get(data) if data else None
        if src is None or src.quant is None:
            continue
        for name in op.outputs:
            t = lw.tensors.get(name) if name else None
            if t is not None and t.dtype in _QUANT_DTYPES and t.quant is None:
                t.quant = src.quant if src.quant.axis is None else QuantParams((src.quant.scale[0],),
                                                                              (src.quant.zero_point[0],))


def _operand_role(op: Op, index: int) -> str:
    """How a constant operand is quantized: ``weight`` (int8 per channel), ``bias`` (int32), ``lstm_*``, ``data``."""
    if op.type == "UNIDIRECTIONAL_SEQUENCE_LSTM":
        if index in (12, 13, 14, 15, 17):
            return "bias"
        return "lstm_weight" if 1 <= index <= 16 else "data"
    weight = _WEIGHT_OPERAND.get(op.type)
    if weight is not None and index == weight[0]:
        return "weight"
    if _BIAS_OPERAND.get(op.type) == index:
        return "bias"
    return "data"


def _int8_constant(lw: _GraphLowering, op: Op, index: int) -> str:
    """The int8 (int32 for biases) form of a float constant operand of an int8 op, quantized as the converter
    would: weights symmetric per output channel, biases at input scale x weight scale."""
    name = op.inputs[index]
    t = lw.tensors[name]
    role = _operand_role(op, index)
    shape = t.shape or ()
    if role == "weight":
        axis = _WEIGHT_OPERAND[op.type][1]
        channels = shape[axis] if len(shape) > axis and isinstance(shape[axis], int) else None
        return lw.tensor(f"{name}/int8", "int8", shape, constant=True, quant=_placeholder_quant(channels, axis))
    if role == "bias":
        data_index = 2 if op.type == "TRANSPOSE_CONV" else 0
        x = lw.tensors.get(op.inputs[data_index])
        w = lw.tensors.get(op.inputs[1]) if op.type != "UNIDIRECTIONAL_SEQUENCE_LSTM" else None
        in_scale = x.quant.scale[0] if x is not None and x.quant is not None else _NAN
        w_scales = w.quant.scale if w is not None and w.quant is not None else (_NAN,)
        quant = QuantParams(tuple(in_scale * s for s in w_scales), (0,) * len(w_scales),
                            0 if len(w_scales) > 1 else None)
        return lw.tensor(f"{name}/int32", "int32", shape, constant=True, quant=quant)
    return lw.tensor(f"{name}/int8", "int8", shape, constant=True, quant=_placeholder_quant())


def _legalize_types(lw: _GraphLowering) -> None:
    """Make every op's operands match the precision it computes in: int8 ops get int8 (QUANTIZE before float
    activations, int8/int32 constants), float ops get float (DEQUANTIZE after int8 ones). Notes every op that
    stays float inside an int8 graph."""
    if not any(t.dtype in _QUANT_DTYPES and _is_real(t) for t in lw.tensors.values()):
        return  # a float graph (a weight-free float QDQ-less body): nothing to legalize
    dequantized: dict[str, str] = {}
    quantized: dict[str, str] = {}
    converted: dict[tuple[str, str], str] = {}
    ops: list[Op] = []

    def insert(type_: str, src: str, dst: str, before: Op) -> None:
        ops.append(Op(index=0, name=lw.op_name(f"{before.name}/{type_.lower()}"), type=type_, domain="tflite",
                      version=None, inputs=[src], outputs=[dst], source_nodes=before.source_nodes))

    for op in lw.ops:
        if op.type in ("QUANTIZE", "DEQUANTIZE"):
            ops.append(op)
            continue
        mode = _runs_int8(lw, op)
        wants_float = mode is False or (mode is None and op.type not in _INT8_INPUT_OPS)
        for i, name in enumerate(op.inputs):
            t = lw.tensors.get(name) if name else None
            if t is None or not _is_real(t):
                continue
            if mode and t.dtype in _FLOAT_DTYPES:
                if t.is_variable:
                    t.dtype = "int16" if i == 19 else "int8"
                    t.quant = _placeholder_quant()
                elif t.is_constant:
                    key = (name, f"{op.type}:{_operand_role(op, i)}")
                    if key not in converted:
                        converted[key] = _int8_constant(lw, op, i)
                    op.inputs[i] = converted[key]
                else:
                    if name not in quantized:
                        quantized[name] = lw.tensor(f"{name}/quantized", "int8", t.shape, quant=_placeholder_quant())
                        insert("QUANTIZE", name, quantized[name], op)
                    op.inputs[i] = quantized[name]
            elif wants_float and t.dtype in _QUANT_DTYPES:
                if t.is_constant and op.type in _HYBRID_OPS and _operand_role(op, i) == "weight":
                    continue  # dynamic-range kernel: int8 weights, float activations
                if name not in dequantized:
                    dequantized[name] = lw.tensor(f"{name}/dequantized", "float32", t.shape)
                    insert("DEQUANTIZE", name, dequantized[name], op)
                op.inputs[i] = dequantized[name]
        ops.append(op)
        if lw.assumed_int8:
            _quantize_float_outputs(lw, op, ops)
        if mode is False and op.domain == "tflite":
            why = "the ONNX graph leaves it unquantized" if op.type in _INT8_OPS \
                else "the TFLite quantizer has no int8 kernel for it"
            lw.notes.append(LoweringNote(FLOAT_FALLBACK, f"{op.type} runs in float inside the int8 model ({why}); "
                                         "DEQUANTIZE/QUANTIZE surround it", op.source_nodes[0] if op.source_nodes
                                         else None))
    lw.ops = ops


def _quantize_float_outputs(lw: _GraphLowering, op: Op, ops: list[Op]) -> None:
    """With int8 I/O, a float result that is a graph output goes through a QUANTIZE (the graph output keeps its
    name; readers of the float value read it under a new one)."""
    for k, name in enumerate(op.outputs):
        t = lw.tensors.get(name) if name else None
        if t is None or name not in lw.outputs or t.dtype not in _FLOAT_DTYPES:
            continue
        float_name = lw.tensor(f"{name}/float", t.dtype, t.shape)
        op.outputs[k] = float_name
        for other in lw.ops:
            if other is not op:
                other.inputs = [float_name if x == name else x for x in other.inputs]
        t.dtype, t.quant = "int8", _placeholder_quant()
        ops.append(Op(index=0, name=lw.op_name(f"{op.name}/quantize"), type="QUANTIZE", domain="tflite",
                      version=None, inputs=[float_name], outputs=[name], source_nodes=op.source_nodes))


def _requantize_concat_inputs(lw: _GraphLowering) -> None:
    """Int8 CONCATENATION reads every input at the output's scale (the op is ``SameOperandsAndResultsScale`` in
    the TFLite quantizer). Where an input's scale is held elsewhere the quantizer inserts an int8 -> int8 QUANTIZE
    (a requantize) in front of the concat: an input whose scale the kernel fixes (LOGISTIC/SOFTMAX 1/256, TANH
    1/128) or one that also feeds another scale-keeping op (a pool, reshape, ...: its scale is tied there). With
    calibrated (QDQ) scales, an input whose known quantization differs from the output's is requantized too."""
    producer = {t: op for op in lw.ops for t in op.outputs if t}
    readers: dict[str, list[Op]] = {}
    for op in lw.ops:
        for t in dict.fromkeys(op.inputs):
            if t:
                readers.setdefault(t, []).append(op)
    ops: list[Op] = []
    for op in lw.ops:
        out = lw.tensors.get(op.outputs[0]) if op.type == "CONCATENATION" and op.outputs else None
        if out is None or out.dtype != "int8" or out.quant is None:
            ops.append(op)
            continue
        requantized = False
        for i, name in enumerate(op.inputs):
            t = lw.tensors.get(name)
            if t is None or t.is_constant or t.dtype != "int8" or t.quant is None:
                continue
            src = producer.get(name)
            if lw.assumed_int8:
                held = (src is not None and src.type in _FIXED_OUTPUT_QUANT) or any(
                    r is not op and r.type in _SAME_SCALE_OPS for r in readers.get(name, []))
            else:
                held = _is_calibrated(t) and _is_calibrated(out) and not _same_quant(t, out)
            if not held:
                continue
            if lw.assumed_int8 and not requantized and t.quant is out.quant:
                out.quant = _placeholder_quant()  # the output's scale is the concat's own, not the fixed one
            requantized = True
            moved = lw.tensor(f"{name}/requantized", "int8", t.shape, quant=out.quant)
            ops.append(Op(index=0, name=lw.op_name(f"{op.name}/requantize"), type="QUANTIZE", domain="tflite",
                          version=None, inputs=[name], outputs=[moved], source_nodes=op.source_nodes))
            op.inputs[i] = moved
        ops.append(op)
    lw.ops = ops


def _is_calibrated(t: Tensor) -> bool:
    return t.quant is not None and bool(t.quant.scale) and not any(math.isnan(s) for s in t.quant.scale)
