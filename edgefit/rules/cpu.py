"""CPU-family rules (Raspberry Pi 5, Apple M1-M4, x86 with DDR5): what a CPU runtime does with a model, and why it
might not load it.

A CPU runtime takes the model as it is (ONNX Runtime's CPU execution provider for ONNX, TFLite with XNNPACK for
TFLite, llama.cpp / Ollama / MLX for LLMs), so every op runs; the rules find what still limits a deployment:

- memory: weights as the runtime holds them (and an LLM's KV cache) against the memory it may use
  (``CPU-FIT``, ``CPU-FIT-REDUCED``, ``CPU-NO-FIT``);
- tensor types ONNX Runtime's CPU kernels do not take: bfloat16 ops fail session creation, float16 ops are wrapped
  in Casts to float32 (``CPU-BF16``, ``CPU-FP16-CAST``), ops with no CPU kernel at all (``CPU-NO-KERNEL``);
- TFLite custom and Flex ops, which need kernels registered with the interpreter (``CPU-TFLITE-CUSTOM``);
- how a decoder LLM is served on the device (``CPU-LLM``) and that dynamic shapes cost nothing here
  (``CPU-DYNAMIC-SHAPES``).

Facts: ``/work/shared/reference/cpu-and-unified-memory.md`` (cited "ref §N"), ONNX Runtime's CPU kernel registry
(``edgefit.rules.ort_cpu_kernels``, generated from onnxruntime's own registry), and the issue threads cited per rule.
Rules are model-level: they read ``CpuFacts`` (built by ``edgefit.targets.cpu``) and walk the graph themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from edgefit.graph import Op, OpGraph
from edgefit.rules import DOCS_DIR, Rule, all_rules, rule, write_doc
from edgefit.rules.ort_cpu_kernels import ORT_VERSION, TYPE_CODES, kernel_types, type_code
from edgefit.targets.whole_graph import FitFacts, count_types, describe_dims, gib

DOCS_PATH = DOCS_DIR / "cpu.md"

# -- evidence -----------------------------------------------------------------------------------------------------

#: ONNX Runtime wraps float16 ops that have no float16 CPU kernel in Casts: on a Raspberry Pi 5 an FP16 model ran
#: 4x slower than its FP32 version, the inserted casts taking 54 % of the time (microsoft/onnxruntime#25824); "CPU
#: operators do not support float16 ... Cast nodes need to be added" (maintainer, microsoft/onnxruntime#11831).
FP16_EVIDENCE = ("microsoft/onnxruntime#25824: an FP16 model 4x slower than FP32 on a Raspberry Pi 5, inserted Casts "
                 "54 % of the time; #11831 (maintainer): CPU operators do not support float16")
#: Observed with onnxruntime 1.32 (CPU EP): a float16 MatMul initializer is stored as a float32 initializer after
#: session creation (Cast folded into the weight); a bfloat16 MatMul fails with NOT_IMPLEMENTED.
OBSERVED_ORT = "observed with onnxruntime 1.32 (CPU EP)"
#: The corpus README: the dynamic-``seq`` Qwen3 graphs run in an onnxruntime CPU InferenceSession with seq = 8.
DYNAMIC_EVIDENCE = "../shared/corpus/qwen3/README.md: the dynamic-seq Qwen3 graphs ran in ONNX Runtime with seq = 8"
#: LLM rows on these CPUs (perf/llm-tps-dev.csv): llama.cpp / Ollama / llamafile on the Pi 5 (F16, Q8_0, Q4_K_M),
#: llama.cpp Metal on Apple (F16, Q8_0, Q4_K_M), llama.cpp CPU on x86 (Q4_K_M, Q2_K).
LLM_EVIDENCE = "perf/llm-tps-dev.csv (llama.cpp / Ollama / llamafile rows on Pi 5, Apple and x86)"
DOMAIN_DEFAULT = "ai.onnx"
#: Ops ONNX Runtime resolves at load without a kernel: Constant nodes become initializers (observed with
#: onnxruntime 1.32: a Constant feeding an Add loads; the registry has no Constant kernel).
RESOLVED_AT_LOAD = frozenset({"Constant"})


# -- facts -------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CpuFacts:
    """What the CPU rules read about the model and the device; built by ``edgefit.targets.cpu``."""

    #: The model's format: "onnx", "tflite" or "gguf".
    model_format: str
    fit: FitFacts
    #: The decoder LLM found in the model (``edgefit.llm.LlmArchitecture`` or a stand-in), else None.
    llm: Any = None
    #: The device's LLM runtime (``llm.runtime``) and its weight formats (``llm.weight_formats``).
    llm_runtime: str | None = None
    llm_formats: tuple[str, ...] = ()
    #: For an ONNX LLM: whether the graph takes past key/value inputs, and its weight bytes as exported.
    kv_inputs: bool = False
    exported_weight_bytes: int = 0
    exported_dtype: str | None = None
    #: Graph input -> its dynamic dims.
    dynamic_dims: dict[str, list[str]] = field(default_factory=dict)


# -- helpers -----------------------------------------------------------------------------------------------------

#: Domains whose schemas ONNX Runtime knows, so it can inline their function ops when it has no kernel.
ONNX_DOMAINS = frozenset({DOMAIN_DEFAULT, "ai.onnx.ml"})
_TYPE_NAMES = {code: name for name, code in TYPE_CODES.items()}


@dataclass(frozen=True)
class _Schema:
    since_version: int
    is_function: bool
    #: Per formal input / output: whether a type constraint with a choice of types decides its type (checked
    #: against the kernels' types) or the schema fixes it (a bool condition, an int64 shape); the last one
    #: repeats when variadic.
    inputs: tuple[bool, ...]
    outputs: tuple[bool, ...]
    variadic_inputs: bool
    variadic_outputs: bool

    def constrained(self, position: int, outputs: bool) -> bool:
        formal, variadic = (self.outputs, self.variadic_outputs) if outputs else (self.inputs, self.variadic_inputs)
        if position < len(formal):
            return formal[position]
        return bool(formal) and variadic and formal[-1]


@lru_cache(maxsize=None)
def _schema(domain: str, op_type: str, opset: int | None) -> _Schema | None:
    """The op's ONNX schema at ``opset``; None when ONNX has none (a custom domain)."""
    import onnx.defs

    try:
        schema = onnx.defs.get_schema(op_type, opset or onnx.defs.onnx_opset_version(),
                                      "" if domain == DOMAIN_DEFAULT else domain)
    except onnx.defs.SchemaError:
        return None
    # a constraint that allows one type only (Where's bool condition) is as fixed as a plain type
    names = {c.type_param_str for c in schema.type_constraints if len(c.allowed_type_strs) > 1}
    variadic = onnx.defs.OpSchema.FormalParameterOption.Variadic
    return _Schema(schema.since_version, bool(schema.has_function or schema.has_context_dependent_function),
                   tuple(p.type_str in names for p in schema.inputs), tuple(p.type_str in names for p in schema.outputs),
                   bool(schema.inputs) and schema.inputs[-1].option == variadic,
                   bool(schema.outputs) and schema.outputs[-1].option == variadic)


def _checked_codes(op: Op, graph: OpGraph, schema: _Schema | None) -> set[str]:
    """Type letters of the op's tensors whose type a kernel's type constraints decide. Without an ONNX schema
    (ONNX Runtime contrib ops) only the 16-bit floats are checked, the types the CPU rules act on."""
    codes = set()
    for outputs, names in ((False, op.inputs), (True, op.outputs)):
        for i, name in enumerate(names):
            t = graph.tensors.get(name) if name else None
            code = type_code(t.dtype) if t is not None else None
            if code is None or (schema is None and code not in "hb"):
                continue
            if schema is None or schema.constrained(i, outputs):
                codes.add(code)
    return codes


def _onnx_ops(graph: OpGraph) -> list[Op]:
    """Every op that reaches ONNX Runtime's kernel lookup (bodies included; model-local function calls are inlined
    by ONNX Runtime and looked up op by op, so the call itself is skipped)."""
    return [op for _, op in graph.walk() if op.function is None]


def kernel_gap(op: Op, graph: OpGraph) -> tuple[str, str] | None:
    """None when a CPU kernel takes the op as it is; else (type letters of its tensors no kernel takes, letters the
    kernels do take); ("", "") means no kernel at all."""
    if op.domain == DOMAIN_DEFAULT and op.type in RESOLVED_AT_LOAD:
        return None
    schema = _schema(op.domain, op.type, op.version)
    # ONNX Runtime looks kernels up by the schema's version; an op without a schema keeps its domain's opset
    since = schema.since_version if schema else (op.version or 1)
    accepted = kernel_types(op.domain, op.type, since)
    if accepted is None:
        inlined = schema is not None and schema.is_function and op.domain in ONNX_DOMAINS
        return None if inlined else ("", "")
    missing = "".join(sorted(c for c in _checked_codes(op, graph, schema) if c not in accepted))
    return (missing, accepted) if missing else None


def _gaps(graph: OpGraph) -> list[tuple[Op, str, str]]:
    return [(op, *gap) for op in _onnx_ops(graph) if (gap := kernel_gap(op, graph)) is not None]


def _fails(missing: str, accepted: str) -> bool:
    """Session creation fails: no kernel at all, or a tensor type no kernel takes that ONNX Runtime does not cast
    (float16 is cast to float32 where a float32 kernel exists: CPU-FP16-CAST; bfloat16 is CPU-BF16's)."""
    if not missing:
        return True
    rest = missing.replace("b", "")
    if "f" in accepted:
        rest = rest.replace("h", "")
    return bool(rest)


def _type_names(letters: str) -> str:
    return ", ".join(sorted({_TYPE_NAMES[c] for c in letters}))


def _op_list(ops: list[Op], limit: int = 3) -> str:
    names = ", ".join(op.name or f"#{op.index}" for op in ops[:limit])
    return f"{count_types(op.type if op.domain == DOMAIN_DEFAULT else f'{op.domain}:{op.type}' for op in ops)}" \
           f" (first: {names})"


# -- memory fit --------------------------------------------------------------------------------------------------

@rule("CPU-NO-FIT", scope="model",
      hint="Use a smaller model or a stronger quantization (llama.cpp Q4_K_M), a device with more memory "
           "('edgefit compare'), or give your machine's memory with --set memory.size_bytes=<bytes>.")
def no_fit(op: None, graph: OpGraph, facts: CpuFacts) -> str | None:
    """The model does not fit in the memory the runtime may use at any weight precision the runtime offers: it
    cannot be loaded (the OS swaps or kills the process before the first inference)."""
    return facts.fit.detail() if facts.fit.state == "none" else None


@rule("CPU-FIT-REDUCED", scope="model", severity="warning",
      hint="Quantize the weights to the precision shown (llama.cpp: llama-quantize; ONNX Runtime: "
           "onnxruntime.quantization.quantize_dynamic) or choose a device with more memory.")
def fit_reduced(op: None, graph: OpGraph, facts: CpuFacts) -> str | None:
    """Fits in memory only at a smaller weight precision than the model comes in."""
    return facts.fit.detail() if facts.fit.state == "reduced" else None


@rule("CPU-FIT", scope="model", severity="info")
def fit(op: None, graph: OpGraph, facts: CpuFacts) -> str | None:
    """Fits in the memory the runtime may use, weights (and an LLM's KV cache) included."""
    return facts.fit.detail() if facts.fit.state == "fits" else None


@rule("CPU-FIT-UNKNOWN", scope="model", severity="info",
      hint="Give the memory size: --set memory.size_bytes=<bytes>.")
def fit_unknown(op: None, graph: OpGraph, facts: CpuFacts) -> str | None:
    """Memory fit unknown: the device spec gives no memory size."""
    return facts.fit.detail() if facts.fit.state == "unknown" else None


# -- kernels and tensor types (ONNX Runtime) -----------------------------------------------------------------------

@rule("CPU-NO-KERNEL", scope="model", params={"ort": ORT_VERSION},
      hint="Register the custom-op library that implements these ops (SessionOptions.register_custom_ops_library), "
           "or re-export the model with standard ONNX ops.")
def no_kernel(op: None, graph: OpGraph, facts: CpuFacts) -> str | None:
    """ONNX Runtime's CPU execution provider (kernel registry of onnxruntime {ort}) has no kernel for these ops at
    their ONNX schema version, or none for their tensor types, and ONNX defines no function body to inline instead:
    creating the session fails with NOT_IMPLEMENTED."""
    if facts.model_format != "onnx":
        return None
    failing = [(op, missing, accepted) for op, missing, accepted in _gaps(graph) if _fails(missing, accepted)]
    if not failing:
        return None
    types = "".join(m.replace("b", "").replace("h", "") if "f" in a else m.replace("b", "") for _, m, a in failing)
    why = f"; no kernel takes their {_type_names(types)} tensors" if types else ""
    return _op_list([op for op, _, _ in failing]) + why


@rule("CPU-BF16", scope="model", params={"ort": ORT_VERSION, "observed": OBSERVED_ORT},
      hint="Convert the model to float32 (or float16) before deploying it to a CPU, or quantize it to int8; "
           "bfloat16 pays off on TPUs and GPUs, not in ONNX Runtime's CPU kernels.")
def bf16_ops(op: None, graph: OpGraph, facts: CpuFacts) -> str | None:
    """These ops compute on bfloat16 tensors, and ONNX Runtime's CPU execution provider (onnxruntime {ort}) has no
    bfloat16 kernel for them. Unlike float16, it inserts no Cast to float32 for bfloat16: creating the session fails
    with NOT_IMPLEMENTED ({observed}: a bfloat16 MatMul)."""
    if facts.model_format != "onnx":
        return None
    ops = [op for op, missing, _ in _gaps(graph) if "b" in missing]
    return _op_list(ops) if ops else None


@rule("CPU-FP16-CAST", scope="model", severity="warning",
      params={"ort": ORT_VERSION, "evidence": FP16_EVIDENCE, "observed": OBSERVED_ORT},
      hint="Deploy the float32 model (or an int8-quantized one) to ONNX Runtime on a CPU; keep float16 for GPU "
           "execution providers.")
def fp16_casts(op: None, graph: OpGraph, facts: CpuFacts) -> str | None:
    """These ops compute on float16 tensors, but ONNX Runtime's CPU execution provider (onnxruntime {ort}) has only
    float32 kernels for them: it inserts Casts to float32 around each one and stores their float16 weights as
    float32 at load ({observed}), so the model runs slower than its float32 version ({evidence}) and its weights
    take float32 memory (the fit counts them at float32)."""
    if facts.model_format != "onnx":
        return None
    ops = [op for op, missing, accepted in _gaps(graph) if "h" in missing and "f" in accepted]
    return _op_list(ops) if ops else None


# -- TFLite --------------------------------------------------------------------------------------------------------

@rule("CPU-TFLITE-CUSTOM", scope="model", severity="warning",
      hint="Build the interpreter with the op's kernel (tflite::MutableOpResolver::AddCustom) or, for Flex ops, "
           "link the Flex delegate (tensorflow/lite/delegates/flex); better: re-convert without them.")
def tflite_custom(op: None, graph: OpGraph, facts: CpuFacts) -> str | None:
    """TFLite custom ops, including TensorFlow select (Flex) ops, have no kernel in the builtin op resolver: the
    interpreter fails to prepare the model unless the application registers their kernels (or the Flex delegate)."""
    if facts.model_format != "tflite":
        return None
    ops = [o for _, o in graph.walk() if o.type.startswith("CUSTOM:")]
    return _op_list(ops) if ops else None


# -- LLM and shapes ------------------------------------------------------------------------------------------------

@rule("CPU-LLM", scope="model", severity="info", params={"evidence": LLM_EVIDENCE},
      hint="Convert the original checkpoint: python convert_hf_to_gguf.py <hf-model-dir> --outtype f16, then "
           "llama-quantize <f16.gguf> <q4_k_m.gguf> Q4_K_M (llama.cpp); on Apple also mlx_lm.convert --hf-path "
           "<id> -q.")
def decoder_llm(op: None, graph: OpGraph, facts: CpuFacts) -> str | None:
    """A decoder-only LLM. On CPUs and Apple GPUs LLMs are served by llama.cpp-family runtimes (llama.cpp, Ollama,
    llamafile; MLX on Apple) from a GGUF (or MLX) file with a KV cache, in their own weight formats; the memory fit
    is computed for those formats ({evidence})."""
    llm = facts.llm
    if llm is None:
        return None
    formats = ", ".join(facts.llm_formats) or "the runtime's formats"
    parts = [f"{facts.llm_runtime or 'llama.cpp'}; weight formats {formats}",
             f"KV cache {llm.kv_cache_bytes_per_token(facts.fit.kv_dtype):,} B/token ({facts.fit.kv_dtype})"]
    if facts.model_format == "onnx":
        cache = ("takes past key/value inputs" if facts.kv_inputs else
                 "takes no past key/value inputs, so ONNX Runtime would recompute the whole prefix for every token")
        parts.append(f"this ONNX export {cache}; as exported its weights are {facts.exported_dtype or '?'}, "
                     f"{gib(facts.exported_weight_bytes)}")
    return "; ".join(parts)


@rule("CPU-DYNAMIC-SHAPES", scope="model", severity="info", params={"evidence": DYNAMIC_EVIDENCE})
def dynamic_shapes(op: None, graph: OpGraph, facts: CpuFacts) -> str | None:
    """The model has dynamic input dimensions. CPU runtimes execute each call at its own shapes (no ahead-of-time
    compilation, nothing to recompile), so this costs nothing here ({evidence})."""
    return describe_dims(facts.dynamic_dims) if facts.dynamic_dims else None


# -- registry and docs ---------------------------------------------------------------------------------------------

def cpu_rules() -> list[Rule]:
    """Every CPU rule, in report order (errors first, the fit before the rest)."""
    return all_rules("CPU-")


def generate_docs() -> str:
    """Markdown for docs/devices/cpu.md: every CPU rule, then every cpu-family device with the figures the analysis
    reads and their sources."""
    from edgefit.devices import list_devices

    lines = [
        "# CPU and unified-memory devices (Raspberry Pi 5, Apple M-series, x86)",
        "",
        "Generated by `edgefit.rules.cpu.write_docs()` from the rules and the device specs; do not edit by hand.",
        "",
        "A CPU runtime reads the model in its own format (ONNX Runtime's CPU execution provider for ONNX, TFLite "
        "with XNNPACK for TFLite, llama.cpp / Ollama / MLX for LLMs), so every op runs on the device and the verdict "
        "is `full` unless the model cannot be loaded at all (`rejected`: it does not fit in memory, or ONNX Runtime "
        "has no kernel for some of its ops). The findings say what limits it: memory fit at each weight precision "
        "the runtime offers, tensor types the kernels do not take, and how a decoder LLM is served.",
        "",
        "Memory the runtime may use = `memory.size_bytes` x `memory.usable_share` - `memory.runtime_overhead_bytes`. "
        "Weights of a model that is not an LLM count as stored (float16 at float32 size under ONNX Runtime, see "
        "CPU-FP16-CAST) and as int8 when that is smaller; a decoder LLM counts at each of the device's "
        "`llm.weight_formats` (a GGUF file: the file's own bytes first) plus its KV cache at `--context` tokens "
        "(`llm.kv_cache_dtype`).",
        "",
        "## Rules",
        "",
    ]
    for r in cpu_rules():
        lines += [f"### {r.code}", "", r.doc, "", f"- severity: {r.severity}"]
        if r.hint:
            lines.append(f"- hint: {r.hint}")
        lines.append("")
    lines += ["## Devices", "", "| device | memory | usable | LLM runtime | LLM weight formats | arithmetic |",
              "|---|---|---|---|---|---|"]
    specs = [s for s in list_devices() if s.family == "cpu"]
    for s in specs:
        size = s.get("memory.size_bytes")
        share = s.get("memory.usable_share")
        overhead = s.get("memory.runtime_overhead_bytes")
        usable = []
        if share is not None:
            usable.append(f"x {share:.0%}")
        if overhead:
            usable.append(f"- {gib(overhead)}")
        lines.append(f"| `{s.id}` ({s.name}) | {gib(size) if size else 'unset'} {s.get('memory.type') or ''} | "
                     f"{' '.join(usable) or 'all'} | {s.get('llm.runtime') or '-'} | "
                     f"{', '.join(s.get('llm.weight_formats') or []) or '-'} | "
                     f"{', '.join(s.get('cpu.isa_features') or []) or '-'} |")
    lines += ["", "Sources of the memory figures:", ""]
    for s in specs:
        for key in ("memory.size_bytes", "memory.usable_share", "memory.runtime_overhead_bytes"):
            fig = s.figure(key)
            if fig is not None:
                flag = " (unverified)" if fig.get("verified") is False else ""
                lines.append(f"- `{s.id}` `{key}`: {fig['source']}{flag}")
    lines.append("")
    return "\n".join(lines)


def write_docs(path: str | Path = DOCS_PATH) -> Path:
    """Regenerate ``docs/devices/cpu.md`` from the rules and the device specs."""
    return write_doc(generate_docs(), path)
