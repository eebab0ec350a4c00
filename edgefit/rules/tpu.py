"""Cloud TPU rules (TPU v5e): what XLA on a TPU chip does with a model, and what stands in the way.

Cloud TPU runs XLA programs, so every op that has an XLA (StableHLO) form runs on the chip. What the rules find:

- memory: weights (and an LLM's KV cache) against the chip's HBM (``TPU-FIT``, ``TPU-FIT-REDUCED``,
  ``TPU-NO-FIT``), with the reminder that v5e is a datacenter chip, a reference point rather than an edge device;
- the input format: XLA compiles StableHLO from JAX, PyTorch/XLA or TensorFlow; an ONNX or TFLite file needs a
  conversion or a re-export (``TPU-INPUT-FORMAT``), and LLMs are served by their own engines (``TPU-LLM``);
- dynamic shapes: XLA compiles for static shapes, so every new input shape compiles a new program
  (``TPU-DYNAMIC-SHAPES``);
- precision: float32 matmuls run as bfloat16 passes by default (``TPU-FP32``), float16 is not a v5e compute type
  in the reference (``TPU-FP16``);
- ops XLA has no form for: string tensors (``TPU-STRING``, host CPU), ONNX sequence ops and custom-domain ops a
  StableHLO converter must rewrite (``TPU-SEQUENCE``, ``TPU-CUSTOM-OP``).

Facts: ``/work/shared/reference/cpu-and-unified-memory.md`` §4 (cited "ref §4") and the documents cited per rule.
Model-level rules read ``TpuFacts`` (built by ``edgefit.targets.tpu``); op rules read the op graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgefit.graph import Op, OpGraph
from edgefit.rules import DOCS_DIR, Rule, all_rules, rule, write_doc
from edgefit.targets.whole_graph import FitFacts, count_types, describe_dims, gib

DOCS_PATH = DOCS_DIR / "tpu.md"

# -- evidence -----------------------------------------------------------------------------------------------------

RECOMPILE_SOURCE = ("docs.pytorch.org/xla/release/r2.8/perf/recompilation.html: \"XLA handles static shape only ... "
                    "XLA recompiles when input shape changes\"")
BF16_SOURCE = ("cloud.google.com/tpu/docs/bfloat16: \"By default, TPUs perform matrix multiplication operations with "
               "bfloat16 values and accumulations with IEEE float32 values\"; docs.jax.dev/en/latest/201/"
               "precision.html: full float32 takes several bfloat16 passes")
SERVING_SOURCE = "cloud.google.com/tpu/docs/v5e-inference (JetStream, vLLM)"
#: StableHLO element types are booleans, integers, floats and complex numbers: there is no string type
#: (openxla/stablehlo docs/spec.md, "Types").
STABLEHLO_TYPES = "openxla/stablehlo docs/spec.md: element types are boolean, integer, floating-point and complex"
#: ONNX ops whose values are sequences of tensors (or optionals): StableHLO has tensors and fixed-size tuples only.
SEQUENCE_OPS = frozenset({
    "SequenceConstruct", "SequenceEmpty", "SequenceAt", "SequenceInsert", "SequenceErase", "SequenceLength",
    "SequenceMap", "SplitToSequence", "ConcatFromSequence", "Optional", "OptionalGetElement", "OptionalHasElement",
})
FORMAT_NAMES = {"onnx": "ONNX", "tflite": "TFLite"}
STANDARD_DOMAINS = frozenset({"ai.onnx", "ai.onnx.ml", "tflite", ""})
#: Ops whose operands the MXUs multiply (ONNX and TFLite spellings).
MATMUL_OPS = frozenset({"MatMul", "Gemm", "Conv", "ConvTranspose", "Einsum", "FULLY_CONNECTED", "CONV_2D",
                        "DEPTHWISE_CONV_2D", "BATCH_MATMUL", "TRANSPOSE_CONV", "CONV_3D"})


@dataclass(frozen=True)
class TpuFacts:
    """What the model-level TPU rules read; built by ``edgefit.targets.tpu``."""

    model_format: str
    fit: FitFacts
    llm: Any = None
    llm_runtime: str | None = None
    llm_formats: tuple[str, ...] = ()
    dynamic_dims: dict[str, list[str]] = field(default_factory=dict)
    #: The chip ("TPU v5e") and its HBM, for the fit message.
    chip: str = "TPU"


def _dtypes(op: Op, graph: OpGraph) -> set[str]:
    return {graph.tensors[n].dtype for n in (*op.inputs, *op.outputs) if n and n in graph.tensors}


def _ops_with(graph: OpGraph, dtype: str, types: frozenset[str] | None = None) -> list[Op]:
    return [op for _, op in graph.walk()
            if (types is None or op.type in types) and dtype in _dtypes(op, graph) and op.type not in ("Cast", "CAST")]


def _op_list(ops: list[Op], limit: int = 3) -> str:
    return f"{count_types(op.type for op in ops)} (first: {', '.join(op.name or f'#{op.index}' for op in ops[:limit])})"


# -- memory fit --------------------------------------------------------------------------------------------------

@rule("TPU-NO-FIT", scope="model",
      hint="Shard the model over a slice of several chips (the JetStream tutorial uses v5litepod-8, 8 chips, with "
           "tensor parallelism), or quantize it to int8/int4.")
def no_fit(op: None, graph: OpGraph, facts: TpuFacts) -> str | None:
    """The model does not fit in one chip's HBM at any precision its serving stack offers: one chip cannot load
    it."""
    return facts.fit.detail() if facts.fit.state == "none" else None


@rule("TPU-FIT-REDUCED", scope="model", severity="warning",
      hint="Quantize to the precision shown (JetStream MaxText: quantization=int8) or shard over several chips.")
def fit_reduced(op: None, graph: OpGraph, facts: TpuFacts) -> str | None:
    """The model fits in one chip's HBM only at a smaller precision than the one it comes in."""
    return facts.fit.detail() if facts.fit.state == "reduced" else None


@rule("TPU-FIT", scope="model", severity="info")
def fit(op: None, graph: OpGraph, facts: TpuFacts) -> str | None:
    """Fits in one chip's HBM. TPU v5e is a datacenter accelerator, in the catalog as a reference point for edge
    devices, not an edge device itself (ref §4)."""
    return facts.fit.detail() if facts.fit.state == "fits" else None


@rule("TPU-FIT-UNKNOWN", scope="model", severity="info", hint="Give the HBM size: --set memory.size_bytes=<bytes>.")
def fit_unknown(op: None, graph: OpGraph, facts: TpuFacts) -> str | None:
    """Memory fit unknown: the device spec gives no HBM size."""
    return facts.fit.detail() if facts.fit.state == "unknown" else None


# -- input format and serving --------------------------------------------------------------------------------------

@rule("TPU-INPUT-FORMAT", scope="model", severity="info",
      hint="Re-export from the source framework with JAX (jax.jit), PyTorch/XLA or TensorFlow, or convert the ONNX "
           "graph to StableHLO (onnx-mlir's ONNX-to-StableHLO conversion covers a subset of ONNX).")
def input_format(op: None, graph: OpGraph, facts: TpuFacts) -> str | None:
    """Cloud TPU runs XLA programs (StableHLO) built by JAX, PyTorch/XLA or TensorFlow; there is no ONNX or TFLite
    runtime for TPUs, so this file is analysed as the XLA program its conversion would be."""
    if facts.llm is not None or facts.model_format not in ("onnx", "tflite"):
        return None
    return f"a {FORMAT_NAMES.get(facts.model_format, facts.model_format)} file"


@rule("TPU-LLM", scope="model", severity="info", params={"source": SERVING_SOURCE},
      hint="Serve the original checkpoint with JetStream (MaxText engine: weight_dtype=bfloat16, quantization=int8, "
           "quantize_kvcache=True) or vLLM on TPU.")
def decoder_llm(op: None, graph: OpGraph, facts: TpuFacts) -> str | None:
    """A decoder-only LLM. On Cloud TPU LLMs are served by JetStream (MaxText or PyTorch engines) or vLLM from the
    original checkpoint, not from an ONNX or GGUF file; the memory fit is computed for their weight formats with
    a bfloat16 KV cache ({source})."""
    if facts.llm is None:
        return None
    return (f"{facts.llm_runtime or 'JetStream'}; weight formats {', '.join(facts.llm_formats)}; KV cache "
            f"{facts.llm.kv_cache_bytes_per_token(facts.fit.kv_dtype):,} B/token ({facts.fit.kv_dtype})")


# -- shapes and precision ------------------------------------------------------------------------------------------

@rule("TPU-DYNAMIC-SHAPES", scope="model", severity="warning", params={"source": RECOMPILE_SOURCE},
      hint="Pad inputs to a few bucket sizes (e.g. sequence lengths 128, 256, 512, ... up to the maximum) so XLA "
           "compiles one program per bucket, once; JetStream bounds prompts with max_prefill_predict_length.")
def dynamic_shapes(op: None, graph: OpGraph, facts: TpuFacts) -> str | None:
    """The model has dynamic input dimensions. XLA compiles for static shapes: every distinct input shape compiles
    a new program before it runs ({source})."""
    return describe_dims(facts.dynamic_dims) if facts.dynamic_dims else None


@rule("TPU-FP32", scope="model", severity="warning", params={"source": BF16_SOURCE},
      hint="Store weights and activations in bfloat16 (half the HBM and bandwidth); if float32 accuracy is "
           "required, request it per op (jax precision='highest'), at several times the MXU time.")
def fp32_matmuls(op: None, graph: OpGraph, facts: TpuFacts) -> str | None:
    """Matrix multiplications and convolutions on float32 tensors: TPUs multiply them as bfloat16 with float32
    accumulation by default, and true float32 takes several bfloat16 passes ({source}); float32 weights also take
    twice the HBM of bfloat16."""
    if facts.llm is not None:  # served from the checkpoint in the serving formats (TPU-LLM), not as exported
        return None
    ops = _ops_with(graph, "float32", MATMUL_OPS)
    return _op_list(ops) if ops else None


@rule("TPU-FP16", scope="model", severity="warning",
      hint="Convert float16 weights to bfloat16 (same size, float32's exponent range).")
def fp16_tensors(op: None, graph: OpGraph, facts: TpuFacts) -> str | None:
    """The model computes in float16. The reference gives TPU v5e peak figures for bfloat16 (197 TFLOPS) and int8
    (393 TOPS) only (ref §4); float16 is not what its matrix units are rated for, so convert to bfloat16."""
    ops = _ops_with(graph, "float16")
    return _op_list(ops) if ops else None


# -- ops without an XLA form (op scope) ------------------------------------------------------------------------------

@rule("TPU-STRING", params={"source": STABLEHLO_TYPES},
      hint="Do string processing (tokenization, label lookup) on the host before and after the TPU program.")
def string_tensors(op: Op, graph: OpGraph, facts: TpuFacts) -> str | None:
    """The op works on string tensors, which XLA cannot represent ({source}): it runs on the host CPU of the TPU
    VM, outside the compiled program."""
    names = [n for n in (*op.inputs, *op.outputs) if n and n in graph.tensors and graph.tensors[n].dtype == "string"]
    return f"string tensor {names[0]}" if names else None


@rule("TPU-SEQUENCE", applies_to=SEQUENCE_OPS, severity="warning",
      hint="Replace sequences by fixed-size tensors (stack or concatenate) before converting.")
def sequence_op(op: Op, graph: OpGraph, facts: TpuFacts) -> str | None:
    """ONNX sequence and optional values have no StableHLO type (StableHLO has tensors and fixed-size tuples): a
    converter must unroll the sequence to a fixed number of tensors, which only works when its length is static."""
    return op.type


@rule("TPU-CUSTOM-OP", severity="warning",
      hint="Re-export with standard ops, or give the converter a decomposition of the op into standard ops.")
def custom_domain_op(op: Op, graph: OpGraph, facts: TpuFacts) -> str | None:
    """The op belongs to a non-standard domain (an ONNX Runtime contrib op, or a TFLite custom op): it is defined
    by the runtime that registers its kernel, not by ONNX or TFLite, so a StableHLO converter has no lowering for
    it unless one is written."""
    custom = op.domain not in STANDARD_DOMAINS or op.type.startswith("CUSTOM:")
    return f"{op.domain}:{op.type}" if custom else None


# -- registry and docs ---------------------------------------------------------------------------------------------

def tpu_rules() -> list[Rule]:
    return all_rules("TPU-")


def generate_docs() -> str:
    """Markdown for docs/devices/tpu.md: every TPU rule, then every tpu-family device with its memory figures."""
    from edgefit.devices import list_devices

    lines = [
        "# Cloud TPU (TPU v5e)",
        "",
        "Generated by `edgefit.rules.tpu.write_docs()` from the rules and the device specs; do not edit by hand.",
        "",
        "TPU v5e is a datacenter accelerator, in the catalog as a reference point for edge devices. XLA compiles "
        "the whole model for the chip, so every op runs on it (`full`) except ops on string tensors, which run on "
        "the TPU VM's host CPU (`partial`); a model that does not fit in one chip's HBM at any offered precision is "
        "`rejected` (shard it over a slice instead). Memory = `memory.size_bytes` (16 GiB HBM2 per chip); a decoder "
        "LLM counts at each of `llm.weight_formats` plus its KV cache at `--context` tokens (`llm.kv_cache_dtype`), "
        "any other model at its own precision, then bfloat16 and int8.",
        "",
        "## Rules",
        "",
    ]
    for r in tpu_rules():
        scope = "model" if r.scope == "model" else ("all ops" if r.applies_to is None else
                                                    ", ".join(sorted(r.applies_to)))
        lines += [f"### {r.code}", "", r.doc, "", f"- applies to: {scope}", f"- severity: {r.severity}"]
        if r.hint:
            lines.append(f"- hint: {r.hint}")
        lines.append("")
    lines += ["## Devices", "", "| device | HBM | bandwidth | bf16 | int8 | LLM runtime | LLM weight formats |",
              "|---|---|---|---|---|---|---|"]
    specs = [s for s in list_devices() if s.family == "tpu"]
    for s in specs:
        lines.append(f"| `{s.id}` ({s.name}) | {gib(s.get('memory.size_bytes'))} {s.get('memory.type') or ''} | "
                     f"{s.get('memory.bandwidth_gb_s')} GB/s | {s.get('compute.peak_tflops_bf16')} TFLOPS | "
                     f"{s.get('compute.peak_tops_int8')} TOPS | {s.get('llm.runtime') or '-'} | "
                     f"{', '.join(s.get('llm.weight_formats') or []) or '-'} |")
    lines += ["", "Sources:", ""]
    for s in specs:
        for key in ("memory.size_bytes", "memory.bandwidth_gb_s", "compute.peak_tflops_bf16"):
            fig = s.figure(key)
            if fig is not None:
                lines.append(f"- `{s.id}` `{key}`: {fig['source']}")
    lines.append("")
    return "\n".join(lines)


def write_docs(path: str | Path = DOCS_PATH) -> Path:
    """Regenerate ``docs/devices/tpu.md`` from the rules and the device specs."""
    return write_doc(generate_docs(), path)
