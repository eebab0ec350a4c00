"""The CPU family: Raspberry Pi 5, Apple M1-M4 (unified memory), x86 with DDR5.

Dialect: the model's own format (ONNX Runtime reads ONNX, TFLite with XNNPACK reads TFLite, llama.cpp reads GGUF),
so lowering is the identity and every op runs on the device's runtime. Rules: ``edgefit.rules.cpu``. Memory: the
weights as the runtime holds them (ONNX Runtime widens float16 weights to float32; int8 when quantized) or, for a
decoder LLM, each of the device's llama.cpp weight formats plus the KV cache, against
``memory.size_bytes`` x ``memory.usable_share`` - ``memory.runtime_overhead_bytes`` (Apple: the Metal GPU working
set, two thirds of unified memory on 8-32 GB Macs; Raspberry Pi 5: what Raspberry Pi OS leaves free).
"""

from __future__ import annotations

from typing import Any

from edgefit.memory.fit import fit_options, llm_weight_options, usable_dram
from edgefit.rules import evaluate
from edgefit.rules.cpu import CpuFacts, cpu_rules
from edgefit.targets import TargetInput, TargetResult
from edgefit.targets.whole_graph import (FitFacts, StoredWeights, capacity_words, dynamic_input_dims, gib,
                                         place_ops, plain_weight_options)

#: The runtime that reads each model format on a CPU.
RUNTIMES = {"onnx": "ONNX Runtime", "tflite": "TFLite (XNNPACK)", "gguf": "llama.cpp"}
#: Precisions a CPU runtime can quantize a model that is not an LLM to (ONNX Runtime quantize_dynamic /
#: quantize_static, TFLite full-integer post-training quantization).
QUANTIZE_TO = ("int8",)
#: Both CPU runtimes widen float16 weights to float32 at load: ONNX Runtime folds the Cast it inserts into the
#: weight (observed, onnxruntime 1.32; see CPU-FP16-CAST); TFLite dequantizes float16-quantized weights to float32
#: on the CPU ("By default, a float16 quantized model will dequantize the weights values to float32 when run on
#: the CPU", ai.google.dev/edge/litert/models/post_training_quantization).
WIDEN_ON_CPU = {"float16": 2}
DEFAULT_LLM_FORMATS = ("fp16", "q8_0", "q4_k_m")
#: Graph-input names that carry a KV cache in ONNX LLM exports (past_key_values.N.key, past_key, cache_...).
KV_INPUT_MARKERS = ("past", "cache")


class CpuTarget:
    family = "cpu"

    def dialect(self, spec: Any, model: Any) -> str:
        return str(model.format)

    def analyze(self, inputs: TargetInput) -> TargetResult:
        model, spec, graph = inputs.model, inputs.spec, inputs.lowered.graph
        llm = inputs.llm
        fmt = str(model.format)
        stored = StoredWeights.of(model)
        capacity, _ = usable_dram(spec)
        capacity_text = capacity_words(spec, "usable by the GPU", "for the OS")
        kv_dtype = str(spec.get("llm.kv_cache_dtype", "fp16") or "fp16")
        formats = tuple(spec.get("llm.weight_formats") or DEFAULT_LLM_FORMATS)
        if llm is not None:
            weights = llm_weight_options(llm, formats, from_file=fmt == "gguf")
        else:
            weights = plain_weight_options(stored, [p for p in QUANTIZE_TO if p in (spec.get("precisions") or [])],
                                           widen=WIDEN_ON_CPU)
        fit = fit_options(inputs, capacity, capacity_text, weights, kv_dtype)
        facts = CpuFacts(
            model_format=fmt, fit=FitFacts(fit, kv_dtype), llm=llm, llm_runtime=spec.get("llm.runtime"),
            llm_formats=formats, kv_inputs=any(m in name.lower() for name in graph.inputs for m in KV_INPUT_MARKERS),
            exported_weight_bytes=stored.nbytes, exported_dtype=stored.dtype, dynamic_dims=dynamic_input_dims(graph))
        _, findings = evaluate(cpu_rules(), graph, facts)
        runtime = (spec.get("llm.runtime") or RUNTIMES["gguf"]) if fmt == "gguf" else RUNTIMES.get(fmt, fmt)
        ops = place_ops(graph, {}, inputs.op_macs, status=f"Runs on {runtime}", host_status=f"Runs on {runtime}")
        # the runtime that reads this model's format is the toolchain (the spec names the ONNX one)
        toolchain = {"name": runtime, "version": spec.get("toolchain.version"), "dialect": fmt,
                     "partitioning": spec.get("toolchain.partitioning"), "llm_runtime": spec.get("llm.runtime")}
        return TargetResult(
            ops=ops, findings=findings, refused=any(f.severity == "error" for f in findings),
            accelerator_subgraphs=1, memory={"capacity_bytes": capacity, "capacity": capacity_text},
            fit=fit.to_dict(), toolchain=toolchain, accelerator=accelerator_label(spec, runtime, llm is not None),
            host="host CPU (no fallback: one runtime runs the model)",
            device_param_bytes=fit.chosen.weight_bytes if fit.chosen else stored.nbytes,
            sections={"runtime": runtime_section(spec, runtime, llm, fit, facts)})


def accelerator_label(spec: Any, runtime: str, is_llm: bool) -> str:
    """"CPU (ONNX Runtime, 4x Cortex-A76)", "CPU/GPU (ONNX Runtime; llama.cpp (Metal) / MLX for LLMs)"."""
    units = "CPU/GPU" if spec.get("cpu.gpu_cores") else "CPU"
    cores, core = spec.get("cpu.cores"), spec.get("cpu.core_type")
    hardware = f"{cores}x {core}" if cores and core else core
    label = ", ".join(p for p in (runtime, hardware) if p)
    if is_llm and spec.get("llm.runtime") and runtime != spec.get("llm.runtime"):
        label += f"; {spec.get('llm.runtime')} for LLMs"
    return f"{units} ({label})"


def runtime_section(spec: Any, runtime: str, llm: Any, fit: Any, facts: CpuFacts) -> dict[str, Any]:
    """What runs the model and how to run it, for people: the "runtime" section of the report."""
    isa = list(spec.get("cpu.isa_features") or [])
    what = "every op" if facts.model_format != "gguf" else "the model"
    lines = [f"{runtime} runs {what} ({accelerator_label(spec, runtime, llm is not None)})"]
    if isa:
        lines.append(f"CPU arithmetic extensions: {', '.join(isa)}")
    if spec.get("memory.size_bytes"):
        lines.append(f"Memory: {gib(fit.capacity_bytes)} usable of {gib(spec.get('memory.size_bytes'))}; another "
                     "size: --set memory.size_bytes=<bytes>")
    if llm is not None:
        chosen = fit.chosen
        fmt = chosen.precision if chosen else (facts.llm_formats[-1] if facts.llm_formats else "q4_k_m")
        lines.append(f"LLM runtime: {spec.get('llm.runtime') or 'llama.cpp'}; e.g. llama-cli -m model-{fmt}.gguf "
                     f"-c {fit.context}")
    return {"title": "Runtime", "lines": lines, "runtime": runtime, "llm_runtime": spec.get("llm.runtime"),
            "isa_features": isa, "capacity_bytes": fit.capacity_bytes}


TARGET = CpuTarget()
