"""LLM stage: decoder detection from graph structure, weight bytes per runtime format, KV-cache bytes."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import CORPUS, SAMPLES, needs_corpus
from onnx import TensorProto, helper, numpy_helper

from edgefit.errors import UsageError
from edgefit.llm import WEIGHT_FORMATS, LlmArchitecture, detect_llm, use_more_bits, weight_format
from edgefit.read import read_model

QWEN3 = CORPUS / "qwen3"
SEQ = 8


class _Builder:
    """Builds ONNX decoders with neutral tensor names (t0, t1, ...): detection must not depend on names."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self.n = 0

    def name(self) -> str:
        self.n += 1
        return f"t{self.n}"

    def const(self, arr: np.ndarray) -> str:
        n = self.name()
        self.inits.append(numpy_helper.from_array(arr, n))
        return n

    def weight(self, *shape: int) -> str:
        return self.const((self.rng.standard_normal(shape) * 0.02).astype(np.float32))

    def ints(self, *vals: int) -> str:
        return self.const(np.array(vals, np.int64))

    def op(self, op_type: str, *inputs: str, **attrs) -> str:
        out = self.name()
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out + "_op", **attrs))
        return out

    def ops(self, op_type: str, inputs: list[str], n_out: int, **attrs) -> list[str]:
        outs = [self.name() for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=outs[0] + "_op", **attrs))
        return outs

    def rmsnorm(self, x: str, width: int) -> str:
        ms = self.op("ReduceMean", self.op("Pow", x, self.const(np.array(2.0, np.float32))), axes=[-1], keepdims=1)
        inv = self.op("Reciprocal", self.op("Sqrt", self.op("Add", ms, self.const(np.array(1e-6, np.float32)))))
        return self.op("Mul", self.op("Mul", x, inv), self.const(np.ones(width, np.float32)))

    def layernorm(self, x: str, width: int) -> str:
        return self.op("LayerNormalization", x, self.const(np.ones(width, np.float32)),
                       self.const(np.zeros(width, np.float32)), axis=-1)


def decoder(*, layers=2, hidden=64, heads=4, kv_heads=2, head_dim=16, intermediate=128, vocab=96, tied=True,
            gated=True, fused_qkv=False, qk_norm=True, bias=False, layernorm=False, gemm_head=False,
            positions=None, causal=True, classifier=None) -> onnx.ModelProto:
    """A Llama/Qwen-style (or GPT-2 style with ``fused_qkv``) decoder; ``classifier`` swaps the LM head for a
    pooled classification head."""
    b = _Builder()
    table = b.weight(vocab, hidden)
    x = b.op("Gather", table, "ids")
    if positions:
        pos = b.op("Gather", b.weight(positions, hidden), b.ints(*range(SEQ)))
        x = b.op("Add", x, pos)
    norm = b.layernorm if layernorm else b.rmsnorm
    mask = None
    if causal:  # positions j > i masked: Where(j <= i, 0, -inf), as exporters build it
        r = b.op("Range", b.const(np.array(0, np.int64)), b.const(np.array(SEQ, np.int64)),
                 b.const(np.array(1, np.int64)))
        le = b.op("LessOrEqual", b.op("Unsqueeze", r, b.ints(0)), b.op("Unsqueeze", r, b.ints(1)))
        mask = b.op("Where", le, b.const(np.array(0.0, np.float32)), b.const(np.array(-1e9, np.float32)))
    rep = heads // kv_heads
    for _ in range(layers):
        h = norm(x, hidden)
        if fused_qkv:
            qkv = b.op("MatMul", h, b.weight(hidden, (heads + 2 * kv_heads) * head_dim))
            q, k, v = b.ops("Split", [qkv, b.ints(heads * head_dim, kv_heads * head_dim, kv_heads * head_dim)], 3,
                            axis=-1)
        else:
            q, k, v = (b.op("MatMul", h, b.weight(hidden, n * head_dim)) for n in (heads, kv_heads, kv_heads))
            if bias:
                q, k, v = (b.op("Add", t, b.weight(n * head_dim)) for t, n in ((q, heads), (k, kv_heads),
                                                                               (v, kv_heads)))

        def split_heads(t: str, n: int, normed: bool) -> str:
            t = b.op("Reshape", t, b.ints(1, SEQ, n, head_dim))
            if normed:
                t = b.rmsnorm(t, head_dim)
            t = b.op("Transpose", t, perm=[0, 2, 1, 3])
            if n != heads:  # grouped-query attention: repeat each KV head
                t = b.op("Expand", b.op("Unsqueeze", t, b.ints(2)), b.ints(1, n, rep, SEQ, head_dim))
                t = b.op("Reshape", t, b.ints(1, heads, SEQ, head_dim))
            return t

        qh, kh, vh = split_heads(q, heads, qk_norm), split_heads(k, kv_heads, qk_norm), split_heads(v, kv_heads, False)
        scores = b.op("MatMul", qh, b.op("Transpose", kh, perm=[0, 1, 3, 2]))
        scores = b.op("Mul", scores, b.const(np.array(head_dim ** -0.5, np.float32)))
        if mask:
            scores = b.op("Add", scores, mask)
        ctx = b.op("MatMul", b.op("Softmax", scores, axis=-1), vh)
        ctx = b.op("Reshape", b.op("Transpose", ctx, perm=[0, 2, 1, 3]), b.ints(1, SEQ, heads * head_dim))
        x = b.op("Add", x, b.op("MatMul", ctx, b.weight(heads * head_dim, hidden)))
        h = norm(x, hidden)
        if gated:
            g = b.op("MatMul", h, b.weight(hidden, intermediate))
            act = b.op("Mul", g, b.op("Sigmoid", g))
            act = b.op("Mul", act, b.op("MatMul", h, b.weight(hidden, intermediate)))
        else:
            act = b.op("Relu", b.op("MatMul", h, b.weight(hidden, intermediate)))
        x = b.op("Add", x, b.op("MatMul", act, b.weight(intermediate, hidden)))
    x = norm(x, hidden)
    if classifier:
        logits = b.op("MatMul", b.op("ReduceMean", x, axes=[1], keepdims=0), b.weight(hidden, classifier))
        out_shape = [1, classifier]
    elif gemm_head:
        flat = b.op("Reshape", x, b.ints(SEQ, hidden))
        w = table if tied else b.weight(vocab, hidden)
        logits = b.op("Reshape", b.op("Gemm", flat, w, transB=1), b.ints(1, SEQ, vocab))
        out_shape = [1, SEQ, vocab]
    else:
        w = b.op("Transpose", table, perm=[1, 0]) if tied else b.weight(hidden, vocab)
        logits = b.op("MatMul", x, w)
        out_shape = [1, SEQ, vocab]
    b.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="out"))
    graph = helper.make_graph(b.nodes, "decoder", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, SEQ])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, out_shape)], b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def detect(tmp_path: Path, model: onnx.ModelProto) -> LlmArchitecture | None:
    p = tmp_path / "m.onnx"
    onnx.save(model, p)
    return detect_llm(read_model(p))


def figures(a: LlmArchitecture) -> tuple:
    return (a.layers, a.hidden, a.heads, a.kv_heads, a.head_dim, a.intermediate, a.vocab, a.tied_embeddings)


# -- detection on built graphs -----------------------------------------------------------------------------------

def test_gqa_decoder_with_qk_norm(tmp_path):
    a = detect(tmp_path, decoder(layers=3))
    assert a is not None and figures(a) == (3, 64, 4, 2, 16, 128, 96, True)
    assert a.arch == "qwen3" and a.mlp_gated and a.source == "onnx-graph" and a.file_format == "float32"
    assert any(e.startswith("kv_heads 2: k projection MatMul weight 64x32 / head_dim 16") for e in a.evidence)
    assert any(e.startswith("causal mask: 3 of 3") for e in a.evidence)
    assert a.embedding_params == 96 * 64
    expected = 96 * 64 + 3 * (64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128)
    assert a.params - a.vector_params == expected and a.other_matrix_params == 0
    assert a.file_weight_bytes == 4 * a.params and a.weight_bytes("fp32") == a.file_weight_bytes


def test_llama_layout_untied(tmp_path):
    a = detect(tmp_path, decoder(qk_norm=False, tied=False, heads=8, kv_heads=8, head_dim=8, causal=False))
    assert figures(a) == (2, 64, 8, 8, 8, 128, 96, False) and a.arch == "llama"
    assert any("no causal mask" in e for e in a.evidence)


def test_qkv_bias_is_qwen2(tmp_path):
    assert detect(tmp_path, decoder(qk_norm=False, bias=True)).arch == "qwen2"


def test_fused_qkv_gpt2_style(tmp_path):
    a = detect(tmp_path, decoder(fused_qkv=True, heads=4, kv_heads=4, head_dim=16, qk_norm=False, gated=False,
                                 layernorm=True, gemm_head=True, positions=32, intermediate=256))
    assert figures(a) == (2, 64, 4, 4, 16, 256, 96, True)
    assert a.arch == "decoder" and a.mlp_gated is False and a.context_max == 32
    assert any(e.startswith("fused q/k/v projection") for e in a.evidence)


def test_fused_qkv_with_gqa(tmp_path):
    a = detect(tmp_path, decoder(fused_qkv=True, heads=4, kv_heads=2, qk_norm=False))
    assert (a.heads, a.kv_heads, a.head_dim) == (4, 2, 16)


def test_int4_matmulnbits_projections(tmp_path):
    # onnxruntime-genai style: every block projection a com.microsoft MatMulNBits over packed 4-bit blocks.
    m = decoder(layers=2)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    nodes = []
    for n in g.node:
        w = inits.get(n.input[1]) if n.op_type == "MatMul" else None
        if w is None:
            nodes.append(n)
            continue
        k, cols = w.dims
        packed = numpy_helper.from_array(np.zeros((cols, k // 32, 16), np.uint8), w.name + "q")
        scale = numpy_helper.from_array(np.ones(cols * k // 32, np.float32), w.name + "s")
        g.initializer.remove(w)
        g.initializer.extend([packed, scale])
        nodes.append(helper.make_node("MatMulNBits", [n.input[0], packed.name, scale.name], list(n.output),
                                      name=n.name, domain="com.microsoft", K=k, N=cols, bits=4, block_size=32))
    del g.node[:]
    g.node.extend(nodes)
    m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    a = detect(tmp_path, m)
    assert figures(a) == (2, 64, 4, 2, 16, 128, 96, True)
    assert a.params - a.vector_params == 96 * 64 + 2 * (64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128)
    assert a.file_format == "int4"


def test_gemm_lm_head_untied(tmp_path):
    a = detect(tmp_path, decoder(gemm_head=True, tied=False))
    assert a is not None and not a.tied_embeddings and a.vocab == 96


def test_encoder_classifier_is_not_an_llm(tmp_path):
    # Token embedding and attention, but pooled 10-class logits: a text classifier, not a language model.
    assert detect(tmp_path, decoder(classifier=10, causal=False)) is None


def test_embedding_mlp_without_attention_is_not_an_llm(tmp_path):
    b = _Builder()
    x = b.op("Gather", b.weight(96, 32), "ids")
    x = b.op("MatMul", b.op("Relu", b.op("MatMul", x, b.weight(32, 64))), b.weight(64, 32))
    b.nodes.append(helper.make_node("MatMul", [x, b.weight(32, 96)], ["logits"], name="head"))
    g = helper.make_graph(b.nodes, "mlp", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, SEQ])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, SEQ, 96])], b.inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    assert detect(tmp_path, m) is None


def test_sample_tiny_decoder_is_detected():
    # sample_models/make_samples.py: one unmasked single-head block, embedding Gather, separate LM head.
    a = detect_llm(read_model(SAMPLES / "tiny_decoder.onnx"))
    assert figures(a) == (1, 32, 1, 1, 32, None, 256, False) and a.mlp_gated is None
    assert a.kv_cache_bytes_per_token() == 2 * 1 * 1 * 32 * 2


def _non_llm_models() -> list[Path]:
    light = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
    paths = [p for p in SAMPLES.iterdir() if p.suffix in (".onnx", ".tflite") and p.name != "tiny_decoder.onnx"]
    paths += sorted(light.glob("*.onnx"))
    if CORPUS.is_dir():
        paths += [Path(p) for p in sorted(glob.glob(str(CORPUS / "wheels" / "**" / "*.onnx"), recursive=True))]
        # keras/tiny_transformer_*: a one-block Transformer *classifier* on float [1, 64, 64] input (no token
        # embedding, 10 classes out), so not a language model either.
        paths += sorted(p for p in (CORPUS / "keras").iterdir() if p.suffix in (".onnx", ".tflite"))
    return sorted(paths)


@pytest.mark.parametrize("path", _non_llm_models(), ids=lambda p: p.name)
def test_no_false_positives(path):
    assert detect_llm(read_model(path)) is None


# -- the corpus Qwen3 graphs -------------------------------------------------------------------------------------

QWEN3_CONFIGS = {  # ../shared/corpus/qwen3/README.md
    "qwen3-0.6b.onnx": (28, 1024, 16, 8, 128, 3072, 151936, True),
    "qwen3-1.7b.onnx": (28, 2048, 16, 8, 128, 6144, 151936, True),
    "qwen3-tiny.onnx": (2, 64, 4, 2, 16, 128, 1024, True),
}


@needs_corpus
@pytest.mark.parametrize("name", sorted(QWEN3_CONFIGS))
def test_qwen3_graphs_match_their_configs(name):
    a = detect_llm(read_model(QWEN3 / name))  # the 0.6b/1.7b weights files are absent: shapes come from the graph
    assert a is not None and figures(a) == QWEN3_CONFIGS[name]
    assert a.arch == "qwen3" and a.mlp_gated and a.file_format == "float32"
    json.dumps(a.to_dict())


@needs_corpus
@pytest.mark.parametrize("name", ["qwen3-0.6b.onnx", "qwen3-1.7b.onnx"])
def test_qwen3_kv_cache(name):
    # cpu-and-unified-memory.md §6: 2 x 28 layers x 8 KV heads x 128 x 2 bytes.
    a = detect_llm(read_model(QWEN3 / name))
    assert a.kv_cache_bytes_per_token("fp16") == 114_688 == 2 * 28 * 8 * 128 * 2
    assert a.kv_cache_bytes(4096) == 114_688 * 4096
    assert a.kv_cache_bytes_per_token("q8_0") == 2 * 28 * (1024 // 32) * 34


@needs_corpus
def test_qwen3_parameters_and_initializer_bytes():
    a = detect_llm(read_model(QWEN3 / "qwen3-0.6b.onnx"))
    # README: 595,985,639 initializer elements, of which a few dozen are int64 shape constants (not weights).
    assert 595_985_000 < a.params <= 595_985_639
    assert a.embedding_params == 151936 * 1024
    assert a.file_weight_bytes == 4 * a.params


@needs_corpus
@pytest.mark.parametrize("name,fmt,published", [
    # GGUF file sizes listed in GiveThanksAlways/jetpack-nixos (cpu-and-unified-memory.md §6).
    ("qwen3-0.6b.onnx", "q8_0", 0.67e9),
    ("qwen3-1.7b.onnx", "q4_k_m", 1.12e9),
])
def test_weight_bytes_land_near_published_gguf_sizes(name, fmt, published):
    a = detect_llm(read_model(QWEN3 / name))
    assert abs(a.weight_bytes(fmt) - published) / published < 0.10


@needs_corpus
def test_q4_k_m_recipe_for_qwen3_1_7b():
    a = detect_llm(read_model(QWEN3 / "qwen3-1.7b.onnx"))
    h, i, kvd, qd = 2048, 6144, 1024, 2048
    q4k, q6k = 144 / 256, 210 / 256
    more = sum(use_more_bits(layer, 28) for layer in range(28))
    expected = (151936 * h * q6k                                    # tied embedding = output tensor: Q6_K
                + 28 * (qd * h + kvd * h + h * qd + 2 * i * h) * q4k  # q, k, o, gate, up: Q4_K
                + more * (kvd * h + h * i) * q6k                      # attn_v, ffn_down in use_more_bits layers
                + (28 - more) * (kvd * h + h * i) * q4k
                + a.vector_params * 4)                                # norms stay F32
    assert more == 14
    assert a.weight_bytes("q4_k_m") == int(expected)
    by_role = a.weight_bytes_by_role("q4_k_m")
    assert by_role["token_embd"] == 151936 * (h // 256) * 210


# -- formats and arithmetic --------------------------------------------------------------------------------------

def test_use_more_bits_matches_llama_cpp_for_28_layers():
    # i < 28/8 = 3, i >= 7*28/8 = 24, or (i - 3) % 3 == 2.
    assert [i for i in range(28) if use_more_bits(i, 28)] == [0, 1, 2, 5, 8, 11, 14, 17, 20, 23, 24, 25, 26, 27]


def _arch(**kw) -> LlmArchitecture:
    base = dict(arch="llama", layers=2, hidden=256, heads=4, kv_heads=2, head_dim=64, intermediate=512, vocab=1000,
                tied_embeddings=False, params=0, embedding_params=256000, context_max=None, source="onnx-graph",
                file_format="float32", file_weight_bytes=0, vector_params=0)
    base.update(kw)
    a = LlmArchitecture(**base)
    if not kw.get("params"):
        a = LlmArchitecture(**{**base, "params": sum(m.params for m in a.matrices())})
    return a


def test_every_format_is_documented_and_priced():
    a = _arch()
    for key, f in WEIGHT_FORMATS.items():
        assert f.description and f.source and f.bits_per_weight > 0
        assert a.weight_bytes(key) > 0
    assert a.weight_bytes("fp32") == 4 * a.params and a.weight_bytes("fp16") == 2 * a.params
    # Real bits per weight of the ggml formats on matrices whose rows fit whole blocks.
    assert a.weight_bytes("q8_0") == a.params * 34 // 32
    assert weight_format("Q4_K_M").key == "q4_k_m" and weight_format("float16").key == "fp16"
    with pytest.raises(UsageError):
        weight_format("q3_k_xs")


def test_weight_only_formats_keep_embeddings_fp16():
    a = _arch()
    emb = 2 * 1000 * 256 * 2  # untied: embedding and LM head, fp16 each
    linear = a.params - 2 * 1000 * 256
    int4 = a.weight_bytes("int4") - emb
    assert linear * 4.15625 / 8 <= int4 <= linear * 4.15625 / 8 + 64
    assert a.weight_bytes("int8") - emb > linear  # scales on top of one byte per weight


def test_ggml_fallback_for_rows_not_a_multiple_of_256():
    a = _arch(hidden=96, head_dim=24, intermediate=160)  # Q4_K needs rows of 256: llama.cpp falls back to Q5_0
    assert a._ggml_type("q4_k_m", a.matrices()[1]) == "Q5_0"
    assert a._ggml_type("q4_k_m", a.matrices()[0]) == "Q5_0"  # untied embedding at the default type, fallen back
    assert a._ggml_type("q4_k_m", a.matrices()[-1]) == "Q8_0"  # output: Q8_0 when rows do not fit Q6_K


def test_kv_cache_formula_and_errors():
    a = _arch()
    assert a.kv_cache_bytes_per_token() == 2 * 2 * 2 * 64 * 2
    assert a.kv_cache_bytes(10, "fp32") == 10 * 2 * 2 * 2 * 64 * 4
    for bad in (0, -1, 1.5, True):
        with pytest.raises(UsageError):
            a.kv_cache_bytes(bad)
    with pytest.raises(UsageError):
        a.kv_cache_bytes_per_token("int3")


def test_to_dict_is_deterministic_json():
    a = _arch(evidence=("x",))
    d = a.to_dict()
    assert json.dumps(d, sort_keys=False) == json.dumps(_arch(evidence=("x",)).to_dict(), sort_keys=False)
    assert d["kv_cache_bytes_per_token"] == a.kv_cache_bytes_per_token()
    assert set(d["weight_bytes"]) == set(WEIGHT_FORMATS)
