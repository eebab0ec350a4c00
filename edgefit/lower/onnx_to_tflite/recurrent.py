"""Handlers for recurrent ops and control flow: ``LSTM`` (UNIDIRECTIONAL_SEQUENCE_LSTM, time-major, with
variable state tensors) and ``If``/``Loop`` (IF/WHILE, each body lowered as its own subgraph).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from edgefit.graph import Dim, Op, OpGraph
from edgefit.lower.onnx_to_tflite.core import _Const, _GraphLowering, _handles
from edgefit.lower.onnx_to_tflite.facts import CONTROL_FLOW, DYNAMIC_SHAPE, _Unlowerable

# -- recurrent and control flow ---------------------------------------------------------------------------------------

@_handles("LSTM")
def _lstm(lw: _GraphLowering, op: Op) -> None:
    """A one-direction LSTM -> UNIDIRECTIONAL_SEQUENCE_LSTM (time-major), with the gate weights split per gate
    and the states as variable tensors, as the converter lays it out."""
    direction = op.attrs.get("direction", "forward")
    if direction == "bidirectional":
        raise _Unlowerable("bidirectional LSTM is not lowered (a converter emits two sequence LSTMs and a concat)")
    if op.attrs.get("input_forget", 0):
        raise _Unlowerable("coupled input/forget gate (input_forget=1)")
    acts = [a.lower() if isinstance(a, str) else a for a in op.attrs.get("activations", ["Sigmoid", "Tanh", "Tanh"])]
    if acts not in (["sigmoid", "tanh", "tanh"], []):
        raise _Unlowerable(f"LSTM activations {acts}: TFLite's LSTM kernel is sigmoid/tanh")
    if len(op.outputs) > 2 and lw.used(op.outputs[2]):
        raise _Unlowerable("final cell state Y_c is used: TFLite's LSTM does not output it (a converter keeps a "
                           "WHILE loop or Flex ops)")
    if any(lw.input(op, i) and lw.input(op, i) not in lw.consts for i in (4, 5, 6)):
        raise _Unlowerable("sequence lengths or initial states computed at run time: TFLite's LSTM keeps its "
                           "states in zero-initialized variable tensors")
    x, w = op.inputs[0], op.inputs[1]
    xs, ws = lw.shape(x), lw.shape(w)
    if xs is None or ws is None or len(xs) != 3:
        raise _Unlowerable("input rank unknown", DYNAMIC_SHAPE)
    hidden = int(op.attrs.get("hidden_size", ws[1] // 4 if isinstance(ws[1], int) else 0))
    time_major = int(op.attrs.get("layout", 0)) == 0
    batch = xs[1] if time_major else xs[0]
    n_input = xs[2]
    label = lw.node.name if lw.node else "lstm"

    def weight(kind: str, cols: Dim) -> str:
        return lw.new_const(None, "float32", (hidden, cols), f"{label}/{kind}")

    def vector(kind: str) -> str:
        return lw.new_const(None, "float32", (hidden,), f"{label}/{kind}")

    peephole = lw.input(op, 7) is not None
    gates = ("input", "forget", "cell", "output")
    inputs = [lw.need(x)]
    inputs += [weight(f"{g}_input_weights", n_input) for g in gates]
    inputs += [weight(f"{g}_recurrent_weights", hidden) for g in gates]
    inputs += [vector(f"cell_to_{g}_weights") if peephole else "" for g in ("input", "forget", "output")]
    inputs += [vector(f"{g}_gate_bias") for g in gates]
    inputs += ["", ""]  # no projection
    for kind in ("activation_state", "cell_state"):
        state = lw.tensor(f"{label}/{kind}", "float32", (batch, hidden))
        lw.tensors[state].is_variable = True
        inputs.append(state)
    inputs += ["", "", "", ""]  # no layer-norm coefficients
    if direction == "reverse":
        inputs[0] = _reverse_time(lw, inputs[0], 0 if time_major else 1)
    y_name = op.outputs[0] if op.outputs and op.outputs[0] else None
    seq_shape = (xs[0], xs[1], hidden)
    seq = lw.tensor(f"{label}/sequence", "float32", seq_shape)
    lw.emit("UNIDIRECTIONAL_SEQUENCE_LSTM", inputs, [seq],
            {"fused_activation_function": "TANH", "cell_clip": float(op.attrs.get("clip", 0.0)), "proj_clip": 0.0,
             "time_major": time_major, "asymmetric_quantize_inputs": False, "diagonal_recurrent_tensors": False})
    if direction == "reverse":
        seq = _reverse_time(lw, seq, 0 if time_major else 1)
    if y_name:  # ONNX Y has a direction axis: [seq, 1, batch, hidden] (layout 0) or [batch, seq, 1, hidden]
        out = lw.output(y_name)
        lw.emit("RESHAPE", [seq, lw.shape_operand(lw.tensors[out].shape or ())], [out], label="directions")
    if len(op.outputs) > 1 and op.outputs[1]:  # Y_h: the last time step
        out = lw.output(op.outputs[1])
        step = lw.tensor(f"{label}/last_step", "float32", (batch, hidden))
        t_axis = 0 if time_major else 1
        begin = [0, 0, 0]
        begin[t_axis] = -1
        lw.emit("STRIDED_SLICE", [seq, lw.int32_operand(begin), lw.int32_operand([0, 0, 0]),
                                  lw.int32_operand([1, 1, 1])], [step],
                {"begin_mask": 0b111 ^ (1 << t_axis), "end_mask": 0b111, "ellipsis_mask": 0, "new_axis_mask": 0,
                 "shrink_axis_mask": 1 << t_axis, "offset": False}, label="last_step")
        lw.emit("RESHAPE", [step, lw.shape_operand(lw.tensors[out].shape or ())], [out], label="final_state")
    if len(op.outputs) > 2 and op.outputs[2]:
        lw.output(op.outputs[2])  # unused (checked above): declared so the graph stays well-formed


def _reverse_time(lw: _GraphLowering, lowered: str, axis: int) -> str:
    out = lw.tensor(f"{lowered}/reversed", lw.tensors[lowered].dtype, lw.tensors[lowered].shape)
    lw.emit("REVERSE_V2", [lowered, lw.int32_operand([axis])], [out], label="reverse")
    return out


def _free_names(graph: OpGraph) -> list[str]:
    """Outer-scope names a body reads (nested bodies included), in first-use order."""
    defined = set(graph.inputs) | {n for n, t in graph.tensors.items() if t.is_constant}
    defined |= {o for op in graph.ops for o in op.outputs if o}
    free: list[str] = []
    for op in graph.ops:
        names = [i for i in op.inputs if i]
        for body in op.bodies.values():
            names += _free_names(body)
        for n in names:
            if n not in defined and n not in free:
                free.append(n)
    return free


def _inline_branch(lw: _GraphLowering, op: Op, body: OpGraph) -> None:
    """Lower the taken branch of an If whose condition is known at conversion time in place of the If.

    This is what the TF path does: onnx2tf builds the If as ``tf.cond`` (keras ``switch``) of both branches, and
    TensorFlow's constant folding / the MLIR ``tf.If`` canonicalization replace a conditional on a constant
    predicate by the taken branch, so no IF (and no untaken subgraph) reaches the TFLite file."""
    for name, t in body.tensors.items():
        if t.is_constant and name not in lw.consts:
            lw.consts[name] = _Const(t.dtype, t.shape, t.value)
        elif name not in lw.info and name not in lw.src.tensors:
            lw.info[name] = t
    lw.inlined_uses |= {i for inner in body.ops for i in inner.inputs if i} | set(body.outputs)
    for inner in body.topological_order():
        lw.lower_op(inner)
    lw.node = op
    for out, result in zip(op.outputs, body.outputs):
        if not out:
            continue
        if result in lw.vals:
            lw.vals[out] = lw.vals[result]
        elif result in lw.consts:
            lw.consts[out] = lw.consts[result]


@_handles("If", "Loop")
def _control_flow(lw: _GraphLowering, op: Op) -> None:
    """If -> IF, Loop -> WHILE, each body lowered as its own subgraph; outer-scope values it reads become extra
    operands (TFLite subgraphs see only their inputs). An If on a constant condition is its taken branch."""
    if op.type == "If" and lw.const_value(lw.input(op, 0)) is not None:
        cond = lw.const_value(lw.input(op, 0))
        key = "then_branch" if bool(np.ravel(cond)[0]) else "else_branch"
        if key in op.bodies and np.size(cond) == 1:
            _inline_branch(lw, op, op.bodies[key])
            return
    roles = {"If": (("then_branch", "then"), ("else_branch", "else")), "Loop": (("body", "body"),)}[op.type]
    bodies = [(op.bodies[key], role) for key, role in roles if key in op.bodies]
    if len(bodies) != len(roles):
        raise _Unlowerable("missing body graph")
    if op.type == "Loop" and len([o for o in op.outputs if o]) > len([i for i in op.inputs[2:] if i]):
        raise _Unlowerable("Loop scan outputs: TFLite WHILE carries loop variables only")
    captured: list[str] = []
    for body, _ in bodies:
        captured += [n for n in _free_names(body) if n not in captured and n not in lw.consts]
    operands = [lw.need(i) for i in op.inputs if i] + [lw.need(n) for n in captured]
    attrs: dict[str, Any] = {}
    lowered_bodies: dict[str, OpGraph] = {}
    for body, role in bodies:
        child = _GraphLowering(body, lw.opsets, lw.notes, parent=lw)
        child.lower_body(captured, outer=lw)
        graph = child.finish()
        lowered_bodies[role] = graph
        attrs[f"{role}_subgraph_index"] = graph.index
    lowered = lw.emit("IF" if op.type == "If" else "WHILE", operands, [lw.output(o) for o in op.outputs if o], attrs)
    lowered.bodies = lowered_bodies
    if op.type == "Loop":
        lw.note(CONTROL_FLOW, "Loop lowered to WHILE: the loop condition is computed in the body (as in ONNX), "
                "there is no separate condition subgraph")
