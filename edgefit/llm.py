"""LLM stage: find a decoder-only language model in a ``Model`` and price its memory, device-independent.

``detect_llm`` reads the architecture (layers, heads, KV heads, head dim, vocabulary, tied embeddings) from
the op graph's structure (ONNX) or from the file's metadata (GGUF). ``LlmArchitecture`` then says what the
weights cost in each runtime weight format, with the real bits per weight of that format, and what the KV
cache costs per token. Which formats a device's runtime offers is the device analyses' business, not this
module's. docs/llm.md describes the detection and every figure's source.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from edgefit.errors import UsageError
from edgefit.graph import Model, Op, OpGraph, Tensor

# ---------------------------------------------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------------------------------------------

#: ggml block layouts: type -> (weights per block, bytes per block). The same figures as the gguf package's
#: GGML_QUANT_SIZES (a test checks they agree); kept here so pricing works without the optional package.
GGML_BLOCKS: dict[str, tuple[int, int]] = {
    "F32": (1, 4), "F16": (1, 2), "BF16": (1, 2),
    "Q8_0": (32, 34),   # 32 int8 + one fp16 scale
    "Q4_0": (32, 18),   # 32 4-bit + one fp16 scale
    "Q5_0": (32, 22), "Q5_1": (32, 24), "Q4_1": (32, 20),
    "Q4_K": (256, 144),  # 8 sub-blocks of 32 4-bit, 6-bit sub-scales/mins, fp16 super-scale and min
    "Q6_K": (256, 210),  # 16 sub-blocks of 16 6-bit, int8 sub-scales, fp16 super-scale
}

_LLAMA_QUANT = "llama.cpp src/llama-quant.cpp (llama_tensor_get_type, tensor_type_fallback)"
_GGML_COMMON = "ggml ggml/src/ggml-common.h (block_q8_0, block_q4_0, block_q4_K, block_q6_K)"


@dataclass(frozen=True)
class WeightFormat:
    """A runtime weight format: how its quantized matrices are stored and which tensors it quantizes."""

    key: str
    #: Bits per weight of the format's main matrix type, scales included (Q4_K for q4_k_m).
    bits_per_weight: float
    description: str
    source: str
    #: "float": everything at one width; "ggml": llama.cpp quantization; "weight-only": GPU/NPU runtimes'
    #: fp8/int8/int4 linear layers with fp16 embeddings, LM head and vectors; "integer": every tensor integer.
    family: str

    def to_dict(self) -> dict[str, Any]:
        return {"bits_per_weight": self.bits_per_weight, "description": self.description, "source": self.source,
                "family": self.family}


WEIGHT_FORMATS: dict[str, WeightFormat] = {f.key: f for f in (
    WeightFormat("fp32", 32.0, "IEEE float32, every tensor", "IEEE 754", "float"),
    WeightFormat("fp16", 16.0, "IEEE float16, every tensor", "IEEE 754", "float"),
    WeightFormat("bf16", 16.0, "bfloat16, every tensor", "bfloat16 (8-bit exponent, 7-bit mantissa)", "float"),
    WeightFormat("q8_0", 8.5, "ggml Q8_0: blocks of 32 int8 + one fp16 scale = 34 B / 32 weights; 1-D tensors "
                 "stay F32", f"{_GGML_COMMON}; {_LLAMA_QUANT}", "ggml"),
    WeightFormat("q4_0", 4.5, "ggml Q4_0: blocks of 32 4-bit + one fp16 scale = 18 B / 32; the output (or tied "
                 "embedding) tensor goes to Q6_K; 1-D tensors stay F32", f"{_GGML_COMMON}; {_LLAMA_QUANT}", "ggml"),
    WeightFormat("q4_k_m", 4.5, "llama.cpp Q4_K_M mix: Q4_K (144 B / 256 = 4.5 bpw) for most matrices, Q6_K "
                 "(210 B / 256 = 6.5625 bpw) for the output (or tied embedding) tensor and for attn_v and ffn_down "
                 "in the layers use_more_bits picks (the first and last eighth and every third between, about "
                 "half); 1-D tensors stay F32", f"{_GGML_COMMON}; {_LLAMA_QUANT}", "ggml"),
    WeightFormat("int8", 8.0, "weight-only int8 (W8A16), per-output-channel fp16 scale, for the decoder's linear "
                 "layers; embedding, LM head and 1-D tensors stay fp16",
                 "TensorRT-LLM docs reference/precision.html (INT8 weight-only, per-channel scaling); NVIDIA "
                 "ModelOpt quantization/config.py leaves '*lm_head*' unquantized", "weight-only"),
    WeightFormat("fp8", 8.0, "FP8 (e4m3) linear layers with one fp32 scale per tensor; embedding, LM head and "
                 "1-D tensors stay fp16",
                 "TensorRT-LLM docs reference/precision.html (FP8 per-tensor); NVIDIA ModelOpt quantization/config.py "
                 "leaves '*lm_head*' unquantized", "weight-only"),
    WeightFormat("int4", 4.15625, "AWQ/GPTQ-style int4, groups of 128 along the input with an fp16 scale and a "
                 "4-bit packed zero per group: 4 + 16/128 + 4/128 = 4.156 bpw (an fp16 zero would make it 4.25); "
                 "embedding, LM head and 1-D tensors stay fp16",
                 "AutoAWQ awq/modules/linear/gemm.py WQLinear_GEMM (qweight int4, qzeros int4 packed in int32, "
                 "scales fp16 per group); onnxruntime MatMulNBits uses the same block layout", "weight-only"),
    # Full-integer compilers (Coral, Hailo) quantize every tensor, embedding included, with per-channel scales.
    WeightFormat("int16", 16.0, "every tensor 16-bit integer with one fp32 scale per output channel (full-integer "
                 "compilers' 16-bit mode)", "per-channel affine quantization as in TFLite's quantization spec",
                 "integer"),
    WeightFormat("uint8", 8.0, "every tensor 8-bit integer with one fp32 scale per output channel (full-integer "
                 "post-training quantization)", "TFLite 8-bit quantization spec (per-axis weights)", "integer"),
)}

_FORMAT_ALIASES = {"float32": "fp32", "f32": "fp32", "float16": "fp16", "f16": "fp16", "half": "fp16",
                   "bfloat16": "bf16", "q4_k_m": "q4_k_m", "w8a16": "int8", "w4a16": "int4"}

#: KV-cache element formats: (elements per block, bytes per block). Blocks run along a layer's K (or V) row of
#: kv_heads x head_dim values, as llama.cpp lays out its quantized caches.
KV_CACHE_DTYPES: dict[str, tuple[int, int]] = {
    "fp32": (1, 4), "fp16": (1, 2), "bf16": (1, 2), "fp8": (1, 1), "int8": (1, 1),
    "q8_0": GGML_BLOCKS["Q8_0"], "q4_0": GGML_BLOCKS["Q4_0"],
}

#: The llama_ftype the ggml formats stand for, and the default tensor type llama.cpp gives it.
_GGML_DEFAULT_TYPE = {"q8_0": "Q8_0", "q4_0": "Q4_0", "q4_k_m": "Q4_K"}
#: tensor_type_fallback: what llama.cpp uses when a row length is not a multiple of the type's block.
_GGML_FALLBACK = {"Q4_K": "Q5_0", "Q6_K": "Q8_0"}

#: GGUF general.file_type names that match a priced format.
_FILE_FORMAT_KEYS = {"F32": "fp32", "F16": "fp16", "BF16": "bf16", "Q8_0": "q8_0", "Q4_0": "q4_0",
                     "Q4_K_M": "q4_k_m", "float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}


def weight_format(name: str) -> WeightFormat:
    """``"q4_k_m"``, ``"Q4_K_M"``, ``"float16"``... -> its ``WeightFormat``; UsageError for anything else."""
    key = name.strip().lower()
    key = _FORMAT_ALIASES.get(key, key)
    if key not in WEIGHT_FORMATS:
        raise UsageError(f"unknown weight format {name!r}; known: {', '.join(WEIGHT_FORMATS)}")
    return WEIGHT_FORMATS[key]


def use_more_bits(i_layer: int, n_layers: int) -> bool:
    """llama.cpp's choice of the layers whose attn_v / ffn_down get more bits in Q4_K_M (C integer division)."""
    return i_layer < n_layers // 8 or i_layer >= 7 * n_layers // 8 or (i_layer - n_layers // 8) % 3 == 2


def _ggml_bytes(gtype: str, rows: int, cols: int) -> int:
    per_block, block_bytes = GGML_BLOCKS[gtype]
    return rows * (cols // per_block) * block_bytes


# ---------------------------------------------------------------------------------------------------------------
# The architecture
# ---------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Matrix:
    """One weight matrix as ggml stores it: ``cols`` is the row length (input features) quantization runs along."""

    role: str  # token_embd | output | attn_q | attn_k | attn_v | attn_output | ffn_gate | ffn_up | ffn_down
    layer: int | None
    rows: int
    cols: int

    @property
    def params(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True)
class LlmArchitecture:
    """A decoder-only transformer's shape and where each figure was found."""

    arch: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int | None
    vocab: int
    tied_embeddings: bool
    #: Every weight parameter in the file (tied embeddings counted once).
    params: int
    #: vocab x hidden: the token embedding table (the LM head too when tied).
    embedding_params: int
    context_max: int | None
    source: str  # "onnx-graph" | "gguf"
    #: GGUF: general.file_type ("Q4_K_M"); ONNX: the dtype holding most weight bytes ("float32").
    file_format: str
    #: GGUF: bytes of tensor data per the tensor infos; ONNX: bytes of the weight initializers.
    file_weight_bytes: int
    #: Parameters in 1-D tensors (norm weights, biases): quantizers leave them in float.
    vector_params: int = 0
    #: SwiGLU-style gate + up projections (True), a single up projection (False), no MLP found (None).
    mlp_gated: bool | None = True
    evidence: tuple[str, ...] = field(default=())

    # -- weights -------------------------------------------------------------------------------------------------

    def matrices(self) -> list[Matrix]:
        """The weight matrices the architecture implies, in GGUF order (embedding, per-layer, output)."""
        h, qd, kvd = self.hidden, self.heads * self.head_dim, self.kv_heads * self.head_dim
        out = [Matrix("token_embd", None, self.vocab, h)]
        for i in range(self.layers):
            out += [Matrix("attn_q", i, qd, h), Matrix("attn_k", i, kvd, h), Matrix("attn_v", i, kvd, h),
                    Matrix("attn_output", i, h, qd)]
            if self.intermediate:
                if self.mlp_gated:
                    out.append(Matrix("ffn_gate", i, self.intermediate, h))
                out += [Matrix("ffn_up", i, self.intermediate, h), Matrix("ffn_down", i, h, self.intermediate)]
        if not self.tied_embeddings:
            out.append(Matrix("output", None, self.vocab, h))
        return out

    @property
    def other_matrix_params(self) -> int:
        """Matrix parameters the layout above does not account for (extra projections, experts): priced at the
        format's main type."""
        return max(0, self.params - self.vector_params - sum(m.params for m in self.matrices()))

    def weight_bytes_by_role(self, fmt: str) -> dict[str, int]:
        """Bytes of the weights stored in ``fmt``, by tensor role (``vectors`` and ``other`` included)."""
        f = weight_format(fmt)
        by_role: Counter[str] = Counter()
        mats = self.matrices()
        if f.family == "float":
            width = int(f.bits_per_weight) // 8
            for m in mats:
                by_role[m.role] += m.params * width
            by_role["vectors"] += self.vector_params * width
            by_role["other"] += self.other_matrix_params * width
        elif f.family == "ggml":
            for m in mats:
                by_role[m.role] += _ggml_bytes(self._ggml_type(f.key, m), m.rows, m.cols)
            by_role["vectors"] += self.vector_params * 4  # llama.cpp quantizes only tensors of 2+ dims
            by_role["other"] += math.ceil(self.other_matrix_params * f.bits_per_weight / 8)
        elif f.family == "integer":
            width = int(f.bits_per_weight) // 8
            for m in mats:
                by_role[m.role] += m.params * width + m.rows * 4
            by_role["vectors"] += self.vector_params * width
            by_role["other"] += self.other_matrix_params * width
        else:
            for m in mats:
                by_role[m.role] += self._weight_only_bytes(f.key, m)
            by_role["vectors"] += self.vector_params * 2
            by_role["other"] += math.ceil(self.other_matrix_params * f.bits_per_weight / 8)
        return {k: v for k, v in by_role.items() if v}

    def weight_bytes(self, fmt: str) -> int:
        """Bytes of all weights stored in ``fmt`` (a ``WEIGHT_FORMATS`` key), per that format's real layout."""
        return _weight_bytes(self, fmt)

    def _ggml_type(self, fmt: str, m: Matrix) -> str:
        """The ggml type llama.cpp's quantizer picks for this tensor at this llama_ftype (dense models)."""
        default = _GGML_DEFAULT_TYPE[fmt]
        gtype = default
        if m.role == "output" or (m.role == "token_embd" and self.tied_embeddings):
            # A tied table is quantized as the output tensor is, since it is one.
            if m.cols % GGML_BLOCKS[default][0]:
                gtype = "Q8_0"
            elif default != "Q8_0":
                gtype = "Q6_K"
        elif fmt == "q4_k_m" and m.role in ("attn_v", "ffn_down") and use_more_bits(m.layer or 0, self.layers):
            gtype = "Q6_K"
        if m.cols % GGML_BLOCKS[gtype][0]:
            gtype = _GGML_FALLBACK.get(gtype, "F16")
            if m.cols % GGML_BLOCKS[gtype][0]:
                gtype = "F16"
        return gtype

    @staticmethod
    def _weight_only_bytes(fmt: str, m: Matrix) -> int:
        if m.role in ("token_embd", "output"):
            return m.params * 2
        if fmt == "int8":
            return m.params + m.rows * 2  # int8 weights + one fp16 scale per output channel
        if fmt == "fp8":
            return m.params + 4
        groups = -(-m.cols // 128)
        return m.rows * (-(-m.cols // 2)) + m.rows * groups * 2 + -(-(m.rows * groups) // 2)

    @property
    def file_weight_format(self) -> str | None:
        """The ``WEIGHT_FORMATS`` key the file's own weights are in, when it is one of them."""
        return _FILE_FORMAT_KEYS.get(self.file_format)

    # -- KV cache ------------------------------------------------------------------------------------------------

    def kv_cache_bytes_per_token(self, kv_dtype: str = "fp16") -> int:
        """K and V of every layer for one token: 2 x layers x kv_heads x head_dim x element bytes."""
        if kv_dtype not in KV_CACHE_DTYPES:
            raise UsageError(f"unknown KV-cache dtype {kv_dtype!r}; known: {', '.join(KV_CACHE_DTYPES)}")
        per_block, block_bytes = KV_CACHE_DTYPES[kv_dtype]
        row = self.kv_heads * self.head_dim
        return 2 * self.layers * (-(-row // per_block)) * block_bytes

    def kv_cache_bytes(self, context: int, kv_dtype: str = "fp16") -> int:
        if isinstance(context, bool) or not isinstance(context, int) or context <= 0:
            raise UsageError(f"--context must be a positive number of tokens, got {context!r}")
        return self.kv_cache_bytes_per_token(kv_dtype) * context

    def to_dict(self, context: int = 4096) -> dict[str, Any]:
        """JSON-ready and deterministic: the figures, weight bytes per format and KV-cache bytes."""
        return {
            "arch": self.arch, "source": self.source, "layers": self.layers, "hidden": self.hidden,
            "heads": self.heads, "kv_heads": self.kv_heads, "head_dim": self.head_dim,
            "intermediate": self.intermediate, "mlp_gated": self.mlp_gated, "vocab": self.vocab,
            "tied_embeddings": self.tied_embeddings, "params": self.params,
            "embedding_params": self.embedding_params, "vector_params": self.vector_params,
            "context_max": self.context_max, "file_format": self.file_format,
            "file_weight_bytes": self.file_weight_bytes,
            "weight_bytes": {k: self.weight_bytes(k) for k in WEIGHT_FORMATS},
            "kv_cache_bytes_per_token": self.kv_cache_bytes_per_token("fp16"),
            "kv_cache": {"context": context,
                         "by_dtype": {k: {"bytes_per_token": self.kv_cache_bytes_per_token(k),
                                          "bytes": self.kv_cache_bytes(context, k)} for k in KV_CACHE_DTYPES}},
            "evidence": list(self.evidence),
        }


# ---------------------------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=512)
def _weight_bytes(arch: LlmArchitecture, fmt: str) -> int:
    # compare prices every device's formats and the JSON lists them all: walk the matrices once per format
    return sum(arch.weight_bytes_by_role(fmt).values())


def detect_llm(model: Model) -> LlmArchitecture | None:
    """The decoder-only LLM in ``model``, or None when it is not one.

    ONNX: from the graph's structure (shapes of the projections, never tensor names). GGUF: from the header's
    metadata and tensor infos. TFLite: None (LLM conversions to TFLite are rare and not covered).
    """
    if model.format == "gguf":
        return _from_gguf(model)
    if model.format == "onnx" and model.graphs:
        return _OnnxDecoder(model.main).detect()
    return None


#: dtypes that hold weights (shape vectors and indices are int64/int32 and are not weights).
_WEIGHT_DTYPES = {"float32", "float16", "bfloat16", "float64", "int8", "uint8", "int4", "uint4",
                  "float8e4m3fn", "float8e5m2", "float8e4m3fnuz", "float8e5m2fnuz", "float4e2m1"}

#: Ops a weight passes through between its initializer and the MatMul that reads it.
_WEIGHT_PATH = {"Transpose", "DequantizeLinear", "Cast", "Identity"}
#: Ops that only move or reshape data: followed through their data input (input 0) only.
_DATA_INPUT_ONLY = {"Reshape", "Expand", "Slice", "Tile", "Squeeze", "Unsqueeze", "Transpose", "Split", "Pad",
                    "Flatten", "Cast", "Identity", "Gather", "DequantizeLinear", "QuantizeLinear", "Dropout"}
#: Ops whose outputs say nothing about their inputs' values: never walked through.
_SHAPE_OPS = {"Shape", "Size", "ConstantOfShape", "Range", "EyeLike", "RandomNormalLike", "RandomUniformLike"}
#: Elementwise ops between the score MatMul and the Softmax (scale, mask) and between Softmax and the MatMul by V.
_SCORE_PATH = {"Add", "Mul", "Div", "Sub", "Where", "Cast", "Max", "Min", "Clip", "Identity", "Reshape", "Tanh"}
_PROB_PATH = {"Where", "Cast", "Dropout", "Identity", "Reshape"}

_WALK_LIMIT = 256  # ops visited per upstream search: a block is ~90 ops; keeps a search inside its block


@dataclass(frozen=True, eq=False)
class _Projection:
    """A MatMul/Gemm/MatMulNBits by a constant weight matrix."""

    op: Op
    in_features: int
    out_features: int
    weight: str  # name of the initializer behind the weight operand

    def label(self) -> str:
        return f"{self.op.type} weight {self.in_features}x{self.out_features}"


@dataclass(frozen=True, eq=False)
class _Attention:
    softmax: Op
    scores: Op  # MatMul(Q, K^T)
    context: Op  # MatMul(P, V)
    q: frozenset[int]
    k: frozenset[int]
    v: frozenset[int]


class _OnnxDecoder:
    """Structural search for a decoder-only transformer in one ONNX graph."""

    def __init__(self, graph: OpGraph):
        self.g = graph
        self.evidence: list[str] = []

    # -- small graph helpers ----------------------------------------------------------------------------------

    def _const(self, name: str) -> Tensor | None:
        t = self.g.tensors.get(name)
        return t if t is not None and t.is_constant else None

    def _weight_source(self, name: str) -> tuple[Tensor, bool] | None:
        """The static 2-D initializer behind a weight operand, and whether it reaches the op transposed."""
        transposed = False
        for _ in range(4):
            t = self._const(name)
            if t is not None:
                ok = t.is_static and t.shape is not None and len(t.shape) == 2 and t.dtype in _WEIGHT_DTYPES
                return (t, transposed) if ok else None
            op = self.g.producer(name)
            if op is None or op.type not in _WEIGHT_PATH or not op.inputs:
                return None
            if op.type == "Transpose":
                perm = op.attrs.get("perm")
                if perm is not None and list(perm) != [1, 0]:
                    return None
                transposed = not transposed
            name = op.inputs[0]
        return None

    def _projection(self, op: Op) -> _Projection | None:
        if op.type == "MatMulNBits" and len(op.inputs) >= 2:
            k, n = op.attrs.get("K"), op.attrs.get("N")
            if isinstance(k, int) and isinstance(n, int) and self._const(op.inputs[1]) is not None:
                return _Projection(op, k, n, op.inputs[1])
            return None
        if op.type not in ("MatMul", "Gemm") or len(op.inputs) < 2 or self._const(op.inputs[0]) is not None:
            return None
        src = self._weight_source(op.inputs[1])
        if src is None:
            return None
        t, transposed = src
        if op.type == "Gemm" and op.attrs.get("transB"):
            transposed = not transposed
        rows, cols = t.shape  # type: ignore[misc]
        k, n = (cols, rows) if transposed else (rows, cols)
        return _Projection(op, int(k), int(n), t.name)

    def _upstream(self, tensor: str, stop: dict[int, Any],
                  every_input: bool = False) -> tuple[frozenset[int], list[Op]]:
        """Ops of ``stop`` first reached walking up from ``tensor`` along data (not shape) inputs, and the ops
        passed; ``every_input`` also walks conditions and shape operands (for what builds a mask)."""
        found: set[int] = set()
        passed: list[Op] = []
        todo, seen = [tensor], set()
        while todo and len(seen) < _WALK_LIMIT:
            name = todo.pop()
            op = self.g.producer(name)
            if op is None or op.index in seen:
                continue
            seen.add(op.index)
            if op.index in stop:
                found.add(op.index)
                continue
            if op.type in _SHAPE_OPS:
                continue
            passed.append(op)
            if every_input:
                inputs = op.inputs
            elif op.type in _DATA_INPUT_ONLY:
                inputs = op.inputs[:1]
            elif op.type == "Where":
                inputs = op.inputs[1:3]
            else:
                inputs = op.inputs
            todo.extend(i for i in inputs if i and self._const(i) is None)
        return frozenset(found), passed

    def _downstream(self, tensor: str, through: set[str], depth: int) -> Iterable[tuple[Op, str]]:
        """(consumer, the tensor it reads) for ops reached from ``tensor`` through data inputs of ``through`` ops."""
        frontier = [tensor]
        for _ in range(depth):
            nxt = []
            for name in frontier:
                for op in self.g.consumers(name):
                    yield op, name
                    if op.type in through and op.outputs and not (op.type == "Where" and op.inputs[0] == name):
                        nxt.append(op.outputs[0])
            frontier = nxt

    def _shape(self, name: str) -> tuple[Any, ...] | None:
        t = self.g.tensors.get(name)
        return None if t is None else t.shape

    # -- the search -------------------------------------------------------------------------------------------

    def _embedding(self) -> tuple[Op, Tensor, str] | None:
        """The token embedding: Gather on a [vocab, hidden] initializer by ids from an integer graph input."""
        int_inputs = {n for n in self.g.inputs if self.g.tensors[n].dtype in ("int64", "int32")}
        best = None
        for op in self.g.ops:
            if op.type != "Gather" or len(op.inputs) < 2 or op.attrs.get("axis", 0) != 0:
                continue
            src = self._weight_source(op.inputs[0])
            if src is None or src[1]:
                continue
            ids = op.inputs[1]
            for _ in range(4):  # ids may be cast or reshaped on the way in
                if ids in int_inputs:
                    break
                prod = self.g.producer(ids)
                if prod is None or prod.type not in ("Cast", "Reshape", "Unsqueeze", "Squeeze", "Flatten",
                                                     "Identity"):
                    break
                ids = prod.inputs[0]
            if ids not in int_inputs:
                continue
            if best is None or src[0].shape[0] > best[1].shape[0]:  # type: ignore[index]
                best = (op, src[0], ids)
        return best

    def _attention_cores(self, projections: dict[int, _Projection]) -> list[_Attention]:
        cores = []
        for sm in self.g.ops:
            if sm.type != "Softmax" or not sm.inputs or not sm.outputs:
                continue
            scores = self._score_matmul(sm.inputs[0])
            context = None
            for op, name in self._downstream(sm.outputs[0], _PROB_PATH, 4):
                if (op.type == "MatMul" and len(op.inputs) == 2 and op.inputs[0] == name
                        and self._const(op.inputs[1]) is None and op.index not in projections):
                    context = op
                    break
            if scores is None or context is None:
                continue
            q, _ = self._upstream(scores.inputs[0], projections)
            k, _ = self._upstream(scores.inputs[1], projections)
            v, _ = self._upstream(context.inputs[1], projections)
            if q and k and v:
                cores.append(_Attention(sm, scores, context, q, k, v))
        return cores

    def _score_matmul(self, name: str) -> Op | None:
        """MatMul(Q, K^T) upstream of a Softmax through scaling and masking: both operands computed, not weights."""
        todo, seen = [name], 0
        while todo and seen < 16:
            op = self.g.producer(todo.pop(0))
            seen += 1
            if op is None:
                continue
            if op.type == "MatMul" and len(op.inputs) == 2 and all(self._const(i) is None for i in op.inputs) \
                    and self._weight_source(op.inputs[1]) is None:
                return op
            if op.type in _SCORE_PATH:
                ins = op.inputs[1:3] if op.type == "Where" else op.inputs
                todo.extend(i for i in ins if i and self._const(i) is None)
        return None

    def detect(self) -> LlmArchitecture | None:
        g = self.g
        emb = self._embedding()
        if emb is None:
            return None
        emb_op, table, ids = emb
        vocab, hidden = (int(d) for d in table.shape)  # type: ignore[union-attr]
        projections = {op.index: p for op in g.ops if (p := self._projection(op)) is not None}
        below_embedding = g.descendants(emb_op)
        cores = [c for c in self._attention_cores(projections)
                 if c.softmax.index in below_embedding and all(i in below_embedding for i in c.k | c.q)]
        if not cores:
            return None
        head = self._lm_head(projections, vocab, hidden)
        if head is None:
            return None  # attention over token embeddings but no logits over the vocabulary: not a language model
        ev = self.evidence
        ev.append(f"token embedding: Gather on {table.dtype} initializer {table.name} [{vocab}x{hidden}] indexed by "
                  f"integer input {ids}")
        ev.append(f"layers {len(cores)}: {len(cores)} softmax-attention blocks (MatMul(Q,K^T) -> Softmax -> "
                  "MatMul(P,V)) downstream of the embedding")

        layouts = Counter(self._layout(c, projections) for c in cores)
        layout, _ = layouts.most_common(1)[0]
        if layout is None:
            return None
        if len(layouts) > 1:
            ev.append(f"attention projections differ between blocks ({len(layouts)} layouts); the most common is used")
        core = next(c for c in cores if self._layout(c, projections) == layout)
        qp, kp, vp = (projections[next(iter(s))] for s in (core.q, core.k, core.v))
        qkv = self._heads(core, qp, kp, vp)
        if qkv is None:
            return None
        heads, kv_heads, head_dim = qkv

        attention_ops = {i for c in cores for i in c.q | c.k | c.v} | self._output_projections(cores, projections)
        intermediate, gated = self._mlp(projections, attention_ops | {head.op.index}, hidden, len(cores))
        tied = head.weight == table.name
        ev.append(f"tied embeddings: the logits {head.op.type} reads {table.name}, the embedding table" if tied else
                  f"untied embeddings: the logits {head.op.type} reads {head.weight} [{head.in_features}x"
                  f"{head.out_features}], not the embedding table")
        params, vector_params, fmt, file_bytes = self._weights()
        context_max = self._position_table(hidden, emb_op)
        ev.append(self._causal_evidence(cores))
        arch = self._family(core, projections, gated)
        return LlmArchitecture(
            arch=arch, layers=len(cores), hidden=hidden, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
            intermediate=intermediate, vocab=vocab, tied_embeddings=tied, params=params,
            embedding_params=vocab * hidden, context_max=context_max, source="onnx-graph", file_format=fmt,
            file_weight_bytes=file_bytes, vector_params=vector_params, mlp_gated=gated, evidence=tuple(ev))

    @staticmethod
    def _layout(core: _Attention, projections: dict[int, _Projection]) -> tuple[Any, ...] | None:
        """(in, out) of the q, k and v projections, and which of them are one fused op; None unless one each."""
        if any(len(s) != 1 for s in (core.q, core.k, core.v)):
            return None
        q, k, v = (projections[next(iter(s))] for s in (core.q, core.k, core.v))
        return (q.in_features, q.out_features, k.in_features, k.out_features, v.in_features, v.out_features,
                q.op.index == k.op.index, k.op.index == v.op.index)

    def _heads(self, core: _Attention, qp: _Projection, kp: _Projection,
               vp: _Projection) -> tuple[int, int, int] | None:
        ev = self.evidence
        fused = qp.op.index == kp.op.index == vp.op.index
        head_dim = heads = None
        # The Reshape that splits the q projection's output into heads states both figures.
        for op, _ in self._downstream(qp.op.outputs[0], {"Add", "Split", "Slice"}, 3):
            if op.type != "Reshape":
                continue
            dims = self._split_dims(op)
            if dims is not None and (fused or dims[0] * dims[1] == qp.out_features):
                heads, head_dim = dims
                ev.append(f"head_dim {head_dim}: Reshape after the q projection to [..., {heads}, {head_dim}]")
                break
        q_operand = self._shape(core.scores.inputs[0])
        if head_dim is None and q_operand is not None and len(q_operand) >= 4 and isinstance(q_operand[-1], int):
            head_dim = q_operand[-1]
            if isinstance(q_operand[-3], int):
                heads = q_operand[-3]
            ev.append(f"head_dim {head_dim}: last dim of the Q operand of the score MatMul {list(q_operand)}")
        if head_dim is None and q_operand is not None and len(q_operand) == 3 and not fused:
            head_dim, heads = qp.out_features, 1
            ev.append(f"head_dim {head_dim}: the Q operand {list(q_operand)} is not split into heads (one head)")
        if head_dim is None or head_dim <= 0:
            return None
        if fused:
            if heads is None or qp.out_features % head_dim:
                return None
            kv_heads, rest = divmod(qp.out_features // head_dim - heads, 2)
            if rest or kv_heads <= 0:
                return None
            ev.append(f"fused q/k/v projection {qp.label()}: {heads} query heads + 2 x {kv_heads} KV heads of "
                      f"{head_dim}")
            return heads, kv_heads, head_dim
        if qp.out_features % head_dim or kp.out_features % head_dim:
            return None
        heads = qp.out_features // head_dim
        kv_heads = kp.out_features // head_dim
        ev.append(f"heads {heads}: q projection {qp.label()} / head_dim {head_dim}")
        ev.append(f"kv_heads {kv_heads}: k projection {kp.label()} / head_dim {head_dim}")
        if vp.out_features != kp.out_features:
            ev.append(f"v projection {vp.label()} differs from k; the KV-cache figure assumes V rows as wide as K")
        return heads, kv_heads, head_dim

    def _split_dims(self, reshape: Op) -> tuple[int, int] | None:
        """(heads, head_dim) from a Reshape's output shape or, failing that, its constant target."""
        shape = self._shape(reshape.outputs[0]) if reshape.outputs else None
        if shape is not None and len(shape) >= 4 and all(isinstance(d, int) and d > 0 for d in shape[-2:]):
            return int(shape[-2]), int(shape[-1])
        target = self._const(reshape.inputs[1]) if len(reshape.inputs) > 1 else None
        if target is not None and target.value is not None:
            try:
                vals = [int(v) for v in np.asarray(target.value).ravel().tolist()]
            except (TypeError, ValueError):
                return None
            if len(vals) >= 4 and vals[-1] > 0 and vals[-2] > 0:
                return vals[-2], vals[-1]
        return None

    def _output_projections(self, cores: list[_Attention], projections: dict[int, _Projection]) -> set[int]:
        out = set()
        for c in cores:
            for op, _ in self._downstream(c.context.outputs[0], {"Transpose", "Reshape", "Flatten", "Identity",
                                                                  "Cast"}, 4):
                if op.index in projections:
                    out.add(op.index)
                    break
        return out

    def _lm_head(self, projections: dict[int, _Projection], vocab: int, hidden: int) -> _Projection | None:
        """The projection to vocab-sized logits that reaches a graph output (softcapping/casts allowed)."""
        outputs = set(self.g.outputs)
        for p in projections.values():
            if p.out_features != vocab or p.in_features != hidden:
                continue
            if p.op.outputs and p.op.outputs[0] in outputs:
                return p
            for op, _ in self._downstream(p.op.outputs[0], {"Add", "Mul", "Div", "Tanh", "Cast", "Reshape",
                                                             "Identity"}, 4):
                if any(o in outputs for o in op.outputs):
                    return p
        return None

    def _mlp(self, projections: dict[int, _Projection], attention: set[int], hidden: int,
             layers: int) -> tuple[int | None, bool | None]:
        """Intermediate size from the MLP's up (and gate) projections: hidden -> I, with a down projection I -> hidden."""
        rest = [p for i, p in projections.items() if i not in attention]
        ups = Counter(p.out_features for p in rest if p.in_features == hidden and p.out_features != hidden)
        for size, count in ups.most_common():
            downs = sum(1 for p in rest if p.in_features == size and p.out_features == hidden)
            if downs:
                gated = count >= 2 * downs
                self.evidence.append(f"intermediate {size}: {count} MLP projections {hidden}x{size} "
                                     f"({count // max(downs, 1)} per down projection {size}x{hidden}: "
                                     f"{'gated' if gated else 'not gated'})")
                return size, gated
        self.evidence.append("no MLP found (no hidden -> I -> hidden projection pair)")
        return None, None

    def _weights(self) -> tuple[int, int, str, int]:
        """(params, vector params, dtype holding most weight bytes, weight bytes) over the initializers.

        Packed blocks (MatMulNBits) count K x N weights in ``int{bits}``; quantization scales and zero points
        count as bytes of the weights they scale, not as parameters.
        """
        packed: dict[str, tuple[int, str]] = {}
        scales: set[str] = set()
        for op in self.g.ops:
            if op.type == "MatMulNBits" and len(op.inputs) >= 2:
                k, n = op.attrs.get("K"), op.attrs.get("N")
                if isinstance(k, int) and isinstance(n, int):
                    packed[op.inputs[1]] = (k * n, f"int{op.attrs.get('bits', 4)}")
                scales.update(i for i in op.inputs[2:4] if i)
            elif op.type == "DequantizeLinear":
                scales.update(i for i in op.inputs[1:3] if i)
        params = vector = 0
        by_dtype: Counter[str] = Counter()
        for t in self.g.tensors.values():
            if not t.is_constant or t.dtype not in _WEIGHT_DTYPES or t.num_elements is None:
                continue
            dtype = t.dtype
            if t.name in packed:
                n, dtype = packed[t.name]
            elif t.name in scales:
                n = 0
            else:
                n = t.num_elements
            params += n
            if t.shape is not None and len(t.shape) <= 1:
                vector += n
            by_dtype[dtype] += t.byte_size or 0
        fmt = by_dtype.most_common(1)[0][0] if by_dtype else "unknown"
        return params, vector, fmt, sum(by_dtype.values())

    def _position_table(self, hidden: int, embedding: Op) -> int | None:
        """Learned positions (GPT-2 style): a [positions, hidden] table whose rows are added to the token
        embeddings bounds the context."""
        tokens = embedding.outputs[0]
        for op in self.g.ops:
            if op.type == "Gather" and op.inputs and op is not embedding and op.outputs and any(
                    c.type == "Add" and tokens in c.inputs for c in self.g.consumers(op.outputs[0])):
                src = self._weight_source(op.inputs[0])
                if src is not None and not src[1] and src[0].shape[1] == hidden:  # type: ignore[index]
                    n = int(src[0].shape[0])  # type: ignore[index]
                    self.evidence.append(f"context_max {n}: learned position table {src[0].name} [{n}x{hidden}]")
                    return n
        return None

    def _causal_evidence(self, cores: list[_Attention]) -> str:
        masked = 0
        for c in cores:
            _, passed = self._upstream(c.softmax.inputs[0], {c.scores.index: c.scores}, every_input=True)
            if any(op.type in ("Trilu", "LessOrEqual", "Less", "Greater", "GreaterOrEqual") for op in passed):
                masked += 1
        if masked:
            return f"causal mask: {masked} of {len(cores)} blocks add a position-comparison mask to the scores"
        return "no causal mask in the graph (a decode-step or unmasked export)"

    def _family(self, core: _Attention, projections: dict[int, _Projection], gated: bool | None) -> str:
        """A llama.cpp family name when the block layout is distinctive; "decoder" otherwise."""
        types = Counter(op.type for op in self.g.ops)
        rms = types.get("SimplifiedLayerNormalization", 0) + types.get("RMSNormalization", 0) > 0 or any(
            op.type == "ReduceMean" and (p := self.g.producer(op.inputs[0])) is not None and p.type == "Pow"
            for op in self.g.ops)
        layernorm = types.get("LayerNormalization", 0) > 0
        _, q_path = self._upstream(core.scores.inputs[0], projections)
        qk_norm = any(op.type in ("ReduceMean", "SimplifiedLayerNormalization", "RMSNormalization") for op in q_path)
        qp = projections[next(iter(core.q))]
        bias = any(op.type == "Add" and any(self._const(i) is not None for i in op.inputs)
                   for op in self.g.consumers(qp.op.outputs[0]))
        silu = any(op.type == "Sigmoid" for op in self.g.ops)
        traits = [("RMSNorm" if rms else "LayerNorm" if layernorm else "no norm found"),
                  ("per-head q/k norm" if qk_norm else "no q/k norm"), ("q/k/v bias" if bias else "no q/k/v bias"),
                  ("SiLU-gated MLP" if gated and silu else "gated MLP" if gated else "ungated or no MLP")]
        arch = "decoder"
        if rms and gated and silu:
            arch = "qwen3" if qk_norm and not bias else "qwen2" if bias and not qk_norm else \
                "llama" if not bias else "decoder"
        self.evidence.append(f"arch {arch}: {', '.join(traits)}"
                             + (" (the llama.cpp family with that block layout)" if arch != "decoder" else ""))
        return arch


# ---------------------------------------------------------------------------------------------------------------
# GGUF
# ---------------------------------------------------------------------------------------------------------------

#: GGUF architectures that are encoders (no KV cache, not generative): not reported as decoder LLMs.
_GGUF_ENCODERS = {"bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "t5encoder", "neo-bert", "modern-bert",
                  "clip"}
_ARRAY_RE = re.compile(r"^array\[(\d+)\] of ")


def _meta_int(meta: dict[str, str], key: str) -> tuple[int | None, str | None]:
    """An integer key, or the largest value of a per-layer array key; (value, note on arrays)."""
    raw = meta.get(key)
    if raw is None:
        return None, None
    try:
        value = int(raw)
        return (value if value > 0 else None), None
    except ValueError:
        pass
    if raw.startswith("[") and raw.endswith("]"):
        try:
            vals = [int(v) for v in raw[1:-1].split(",") if v.strip()]
        except ValueError:
            return None, None
        if vals:
            return max(vals), f"{key} varies by layer ({min(vals)}..{max(vals)}); the largest is used"
    return None, None


def _from_gguf(model: Model) -> LlmArchitecture | None:
    meta = model.metadata
    arch = meta.get("general.architecture", "")
    if not arch or arch in _GGUF_ENCODERS:
        return None
    ev: list[str] = []
    vals: dict[str, int | None] = {}
    for name, key in (("layers", "block_count"), ("hidden", "embedding_length"), ("heads", "attention.head_count"),
                      ("kv_heads", "attention.head_count_kv"), ("head_dim", "attention.key_length"),
                      ("intermediate", "feed_forward_length"), ("context_max", "context_length")):
        vals[name], note = _meta_int(meta, f"{arch}.{key}")
        if note:
            ev.append(note)
    layers, hidden, heads = vals["layers"], vals["hidden"], vals["heads"]
    tensors = model.main.tensors
    # A vocab-only GGUF (llama.cpp ships them for tokenizer tests) has the metadata but no weights; and a
    # block count beyond the tensor count is not a model either (and would make the layer list unbounded).
    if not layers or not hidden or not heads or layers > len(tensors):
        return None
    ev.append(f"layers {layers}, hidden {hidden}, heads {heads}: {arch}.block_count, {arch}.embedding_length, "
              f"{arch}.attention.head_count")
    kv_heads = vals["kv_heads"] or heads
    ev.append(f"kv_heads {kv_heads}: " + (f"{arch}.attention.head_count_kv" if vals["kv_heads"] else
                                          "no head_count_kv key, so one KV head per query head (llama.cpp's default)"))
    head_dim = vals["head_dim"] or hidden // heads
    ev.append(f"head_dim {head_dim}: " + (f"{arch}.attention.key_length" if vals["head_dim"] else
                                          "embedding_length / head_count"))

    embd = tensors.get("token_embd.weight")
    tokens = _ARRAY_RE.match(meta.get("tokenizer.ggml.tokens", ""))
    if embd is not None and embd.shape and len(embd.shape) == 2:
        vocab = int(embd.shape[0])  # type: ignore[arg-type]
        ev.append(f"vocab {vocab}: token_embd.weight [{vocab}x{embd.shape[1]}]")
    elif tokens:
        vocab = int(tokens.group(1))
        ev.append(f"vocab {vocab}: length of tokenizer.ggml.tokens")
    else:
        return None
    tied = "output.weight" not in tensors
    ev.append("tied embeddings: no output.weight tensor, so the LM head reads token_embd.weight" if tied else
              "untied embeddings: output.weight is stored separately")
    params = vector = data_bytes = 0
    for t in tensors.values():
        n = t.num_elements or 0
        params += n
        if t.shape is not None and len(t.shape) <= 1:
            vector += n
        data_bytes += t.byte_size or 0
    gated = any(".ffn_gate." in n for n in tensors) if any(".ffn_up." in n for n in tensors) else None
    if vals["intermediate"]:
        ev.append(f"intermediate {vals['intermediate']}: {arch}.feed_forward_length")
    experts, _ = _meta_int(meta, f"{arch}.expert_count")
    if experts:
        ev.append(f"{experts} experts: expert tensors are priced as unmodeled matrices, not per expert")
    file_format = meta.get("edgefit.file_type_name") or _dominant_type(tensors)
    ev.append(f"file format {file_format}: " + ("general.file_type" if "edgefit.file_type_name" in meta else
                                                "no general.file_type; the type holding most tensor bytes"))
    return LlmArchitecture(
        arch=arch, layers=layers, hidden=hidden, heads=heads, kv_heads=kv_heads, head_dim=head_dim,
        intermediate=vals["intermediate"], vocab=vocab, tied_embeddings=tied, params=params,
        embedding_params=vocab * hidden, context_max=vals["context_max"], source="gguf", file_format=file_format,
        file_weight_bytes=data_bytes, vector_params=vector, mlp_gated=gated, evidence=tuple(ev))


def _dominant_type(tensors: dict[str, Tensor]) -> str:
    by_type: Counter[str] = Counter()
    for t in tensors.values():
        by_type[t.dtype] += t.byte_size or 0
    if not by_type:
        return "unknown"
    name = by_type.most_common(1)[0][0]
    return {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}.get(name, name.upper())
