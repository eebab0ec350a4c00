"""Fuzz cases for edgefit's readers, drawn with hypothesis strategies.

Three kinds of mutation, each of real seed files (sample_models/, the onnx wheel's backend test models,
../shared/corpus when present) or of models built here:

* byte level (every format): truncation, bit flips, byte overwrites, chunk insert / delete / duplicate, and
  "interesting" integers (0, -1, 2^31-1, 2^62, ...) written over 1/2/4/8 bytes;
* structure-aware ONNX, through the protobuf API: dims 0 / negative / 2^62, wrong and unknown dtypes,
  dangling and duplicate tensor names, node cycles, absurd attributes, missing initializers, nested If / Loop
  bodies, huge and zero opsets, unknown domains, external-data entries pointing anywhere, raw_data that does
  not match its dims;
* structure-aware TFLite, through the flatbuffer tables: every scalar slot the reader looks at (tensor shape,
  type and buffer, operator opcode / tensor indices, builtin codes, control-flow subgraph indices, buffer
  offset / size, vector lengths such as the subgraph count) overwritten with out-of-range values;
* structure-aware GGUF headers: versions, counts, key-value types and nested arrays, tensor dims and types,
  offsets and alignment, each drawn around and beyond their limits.

hypothesis is used as the generator only (``phases=[generate]``, derandomized, no example database), so a
run is reproducible from its seed; the cases are then executed by the worker pool (``_fuzz_pool``).
"""

from __future__ import annotations

import hashlib
import io
import struct
from functools import lru_cache
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
INTERESTING = (0, 1, -1, 2, 3, 4, 7, 8, 127, 128, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
               0xFFFFFFFF, 1 << 32, 1 << 40, 1 << 48, 1 << 62, (1 << 63) - 1, 1 << 63, (1 << 64) - 1)
SEED_MAX_BYTES = {"onnx": 96_000, "tflite": 48_000, "gguf": 1 << 20}


# ------------------------------------------------------------------------------------------------- seeds
@lru_cache(maxsize=None)
def seeds(fmt: str) -> tuple[tuple[str, bytes], ...]:
    """(name, bytes) of the real files a format's mutations start from, smallest first."""
    ext = {"onnx": ".onnx", "tflite": ".tflite", "gguf": ".gguf"}[fmt]
    files: list[Path] = sorted((REPO / "sample_models").glob(f"*{ext}"))
    if fmt == "onnx":
        import onnx

        data = Path(onnx.__file__).parent / "backend" / "test" / "data"
        files += sorted(data.glob("*/*/model.onnx")) + sorted(data.glob("light/*.onnx"))
    if CORPUS.is_dir():
        files += sorted(p for p in CORPUS.rglob(f"*{ext}") if p.is_file())
    out = {}
    for p in files:
        if p.stat().st_size <= SEED_MAX_BYTES[fmt]:
            out[p.name if p.name != "model.onnx" else p.parent.name + ".onnx"] = p.read_bytes()
    if fmt == "onnx":
        out.update(built_onnx_models())
    if fmt == "tflite":
        out.update(built_tflite_models())
    if fmt == "gguf":
        out["built.gguf"] = gguf_header(GGUF_VALID)
        out["built_v2.gguf"] = gguf_header({**GGUF_VALID, "version": 2})
        out["built_data.gguf"] = gguf_header(GGUF_VALID) + bytes(-len(gguf_header(GGUF_VALID)) % 32) + \
            bytes(158720)
    return tuple(sorted(out.items(), key=lambda kv: (len(kv[1]), kv[0])))


def built_onnx_models() -> dict[str, bytes]:
    """Small valid models with control flow and functions, which the real seeds lack."""
    import onnx
    from onnx import TensorProto, helper

    def vi(name, dims, t=TensorProto.FLOAT):
        return helper.make_tensor_value_info(name, t, dims)

    body = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "body", [], [vi("y", [1, 4])])
    els = helper.make_graph([helper.make_node("Neg", ["x"], ["y2"])], "else", [], [vi("y2", [1, 4])])
    nested = helper.make_graph([helper.make_node("If", ["c"], ["z"], then_branch=body, else_branch=els)], "nested",
                               [], [vi("z", [1, 4])])
    g_if = helper.make_graph(
        [helper.make_node("If", ["c"], ["out"], then_branch=nested, else_branch=els)], "if_model",
        [vi("x", [1, 4]), vi("c", [], TensorProto.BOOL)], [vi("out", [1, 4])])
    loop_body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Add", ["v_in", "v_in"], ["v_out"])],
        "loop_body", [vi("i", [], TensorProto.INT64), vi("cond_in", [], TensorProto.BOOL), vi("v_in", [1, 4])],
        [vi("cond_out", [], TensorProto.BOOL), vi("v_out", [1, 4])])
    g_loop = helper.make_graph(
        [helper.make_node("Loop", ["n", "c", "x"], ["out"], body=loop_body)], "loop_model",
        [vi("x", [1, 4]), vi("n", [], TensorProto.INT64), vi("c", [], TensorProto.BOOL)], [vi("out", [1, 4])])
    w = helper.make_tensor("w", TensorProto.FLOAT, [4, 4], [0.5] * 16)
    g_ext = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["out"])], "ext_model", [vi("x", [1, 4])],
                              [vi("out", [1, 4])], [w])
    fn = helper.make_function("local", "Twice", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
                              [helper.make_opsetid("", 17)])
    g_fn = helper.make_graph([helper.make_node("Twice", ["x"], ["out"], domain="local")], "fn_model",
                             [vi("x", [1, "seq"])], [vi("out", [1, "seq"])])
    out = {}
    for name, g, extra in (("if", g_if, {}), ("loop", g_loop, {}), ("ext", g_ext, {}),
                           ("fn", g_fn, {"functions": [fn]})):
        opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("local", 1)] if extra else [])
        m = helper.make_model(g, opset_imports=opsets, **extra)
        m.ir_version = 8
        out[f"built_{name}.onnx"] = m.SerializeToString()
    return out


def built_tflite_models() -> dict[str, bytes]:
    """A control-flow TFLite model (WHILE with cond/body subgraphs) and a large-layout one (data past the
    flatbuffer), written with the project's own schema writer."""
    import sys
    import tempfile

    import numpy as np

    sys.path.insert(0, str(REPO / "sample_models"))
    from tflite_writer import G, O, T, write_tflite

    main = G([T("x", [1, 4], "float32"), T("y", [1, 4], "float32")],
             [O("WHILE", [0], [1], "WhileOptions", {"CondSubgraphIndex": 1, "BodySubgraphIndex": 2})], [0], [1])
    cond = G([T("a", [1, 4], "float32"), T("b", [], "bool")], [O("CUSTOM:cond", [0], [1])], [0], [1])
    body = G([T("a", [1, 4], "float32"), T("w", [1, 4], "float32", data=np.ones((1, 4), np.float32)),
              T("c", [1, 4], "float32")], [O("ADD", [0, 1], [2], "AddOptions", {})], [0], [2])
    conv = G([T("x", [1, 8, 8, 3], "int8", scale=[0.1], zero_point=[0]),
              T("w", [4, 3, 3, 3], "int8", data=np.ones((4, 3, 3, 3), np.int8), scale=[0.1] * 4,
                zero_point=[0] * 4),
              T("b", [4], "int32", data=np.zeros(4, np.int32), scale=[0.01] * 4, zero_point=[0] * 4),
              T("y", [1, 8, 8, 4], "int8", scale=[0.2], zero_point=[0])],
             [O("CONV_2D", [0, 1, 2], [3], "Conv2DOptions", {"Padding": 0, "StrideW": 1, "StrideH": 1})], [0], [3])
    out = {}
    with tempfile.TemporaryDirectory() as d:
        out["built_while.tflite"] = write_tflite(Path(d) / "w.tflite", [main, cond, body]).read_bytes()
        out["built_large_layout.tflite"] = write_tflite(Path(d) / "l.tflite", conv,
                                                        data_past_flatbuffer=True).read_bytes()
    return out


# ------------------------------------------------------------------------------------------------- byte level
def _byte_op(draw, data: bytearray) -> None:
    n = len(data)
    kind = draw(st.sampled_from(("truncate", "flip", "overwrite", "insert", "delete", "duplicate", "integer")))
    if n == 0:
        data.extend(draw(st.binary(min_size=1, max_size=64)))
        return
    at = draw(st.integers(0, n - 1))
    if kind == "truncate":
        del data[at:]
    elif kind == "flip":
        data[at] ^= 1 << draw(st.integers(0, 7))
    elif kind == "overwrite":
        data[at] = draw(st.integers(0, 255))
    elif kind == "insert":
        data[at:at] = draw(st.binary(min_size=1, max_size=256))
    elif kind == "delete":
        del data[at:at + draw(st.integers(1, 256))]
    elif kind == "duplicate":
        length = draw(st.integers(1, 512))
        data[draw(st.integers(0, n - 1)):0] = data[at:at + length]
    else:
        width = draw(st.sampled_from((1, 2, 4, 8)))
        value = draw(st.sampled_from(INTERESTING)) % (1 << (8 * width))
        data[at:at + width] = value.to_bytes(width, "little")


@st.composite
def byte_mutations(draw, fmt: str):
    name, raw = draw(st.sampled_from(seeds(fmt)))
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 8))):
        _byte_op(draw, data)
    return bytes(data)


# ------------------------------------------------------------------------------------------------- ONNX
_ONNX_DIMS = st.sampled_from((0, -1, -7, 1, 3, 1 << 31, 1 << 40, 1 << 62, (1 << 63) - 1, -(1 << 63)))


@st.composite
def onnx_mutations(draw):
    import onnx
    from onnx import AttributeProto, TensorProto, helper

    name, raw = draw(st.sampled_from(seeds("onnx")))
    m = onnx.ModelProto()
    m.ParseFromString(raw)
    g = m.graph
    for _ in range(draw(st.integers(1, 6))):
        values = [*g.input, *g.output, *g.value_info]
        kind = draw(st.sampled_from((
            "dim", "dtype", "dangling", "duplicate", "cycle", "attribute", "drop_init", "nest", "opset", "domain",
            "external", "raw_data", "init_dims", "drop_node", "drop_outputs", "ir_version", "op_type",
            "empty_names", "rank")))
        if kind == "dim" and values:
            v = draw(st.sampled_from(values))
            dims = v.type.tensor_type.shape.dim
            if len(dims):
                d = dims[draw(st.integers(0, len(dims) - 1))]
                if draw(st.booleans()):
                    d.dim_value = draw(_ONNX_DIMS)
                else:
                    d.dim_param = draw(st.sampled_from(("", "seq", "N", "x" * 300, "1x2")))
        elif kind == "rank" and values:
            v = draw(st.sampled_from(values))
            for _ in range(draw(st.integers(1, 40))):
                v.type.tensor_type.shape.dim.add().dim_value = draw(st.integers(0, 4))
        elif kind == "dtype":
            target = draw(st.sampled_from(("value", "init"))) if g.initializer else "value"
            dtype = draw(st.sampled_from((0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 16, 17, 21, 23, 40, 99, 1 << 30)))
            if target == "value" and values:
                draw(st.sampled_from(values)).type.tensor_type.elem_type = dtype
            elif g.initializer:
                g.initializer[draw(st.integers(0, len(g.initializer) - 1))].data_type = dtype
        elif kind == "dangling" and g.node:
            node = g.node[draw(st.integers(0, len(g.node) - 1))]
            if node.input:
                node.input[draw(st.integers(0, len(node.input) - 1))] = "no_such_tensor"
            else:
                node.input.append("no_such_tensor")
        elif kind == "duplicate" and len(g.node) >= 2:
            a, b = draw(st.integers(0, len(g.node) - 1)), draw(st.integers(0, len(g.node) - 1))
            if g.node[a].output and g.node[b].output:
                g.node[b].output[0] = g.node[a].output[0]
        elif kind == "cycle" and g.node:
            first, last = g.node[0], g.node[len(g.node) - 1]
            if last.output:
                first.input.append(last.output[0])
            if first.output and last.input:
                last.input[0] = first.output[0]
        elif kind == "attribute" and g.node:
            node = g.node[draw(st.integers(0, len(g.node) - 1))]
            key = draw(st.sampled_from(("axis", "axes", "perm", "kernel_shape", "strides", "pads", "group",
                                        "dilations", "to", "mode", "value", "shape", "epsilon", "body")))
            value = draw(st.one_of(
                st.sampled_from(INTERESTING).map(lambda x: x - (1 << 64) if x >= 1 << 63 else x),
                st.lists(st.integers(-(1 << 62), 1 << 62), max_size=12),
                st.lists(st.integers(0, 3), min_size=200, max_size=300),
                st.floats(allow_nan=True, allow_infinity=True),
                st.text(max_size=20),
                st.builds(lambda n: helper.make_tensor("t", TensorProto.INT64, [n], [1 << 40] * n),
                          st.integers(0, 4)),
                st.just([]),
            ))
            del_existing = [i for i, a in enumerate(node.attribute) if a.name == key]
            for i in reversed(del_existing):
                del node.attribute[i]
            try:
                node.attribute.append(helper.make_attribute(key, value))
            except (ValueError, TypeError):
                a = node.attribute.add()
                a.name, a.type = key, AttributeProto.INTS
            if draw(st.booleans()):
                node.attribute[len(node.attribute) - 1].type = draw(st.integers(0, 14))
        elif kind == "drop_init" and g.initializer:
            del g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
        elif kind == "nest":
            depth = draw(st.integers(1, 12))
            inner = onnx.GraphProto()
            inner.CopyFrom(g)
            inner.name = "b0"
            for k in range(depth):
                op = draw(st.sampled_from(("If", "Loop", "Scan")))
                attrs = ({"then_branch": inner, "else_branch": inner} if op == "If" else
                         {"body": inner} if op == "Loop" else {"body": inner, "num_scan_inputs": 1})
                node = helper.make_node(op, [i.name for i in g.input][:2] or ["c"],
                                        [o.name for o in g.output] or ["out"], **attrs)
                wrapper = onnx.GraphProto()
                wrapper.CopyFrom(g)
                del wrapper.node[:]
                wrapper.node.append(node)
                wrapper.name = f"b{k + 1}"
                inner = wrapper
            g.CopyFrom(inner)
        elif kind == "opset":
            version = draw(st.sampled_from((0, 1, 6, 25, 99, 1 << 31, (1 << 63) - 1, -1)))
            if m.opset_import:
                m.opset_import[draw(st.integers(0, len(m.opset_import) - 1))].version = version
            else:
                m.opset_import.add().version = version
            if draw(st.booleans()):
                m.opset_import.add().domain = draw(st.sampled_from(("com.microsoft", "ai.onnx", "x.y", "")))
        elif kind == "domain" and g.node:
            g.node[draw(st.integers(0, len(g.node) - 1))].domain = draw(st.sampled_from(
                ("com.example", "ai.onnx.ml", "com.microsoft", "ai.onnx.preview.training", "\u00e9", "local")))
        elif kind == "external" and g.initializer:
            t = g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
            t.ClearField("raw_data")
            t.data_location = TensorProto.EXTERNAL
            del t.external_data[:]
            loc = draw(st.sampled_from(("/dev/zero", "/dev/urandom", "/etc/passwd", "../../etc/passwd", "w.bin",
                                        "", "a/../../b", "/proc/self/mem", "nul", "\x00x", "." * 300)))
            for key, val in (("location", loc), ("offset", draw(st.sampled_from(("0", "-5", "99999999999", "x")))),
                             ("length", draw(st.sampled_from(("16", "-1", "1e9", str(1 << 62)))))):
                if draw(st.integers(0, 3)):
                    e = t.external_data.add()
                    e.key, e.value = key, val
        elif kind == "raw_data" and g.initializer:
            t = g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
            t.raw_data = draw(st.binary(max_size=64))
        elif kind == "init_dims" and g.initializer:
            t = g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
            del t.dims[:]
            t.dims.extend(draw(st.lists(_ONNX_DIMS, max_size=6)))
        elif kind == "drop_node" and g.node:
            del g.node[draw(st.integers(0, len(g.node) - 1))]
        elif kind == "drop_outputs":
            del g.output[:]
        elif kind == "ir_version":
            m.ir_version = draw(st.sampled_from((1, 3, 4, 7, 9, 10, 11, 99, 1 << 40)))
        elif kind == "op_type" and g.node:
            g.node[draw(st.integers(0, len(g.node) - 1))].op_type = draw(st.sampled_from(
                ("", "Conv", "If", "Loop", "Reshape", "NoSuchOp", "QuantizeLinear", "MatMulInteger", "Einsum",
                 "Constant", "Resize", "LSTM", "Attention", "TopK", "Split", "Slice", "Gather")))
        elif kind == "empty_names" and g.node:
            node = g.node[draw(st.integers(0, len(g.node) - 1))]
            for i in range(len(node.output)):
                node.output[i] = ""
    try:
        return m.SerializeToString()
    except Exception:  # e.g. an unpaired surrogate somewhere: fall back to the seed bytes, mutated
        return raw


# ------------------------------------------------------------------------------------------------- TFLite
def tflite_slots(buf: bytes) -> list[tuple[int, int, str]]:
    """(byte offset, width, what) of every scalar the reader looks at that is present in the file."""
    from tflite.Model import Model

    slots: list[tuple[int, int, str]] = []

    def field(tab, voff: int, width: int, what: str) -> None:
        o = tab.Offset(voff)
        if o:
            slots.append((tab.Pos + o, width, what))

    def vector(tab, voff: int, width: int, what: str) -> None:
        o = tab.Offset(voff)
        if o:
            start = tab.Vector(o)
            slots.append((start - 4, 4, what + ".length"))
            for j in range(min(tab.VectorLen(o), 64)):
                slots.append((start + j * width, width, what))

    m = Model.GetRootAs(buf, 0)
    t = m._tab
    field(t, 4, 4, "version")
    for voff, what in ((6, "operator_codes"), (8, "subgraphs"), (12, "buffers"), (18, "signature_defs")):
        o = t.Offset(voff)
        if o:
            slots.append((t.Vector(o) - 4, 4, what + ".length"))
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)._tab
        field(oc, 4, 1, "deprecated_builtin_code")
        field(oc, 10, 4, "builtin_code")
        field(oc, 8, 4, "opcode_version")
    for i in range(m.BuffersLength()):
        b = m.Buffers(i)._tab
        field(b, 6, 8, "buffer.offset")
        field(b, 8, 8, "buffer.size")
        o = b.Offset(4)
        if o:
            slots.append((b.Vector(o) - 4, 4, "buffer.data.length"))
    for k in range(m.SubgraphsLength()):
        sg = m.Subgraphs(k)
        vector(sg._tab, 6, 4, "subgraph.inputs")
        vector(sg._tab, 8, 4, "subgraph.outputs")
        for v in (4, 10):
            o = sg._tab.Offset(v)
            if o:
                slots.append((sg._tab.Vector(o) - 4, 4, "subgraph.vector.length"))
        for ti in range(min(sg.TensorsLength(), 200)):
            tt = sg.Tensors(ti)._tab
            vector(tt, 4, 4, "tensor.shape")
            vector(tt, 18, 4, "tensor.shape_signature")
            field(tt, 6, 1, "tensor.type")
            field(tt, 8, 4, "tensor.buffer")
            q = sg.Tensors(ti).Quantization()
            if q is not None:
                vector(q._tab, 8, 4, "quant.scale")
                vector(q._tab, 10, 8, "quant.zero_point")
                field(q._tab, 16, 4, "quant.quantized_dimension")
        for oi in range(min(sg.OperatorsLength(), 200)):
            op = sg.Operators(oi)
            ot = op._tab
            field(ot, 4, 4, "op.opcode_index")
            vector(ot, 6, 4, "op.inputs")
            vector(ot, 8, 4, "op.outputs")
            field(ot, 10, 1, "op.builtin_options_type")
            opts = op.BuiltinOptions()
            if opts is not None:  # control-flow subgraph indices are the first fields of their option tables
                from flatbuffers.table import Table

                tab = Table(opts.Bytes, opts.Pos)
                field(tab, 4, 4, "options.field0")
                field(tab, 6, 4, "options.field1")
    for i in range(m.SignatureDefsLength()):
        field(m.SignatureDefs(i)._tab, 12, 4, "signature.subgraph_index")
    return slots


@lru_cache(maxsize=None)
def _tflite_seed_slots() -> tuple[tuple[str, bytes, tuple[tuple[int, int, str], ...]], ...]:
    out = []
    for name, raw in seeds("tflite"):
        try:
            slots = tflite_slots(raw)
        except Exception:
            continue
        if slots:
            out.append((name, raw, tuple(slots)))
    return tuple(out)


_SLOT_VALUES = st.one_of(st.sampled_from(INTERESTING), st.integers(-300, 300), st.integers(0, (1 << 64) - 1))


@st.composite
def tflite_mutations(draw):
    name, raw, slots = draw(st.sampled_from(_tflite_seed_slots()))
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 6))):
        at, width, what = draw(st.sampled_from(slots))
        value = draw(_SLOT_VALUES) % (1 << (8 * width))
        data[at:at + width] = value.to_bytes(width, "little")
    if draw(st.integers(0, 4)) == 0:
        _byte_op(draw, data)
    return bytes(data)


# ------------------------------------------------------------------------------------------------- GGUF
# GGUF value types: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array, 10 u64, 11 i64,
# 12 f64.
_FMT = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

GGUF_VALID = {
    "version": 3,
    "kv": [("general.architecture", 8, "qwen3"), ("general.name", 8, "fuzz"), ("qwen3.block_count", 4, 2),
           ("qwen3.embedding_length", 4, 256), ("qwen3.attention.head_count", 4, 4),
           ("qwen3.attention.head_count_kv", 4, 2), ("qwen3.context_length", 4, 4096),
           ("qwen3.feed_forward_length", 4, 512), ("general.file_type", 4, 7),
           ("tokenizer.ggml.tokens", 9, (8, ["a", "b", "c"])), ("general.alignment", 4, 32)],
    "tensors": [("token_embd.weight", [256, 320], 8, 0), ("blk.0.attn_q.weight", [256, 256], 8, 87040),
                ("blk.0.attn_norm.weight", [256], 0, 156672), ("output_norm.weight", [256], 0, 157696)],
}


def _gguf_value(vtype: int, value) -> bytes:
    if vtype == 8:
        raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)
        return struct.pack("<Q", len(raw)) + raw
    if vtype == 9:
        etype, items = value
        return struct.pack("<IQ", etype, len(items)) + b"".join(_gguf_value(etype, x) for x in items)
    if vtype in _FMT:
        try:
            return struct.pack("<" + _FMT[vtype], value)
        except (struct.error, OverflowError):
            return struct.pack("<Q", int(value) % (1 << 64)) if isinstance(value, int) else b"\0" * 8
    return struct.pack("<Q", 0)


def gguf_header(h: dict, count_kv: int | None = None, count_tensors: int | None = None) -> bytes:
    out = io.BytesIO()
    out.write(b"GGUF" + struct.pack("<I", h["version"] % (1 << 32)))
    out.write(struct.pack("<QQ", (len(h["tensors"]) if count_tensors is None else count_tensors) % (1 << 64),
                          (len(h["kv"]) if count_kv is None else count_kv) % (1 << 64)))
    for key, vtype, value in h["kv"]:
        raw = key.encode("utf-8", "surrogatepass")
        out.write(struct.pack("<Q", len(raw)) + raw + struct.pack("<I", vtype % (1 << 32)) + _gguf_value(vtype, value))
    for name, dims, gtype, offset in h["tensors"]:
        raw = name.encode()
        out.write(struct.pack("<Q", len(raw)) + raw + struct.pack("<I", len(dims) % (1 << 32)))
        out.write(b"".join(struct.pack("<Q", d % (1 << 64)) for d in dims))
        out.write(struct.pack("<IQ", gtype % (1 << 32), offset % (1 << 64)))
    return out.getvalue()


_U64 = st.one_of(st.sampled_from(INTERESTING), st.integers(0, 1 << 20))


@st.composite
def _gguf_kv(draw, depth: int = 0):
    key = draw(st.one_of(st.sampled_from(("general.architecture", "general.alignment", "general.file_type",
                                          "qwen3.block_count", "llama.context_length", "split.count",
                                          "general.name", "tokenizer.ggml.tokens", "qwen3.embedding_length")),
                         st.text(max_size=12)))
    vtype = draw(st.sampled_from((*range(13), 13, 99)))
    if vtype == 8:
        value = draw(st.one_of(st.text(max_size=40), st.sampled_from(("qwen3", "llama", "gpt2", "x" * 2000))))
    elif vtype == 9:
        etype = draw(st.sampled_from((*range(13), 77)))
        if etype == 9 and depth < 6:
            inner = draw(_gguf_kv(depth + 1))
            items = [inner[2][1]] * draw(st.integers(0, 3)) if inner[1] == 9 else []
            value = (9 if inner[1] == 9 else 4, items)
        elif etype == 8:
            value = (8, draw(st.lists(st.text(max_size=5), max_size=20)))
        elif etype in _FMT:
            value = (etype, draw(st.lists(st.integers(-5, 300), max_size=300)))
        else:
            value = (etype, [])
    elif vtype in _FMT:
        value = draw(st.one_of(st.sampled_from(INTERESTING), st.integers(-10, 10), st.floats()))
        if vtype in (6, 12):
            value = float(value)
        elif vtype == 7:
            value = bool(value)
        elif isinstance(value, float):
            value = 0
    else:
        value = b""
    return (key, vtype, value)


@st.composite
def gguf_structures(draw):
    h = {"version": draw(st.sampled_from((3, 3, 3, 2, 1, 0, 4, 0x03000000, 0xFFFFFFFF))),
         "kv": [tuple(kv) for kv in GGUF_VALID["kv"]], "tensors": [tuple(t) for t in GGUF_VALID["tensors"]]}
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(("add_kv", "drop_kv", "retype_kv", "dims", "type", "offset", "ndims",
                                     "dup_tensor", "name")))
        if kind == "add_kv":
            h["kv"].insert(draw(st.integers(0, len(h["kv"]))), draw(_gguf_kv()))
        elif kind == "drop_kv" and h["kv"]:
            del h["kv"][draw(st.integers(0, len(h["kv"]) - 1))]
        elif kind == "retype_kv" and h["kv"]:
            i = draw(st.integers(0, len(h["kv"]) - 1))
            key, _, _ = h["kv"][i]
            _, vtype, value = draw(_gguf_kv())
            h["kv"][i] = (key, vtype, value)
        elif h["tensors"]:
            i = draw(st.integers(0, len(h["tensors"]) - 1))
            name, dims, gtype, offset = h["tensors"][i]
            if kind == "dims":
                dims = draw(st.lists(_U64, min_size=1, max_size=4))
            elif kind == "type":
                gtype = draw(st.sampled_from((*range(0, 42), 99, 1 << 31)))
            elif kind == "offset":
                offset = draw(_U64)
            elif kind == "ndims":
                dims = draw(st.lists(st.integers(1, 4), min_size=0, max_size=9))
            elif kind == "dup_tensor":
                h["tensors"].append((name, dims, gtype, offset))
            elif kind == "name":
                name = draw(st.sampled_from(("", "x" * 5000, "blk.0.ffn_down.weight", "\u00e9")))
            h["tensors"][i] = (name, dims, gtype, offset)
    counts = {}
    if draw(st.integers(0, 5)) == 0:
        counts["count_kv"] = draw(_U64)
    if draw(st.integers(0, 5)) == 0:
        counts["count_tensors"] = draw(_U64)
    data = bytearray(gguf_header(h, **counts))
    if draw(st.integers(0, 3)) == 0:
        _byte_op(draw, data)
    if draw(st.booleans()):  # a tensor data region, so offsets can land inside the file
        data += bytes(draw(st.integers(0, 4096)))
    return bytes(data)


# ------------------------------------------------------------------------------------------------- drawing
STRATEGIES = {
    "onnx": lambda: st.one_of(byte_mutations("onnx"), onnx_mutations()),
    "tflite": lambda: st.one_of(byte_mutations("tflite"), tflite_mutations()),
    "gguf": lambda: st.one_of(byte_mutations("gguf"), gguf_structures()),
}
EXTENSIONS = {"onnx": ".onnx", "tflite": ".tflite", "gguf": ".gguf"}


def draw_cases(fmt: str, count: int, run_seed: int = 0) -> list[bytes]:
    """``count`` distinct mutated files of ``fmt``, reproducible from ``run_seed``."""
    strategy = STRATEGIES[fmt]()
    out: dict[bytes, None] = {}
    rounds = 0
    while len(out) < count and rounds < 20:
        want = count - len(out)

        @seed(run_seed * 1000 + rounds)
        @settings(max_examples=int(want * 1.3) + 10, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(st.data())
        def collect(data):
            out[data.draw(strategy)] = None

        collect()
        rounds += 1
    return list(out)[:count]


def case_digest(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()[:12]
