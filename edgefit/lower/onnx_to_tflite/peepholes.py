"""Converter peepholes on the lowered graph, as the TFLite optimizer does them: activation fusion, RSQRT,
SQUARED_DIFFERENCE, GELU, a keep_dims reduction and the reshape after it as one reduction, per-channel
affine ops folded into conv/FC weights and bias, layout canonicalization and dead-code removal; and the
rewrite machinery (``_Uses``, ``_Sweep``, ``_rewrite``) the quantization passes reuse.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np

from edgefit.graph import Dim, Op
from edgefit.lower.onnx_to_tflite.facts import (
    _ACTIVATION_HOSTS, _BIAS_OPERAND, _FUSED_ACTIVATION, _WEIGHT_OPERAND, NO_BUILTIN
)
from edgefit.lower.onnx_to_tflite.layout import _dynamic_dims, _normalize_axis

if TYPE_CHECKING:
    from edgefit.lower.onnx_to_tflite.core import _GraphLowering

# -- converter peepholes on the lowered graph -------------------------------------------------------------------------

class _Uses:
    """Producer and consumers of every lowered tensor, for one sweep of a rewrite pass."""

    def __init__(self, lw: _GraphLowering):
        self.producer: dict[str, Op] = {t: op for op in lw.ops for t in op.outputs if t}
        self.consumers: dict[str, list[Op]] = defaultdict(list)
        for op in lw.ops:
            for t in dict.fromkeys(op.inputs):
                if t:
                    self.consumers[t].append(op)
        self.graph_outputs = set(lw.outputs)

    def only_consumer(self, tensor: str) -> Op | None:
        """The single op reading ``tensor`` (which must not be a graph output), else ``None``."""
        users = self.consumers.get(tensor, [])
        return users[0] if len(users) == 1 and tensor not in self.graph_outputs else None


def _merge_sources(*ops: Op) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for op in ops for n in op.source_nodes))


def _const_scalar(lw: _GraphLowering, tensor: str) -> float | None:
    """The value of a constant tensor whose elements are all equal, else ``None``."""
    t = lw.tensors.get(tensor)
    if t is None or not t.is_constant or t.value is None or t.value.size == 0:
        return None
    if t.quant is not None:
        return None
    values = np.asarray(t.value, dtype=np.float64).ravel()
    first = values[0]
    # All equal, NaN equal to NaN (as np.unique counts them; which would import numpy.ma, 8 ms, for this).
    same = values == first if first == first else np.isnan(values)
    return float(first) if same.all() else None


def _close(value: float | None, target: float, tol: float = 1e-3) -> bool:
    return value is not None and abs(value - target) <= tol * max(1.0, abs(target))


def _other_operand(op: Op, tensor: str) -> str | None:
    if len(op.inputs) < 2:
        return None
    return op.inputs[1] if op.inputs[0] == tensor else op.inputs[0] if op.inputs[1] == tensor else None


class _Sweep:
    """One pass over the ops: which ones a rewrite changed (not matched again this sweep) or removed."""

    def __init__(self) -> None:
        self.touched: set[int] = set()
        self.removed: set[int] = set()

    def touch(self, op: Op) -> None:
        self.touched.add(id(op))

    def remove(self, op: Op) -> None:
        self.touched.add(id(op))
        self.removed.add(id(op))

    def untouched(self, *ops: Op | None) -> bool:
        return all(op is not None and id(op) not in self.touched for op in ops)


_Rule = Callable[["_GraphLowering", _Uses, Op, _Sweep], bool]


def _matches(*op_types: str | Iterable[str]) -> Callable[[_Rule], _Rule]:
    """Declare the op types a rewrite rule starts from (it returns False on any other op), so sweeps skip the
    rest of the graph; a sweep with no such op does not even index the graph's uses."""
    types = frozenset(t for group in op_types for t in ((group,) if isinstance(group, str) else group))

    def mark(rule: _Rule) -> _Rule:
        rule.op_types = types  # type: ignore[attr-defined]
        return rule

    return mark


def _rewrite(lw: _GraphLowering, rule: _Rule) -> None:
    """Apply ``rule`` to every op until nothing changes; a sweep skips ops it already changed."""
    types: frozenset[str] | None = getattr(rule, "op_types", None)
    changed = True
    while changed:
        changed = False
        uses: _Uses | None = None
        sweep = _Sweep()
        for op in list(lw.ops):
            if (types is None or op.type in types) and id(op) not in sweep.touched:
                if uses is None:  # built before any rule of this sweep ran: the same index as up front
                    uses = _Uses(lw)
                if rule(lw, uses, op, sweep):
                    changed = True
        if sweep.removed:
            lw.ops = [op for op in lw.ops if id(op) not in sweep.removed]


@_matches(_FUSED_ACTIVATION)
def _fuse_activation(lw: _GraphLowering, uses: _Uses, act: Op, sweep: _Sweep) -> bool:
    """RELU/RELU6/RELU_N1_TO_1/TANH after a conv, FC or arithmetic op becomes its fused activation."""
    if act.type not in _FUSED_ACTIVATION:
        return False
    src = act.inputs[0]
    host = uses.producer.get(src)
    if host is None or not sweep.untouched(host) or host.type not in _ACTIVATION_HOSTS[act.type]:
        return False
    if host.attrs.get("fused_activation_function") != "NONE" or uses.only_consumer(src) is not act:
        return False
    host.attrs["fused_activation_function"] = _FUSED_ACTIVATION[act.type]
    host.outputs[host.outputs.index(src)] = act.outputs[0]
    host.source_nodes = _merge_sources(host, act)
    sweep.touch(host)
    sweep.remove(act)
    return True


@_matches("DIV")
def _fuse_rsqrt(lw: _GraphLowering, uses: _Uses, div: Op, sweep: _Sweep) -> bool:
    """1/sqrt(x) -> RSQRT(x); y/sqrt(x) -> y * RSQRT(x) (the RMSNorm/LayerNorm spelling of torch and tf2onnx)."""
    if div.type != "DIV" or div.attrs.get("fused_activation_function", "NONE") != "NONE":
        return False
    root = uses.producer.get(div.inputs[1])
    if root is None or root.type != "SQRT" or not sweep.untouched(root) or uses.only_consumer(div.inputs[1]) is not div:
        return False
    root.type = "RSQRT"
    sweep.touch(root)
    if _close(_const_scalar(lw, div.inputs[0]), 1.0, 1e-6):
        root.outputs = list(div.outputs)
        root.source_nodes = _merge_sources(root, div)
        sweep.remove(div)
    else:
        div.type = "MUL"
        sweep.touch(div)
    return True


@_matches("MUL")
def _fuse_squared_difference(lw: _GraphLowering, uses: _Uses, mul: Op, sweep: _Sweep) -> bool:
    """(a - b) * (a - b) -> SQUARED_DIFFERENCE(a, b), as Keras LayerNormalization's variance is written."""
    if mul.type != "MUL" or len(mul.inputs) != 2 or mul.inputs[0] != mul.inputs[1]:
        return False
    if mul.attrs.get("fused_activation_function") != "NONE":
        return False
    sub = uses.producer.get(mul.inputs[0])
    if sub is None or sub.type != "SUB" or sub.attrs.get("fused_activation_function") != "NONE" \
            or not sweep.untouched(sub):
        return False
    if uses.only_consumer(mul.inputs[0]) is not mul:
        return False
    sub.type, sub.attrs, sub.outputs = "SQUARED_DIFFERENCE", {}, list(mul.outputs)
    sub.source_nodes = _merge_sources(sub, mul)
    sweep.touch(sub)
    sweep.remove(mul)
    return True


def _scaled_operand(lw: _GraphLowering, uses: _Uses, tensor: str, factor: float) -> tuple[str, Op] | None:
    """(x, op) when ``tensor`` is x*factor or x/(1/factor) computed by ``op`` for this one use."""
    op = uses.producer.get(tensor)
    if op is None or uses.only_consumer(tensor) is None:
        return None
    if op.type == "MUL":
        for i in (0, 1):
            if _close(_const_scalar(lw, op.inputs[1 - i]), factor):
                return op.inputs[i], op
    if op.type == "DIV" and _close(_const_scalar(lw, op.inputs[1]), 1.0 / factor):
        return op.inputs[0], op
    return None


def _gelu_tail(lw: _GraphLowering, uses: _Uses, gate: str, x: str) -> tuple[list[Op], Op] | None:
    """The ``0.5 * x * gate`` part of a GELU, in any of its spellings: (ops, the op producing the result)."""
    m1 = uses.only_consumer(gate)
    if m1 is None or m1.type != "MUL" or m1.attrs.get("fused_activation_function") != "NONE":
        return None
    other = _other_operand(m1, gate)
    if other is None:
        return None
    if other == x or _close(_const_scalar(lw, other), 0.5):
        m2 = uses.only_consumer(m1.outputs[0])
        want_const = other == x
        if m2 is None or m2.type != "MUL":
            return None
        second = _other_operand(m2, m1.outputs[0])
        if (want_const and _close(_const_scalar(lw, second or ""), 0.5)) or (not want_const and second == x):
            return [m1, m2], m2
        return None
    half = _scaled_operand(lw, uses, other, 0.5)
    if half is not None and half[0] == x:
        return [half[1], m1], m1
    return None


def _one_plus(lw: _GraphLowering, uses: _Uses, tensor: str) -> Op | None:
    add = uses.only_consumer(tensor)
    if add is None or add.type != "ADD" or add.attrs.get("fused_activation_function") != "NONE":
        return None
    other = _other_operand(add, tensor)
    return add if other is not None and _close(_const_scalar(lw, other), 1.0) else None


@_matches("FLEX:Erf", "TANH")
def _fuse_gelu(lw: _GraphLowering, uses: _Uses, op: Op, sweep: _Sweep) -> bool:
    """The exact (Erf) and tanh-approximated GELU decompositions -> GELU, as TFLite's optimizer does."""
    if op.type == "FLEX:Erf":
        scaled = _scaled_operand(lw, uses, op.inputs[0], 1 / math.sqrt(2))
        if scaled is None:
            return False
        x, head = scaled[0], [scaled[1], op]
        approximate = False
    elif op.type == "TANH":
        inner = _scaled_operand(lw, uses, op.inputs[0], math.sqrt(2 / math.pi))
        if inner is None:
            return False
        cubic = _cubic_term(lw, uses, inner[0])
        if cubic is None:
            return False
        x, head = cubic[0], [*cubic[1], inner[1], op]
        approximate = True
    else:
        return False
    add = _one_plus(lw, uses, op.outputs[0])
    tail = _gelu_tail(lw, uses, add.outputs[0], x) if add is not None else None
    if tail is None:
        return False
    ops = [*head, add, *tail[0]]
    if not sweep.untouched(*ops):
        return False
    op.type, op.domain, op.inputs, op.outputs = "GELU", "tflite", [x], list(tail[1].outputs)
    op.attrs = {"approximate": approximate}
    op.source_nodes = _merge_sources(*ops)
    for other in ops:
        if other is not op:
            sweep.remove(other)
    sweep.touch(op)
    erf_nodes = set(op.source_nodes)
    lw.notes[:] = [n for n in lw.notes if not (n.code == NO_BUILTIN and n.source_node in erf_nodes)]
    return True


def _cubic_term(lw: _GraphLowering, uses: _Uses, tensor: str) -> tuple[str, list[Op]] | None:
    """(x, ops) when ``tensor`` is x + 0.044715 * x^3 (x^3 as POW 3 or two MULs)."""
    add = uses.producer.get(tensor)
    if add is None or add.type != "ADD" or uses.only_consumer(tensor) is None:
        return None
    for i in (0, 1):
        x, term = add.inputs[i], add.inputs[1 - i]
        scaled = _scaled_operand(lw, uses, term, 0.044715)
        if scaled is None:
            continue
        cube_t, scale_op = scaled
        cube = uses.producer.get(cube_t)
        if cube is None or uses.only_consumer(cube_t) is None:
            continue
        if cube.type == "POW" and cube.inputs[0] == x and _close(_const_scalar(lw, cube.inputs[1]), 3.0):
            return x, [cube, scale_op, add]
        if cube.type == "MUL" and x in cube.inputs:
            square_t = _other_operand(cube, x)
            square = uses.producer.get(square_t or "")
            if square is not None and square.type == "MUL" and square.inputs == [x, x] \
                    and uses.only_consumer(square_t) is cube:
                return x, [square, cube, scale_op, add]
    return None


_REDUCTIONS = frozenset({"MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"})


@_matches(_REDUCTIONS)
def _fold_reduce_reshape(lw: _GraphLowering, uses: _Uses, reduce: Op, sweep: _Sweep) -> bool:
    """A keep_dims reduction whose result is only reshaped to drop the reduced axes is one keep_dims=False
    reduction (ReduceMean/GlobalAveragePool followed by Squeeze/Flatten)."""
    if reduce.type not in _REDUCTIONS or not reduce.attrs.get("keep_dims"):
        return False
    out = reduce.outputs[0]
    reshape = uses.only_consumer(out)
    if reshape is None or reshape.type not in ("RESHAPE", "SQUEEZE") or not sweep.untouched(reshape):
        return False
    axes = lw.tensors[reduce.inputs[1]].value if len(reduce.inputs) > 1 else None
    in_shape, final = lw.tensors[reduce.inputs[0]].shape, lw.tensors[reshape.outputs[0]].shape
    if axes is None or in_shape is None or final is None:
        return False
    gone = {_normalize_axis(int(a), len(in_shape)) for a in np.ravel(axes)}
    if tuple(d for i, d in enumerate(in_shape) if i not in gone) != tuple(final):
        return False
    reduce.attrs["keep_dims"] = False
    reduce.outputs = list(reshape.outputs)
    reduce.source_nodes = _merge_sources(reduce, reshape)
    sweep.touch(reduce)
    sweep.remove(reshape)
    return True


def _per_channel(shape: tuple[Dim, ...] | None, channels: Dim) -> bool:
    """Whether a constant of ``shape`` broadcasts along the last (channel) axis only."""
    if shape is None:
        return False
    if all(d == 1 for d in shape):
        return True
    return shape[-1] == channels and all(d == 1 for d in shape[:-1])


@_matches("ADD", "SUB", "MUL")
def _fuse_affine(lw: _GraphLowering, uses: _Uses, op: Op, sweep: _Sweep) -> bool:
    """A per-channel constant ADD/SUB after a conv/FC folds into its bias, a MUL into its weights and bias (what
    the TFLite optimizer does, e.g. to an inference BatchNormalization)."""
    if op.type not in ("ADD", "SUB", "MUL") or op.attrs.get("fused_activation_function") != "NONE":
        return False
    for k in (0, 1):
        act, const = op.inputs[k], op.inputs[1 - k]
        host = uses.producer.get(act)
        if host is None or host.type not in _WEIGHT_OPERAND or not lw.tensors[const].is_constant:
            continue
        if op.type == "SUB" and k != 0:
            continue
        if not sweep.untouched(host) or host.attrs.get("fused_activation_function") != "NONE" \
                or uses.only_consumer(act) is not op or lw.tensors[act].shape is None:
            continue
        channels = lw.tensors[act].shape[-1]
        if not _per_channel(lw.tensors[const].shape, channels):
            continue
        _fold_into_affine(lw, host, op, const, channels)
        host.outputs[host.outputs.index(act)] = op.outputs[0]
        host.source_nodes = _merge_sources(host, op)
        sweep.touch(host)
        sweep.remove(op)
        return True
    return False


def _fold_into_affine(lw: _GraphLowering, host: Op, op: Op, const: str, channels: Dim) -> None:
    """New weights/bias constants for ``host`` with ``op`` (x*c, x+c, x-c per output channel) folded in; values are
    computed when the constants' values are known."""
    c = lw.tensors[const]
    factor = None if c.value is None else np.ravel(np.asarray(c.value, np.float32))
    bias_index = _BIAS_OPERAND[host.type]
    while len(host.inputs) <= bias_index:
        host.inputs.append("")
    old_bias = lw.tensors.get(host.inputs[bias_index]) if host.inputs[bias_index] else None
    base = old_bias.value if old_bias is not None and old_bias.value is not None and old_bias.quant is None \
        else (np.zeros(channels, np.float32) if old_bias is None and isinstance(channels, int) else None)
    label = host.name
    if op.type == "MUL":
        w = lw.tensors[host.inputs[1]]
        axis = _WEIGHT_OPERAND[host.type][1]
        value = None
        if w.value is not None and factor is not None and w.quant is None and w.shape is not None:
            shape = [1] * len(w.shape)
            shape[axis] = -1
            value = (np.asarray(w.value, np.float32) * np.broadcast_to(factor, (w.shape[axis],)).reshape(shape))
        host.inputs[1] = lw.new_const(value, w.dtype, w.shape or (), f"{label}/scaled_weights", quant=w.quant)
        bias = None if base is None or factor is None else base * factor
        if old_bias is None:
            return
    else:
        sign = -1.0 if op.type == "SUB" else 1.0
        bias = None if base is None or factor is None else base + sign * factor
    value = None if bias is None else np.broadcast_to(bias, (channels,)).astype(np.float32) \
        if isinstance(channels, int) else None
    host.inputs[bias_index] = lw.new_const(value, "float32", (channels,), f"{label}/folded_bias")


@_matches("RESHAPE", "TRANSPOSE")
def _canonicalize_layout(lw: _GraphLowering, uses: _Uses, op: Op, sweep: _Sweep) -> bool:
    """No-op RESHAPE/TRANSPOSE disappear, chains of them collapse (the converter's canonicalization)."""
    if op.type not in ("RESHAPE", "TRANSPOSE"):
        return False
    src = uses.producer.get(op.inputs[0])
    if op.type == "RESHAPE":
        in_shape, out_shape = lw.tensors[op.inputs[0]].shape, lw.tensors[op.outputs[0]].shape
        if in_shape is not None and in_shape == out_shape and _dynamic_dims(in_shape) <= 1:
            return _bypass(lw, op, sweep)
        if src is not None and src.type == "RESHAPE" and sweep.untouched(src) \
                and uses.only_consumer(op.inputs[0]) is op:
            op.inputs[0] = src.inputs[0]
            op.source_nodes = _merge_sources(src, op)
            sweep.touch(op)
            sweep.remove(src)
            return True
        return False
    perm = lw.tensors[op.inputs[1]].value if len(op.inputs) > 1 else None
    if perm is None:
        return False
    perm = [int(p) for p in np.ravel(perm)]
    if perm == sorted(perm):
        return _bypass(lw, op, sweep)
    if src is not None and src.type == "TRANSPOSE" and sweep.untouched(src) and uses.only_consumer(op.inputs[0]) is op:
        first = lw.tensors[src.inputs[1]].value
        if first is None:
            return False
        first = [int(p) for p in np.ravel(first)]
        op.inputs = [src.inputs[0], lw.int32_operand([first[p] for p in perm])]
        op.source_nodes = _merge_sources(src, op)
        sweep.touch(op)
        sweep.remove(src)
        return True
    return False


def _bypass(lw: _GraphLowering, op: Op, sweep: _Sweep) -> bool:
    """Remove a no-op: its readers read its input instead."""
    lw.replace_uses(op.outputs[0], op.inputs[0])
    sweep.remove(op)
    return True


def _dead_code(lw: _GraphLowering) -> None:
    while True:
        used = set(lw.outputs) | {t for op in lw.ops for t in op.inputs if t}
        alive = [op for op in lw.ops if any(t in used for t in op.outputs if t)]
        if len(alive) == len(lw.ops):
            return
        lw.ops = alive


#: Activations whose int8 output range starts at 0: the output zero point is the int8 minimum (-128).
_NON_NEGATIVE = frozenset({"RELU", "RELU6", "RELU_0_TO_1", "LOGISTIC"})


def _starts_at_zero(lw: _GraphLowering, uses: _Uses, tensor: str) -> bool:
    t = lw.tensors.get(tensor)
    if t is not None and t.quant is not None and t.quant.zero_point and not any(
            s != s for s in t.quant.scale):  # calibrated (QDQ) quantization: read the zero point itself
        return all(z == -128 for z in t.quant.zero_point)
    producer = uses.producer.get(tensor)
    return producer is not None and (producer.type in _NON_NEGATIVE or
                                     producer.attrs.get("fused_activation_function") in _NON_NEGATIVE)


@_matches("PADV2")
def _int8_pool_pad(lw: _GraphLowering, uses: _Uses, pad: Op, sweep: _Sweep) -> bool:
    """The -inf PADV2 in front of a max pool with explicit pads is a plain PAD in an int8 model whose pooled input
    starts at 0 (after ReLU/ReLU6/sigmoid): onnx2tf pads with the lowest value, which quantizes to -128, the
    input's zero point, and the TFLite quantizer writes a zero-point fill as PAD (the PAD kernel fills with the
    zero point). An input that can be negative keeps its PADV2 (-128 is not its zero point)."""
    if len(pad.inputs) < 3 or lw.tensors.get(pad.inputs[0]) is None or lw.tensors[pad.inputs[0]].dtype != "int8":
        return False
    consumers = uses.consumers.get(pad.outputs[0], [])
    if not consumers or any(c.type != "MAX_POOL_2D" for c in consumers):
        return False
    if not _starts_at_zero(lw, uses, pad.inputs[0]):
        return False
    pad.type = "PAD"
    pad.inputs = pad.inputs[:2]
    sweep.touch(pad)
    return True


@_matches("FULLY_CONNECTED")
def _drop_flatten_before_fc(lw: _GraphLowering, uses: _Uses, fc: Op, sweep: _Sweep) -> bool:
    """A RESHAPE to [N, K] in front of a FULLY_CONNECTED that only drops size-1 dims (a Flatten of [N, 1, 1, K]
    NHWC features) vanishes: FULLY_CONNECTED flattens its input to [-1, K] itself, and the TFLite optimizer's
    ``RemoveReshapeBeforeFullyConnected`` pattern removes such a reshape. A flatten that merges real dims stays."""
    if fc.attrs.get("keep_num_dims") or not fc.inputs:
        return False
    reshape = uses.producer.get(fc.inputs[0])
    if reshape is None or reshape.type != "RESHAPE" or not sweep.untouched(reshape):
        return False
    if uses.only_consumer(reshape.outputs[0]) is not fc:
        return False
    src, out = lw.tensors.get(reshape.inputs[0]), lw.tensors.get(reshape.outputs[0])
    if src is None or out is None or src.shape is None or out.shape is None or len(out.shape) != 2:
        return False
    if not all(isinstance(d, int) for d in (*src.shape, *out.shape)):
        return False
    kept = [d for d in src.shape if d != 1]
    if kept != [d for d in out.shape if d != 1] or src.shape[-1] != out.shape[-1]:
        return False
    fc.inputs[0] = reshape.inputs[0]
    fc.source_nodes = _merge_sources(reshape, fc)
    sweep.touch(fc)
    sweep.remove(reshape)
    return True
