"""The TPU family: one Cloud TPU v5e chip, XLA compiling the whole model (a datacenter reference point).

Dialect: the model's own format, analysed as the XLA program its conversion would be (there is no ONNX or TFLite
runtime for TPUs; ``TPU-INPUT-FORMAT`` says so). Rules: ``edgefit.rules.tpu``. Placement: every op on the chip,
except ops on string tensors (the TPU VM's host CPU). Memory: one chip's HBM (``memory.size_bytes``) against the
weights at their own precision, then bfloat16 and int8, or for a decoder LLM its serving formats (bf16, int8,
int4) plus a bfloat16 KV cache.
"""

from __future__ import annotations

from typing import Any

from edgefit.memory.fit import fit_options, llm_weight_options, usable_dram
from edgefit.rules import evaluate
from edgefit.rules.tpu import TpuFacts, tpu_rules
from edgefit.targets import TargetInput, TargetResult
from edgefit.targets.whole_graph import (FitFacts, StoredWeights, capacity_words, dynamic_input_dims, gib,
                                         place_ops, plain_weight_options)

#: What a model that is not an LLM can be cast or quantized to for the chip: its matrix units are rated for
#: bfloat16 and int8 (ref §4).
CONVERT_TO = ("bf16", "int8")
DEFAULT_LLM_FORMATS = ("bf16", "int8", "int4")


class TpuTarget:
    family = "tpu"

    def dialect(self, spec: Any, model: Any) -> str:
        return str(model.format)

    def analyze(self, inputs: TargetInput) -> TargetResult:
        model, spec, graph = inputs.model, inputs.spec, inputs.lowered.graph
        llm, fmt = inputs.llm, str(model.format)
        stored = StoredWeights.of(model)
        capacity, _ = usable_dram(spec)
        chip = f"TPU {spec.get('tpu.generation')}" if spec.get("tpu.generation") else "TPU"
        capacity_text = f"one {chip} chip: " + capacity_words(spec, "usable", "reserved")
        kv_dtype = str(spec.get("llm.kv_cache_dtype", "bf16") or "bf16")
        formats = tuple(spec.get("llm.weight_formats") or DEFAULT_LLM_FORMATS)
        if llm is not None:
            weights = llm_weight_options(llm, formats, from_file=False)
        else:
            weights = plain_weight_options(stored, [p for p in CONVERT_TO if p in (spec.get("precisions") or [])])
        fit = fit_options(inputs, capacity, capacity_text, weights, kv_dtype)
        facts = TpuFacts(model_format=fmt, fit=FitFacts(fit, kv_dtype), llm=llm, llm_runtime=spec.get("llm.runtime"),
                         llm_formats=formats, dynamic_dims=dynamic_input_dims(graph), chip=chip)
        op_findings, model_findings = evaluate(tpu_rules(), graph, facts)
        findings = [*model_findings, *(f for op in graph.ops for f in op_findings.get(op.index, []))]
        ops = place_ops(graph, op_findings, inputs.op_macs, status=f"Compiled by XLA for the {chip}",
                        host_status="Runs on the TPU VM's host CPU")
        toolchain = {k: spec.get(f"toolchain.{k}") for k in ("name", "version", "partitioning")}
        toolchain.update(dialect=fmt, compiler_input="stablehlo", llm_runtime=spec.get("llm.runtime"))
        return TargetResult(
            ops=ops, findings=findings, refused=any(f.severity == "error" for f in model_findings),
            accelerator_subgraphs=1 if any(o.placement == "accelerator" for o in ops) or not ops else 0,
            memory={"capacity_bytes": capacity, "capacity": capacity_text}, fit=fit.to_dict(), toolchain=toolchain,
            accelerator=f"{chip} (XLA)", host="TPU VM host CPU",
            device_param_bytes=fit.chosen.weight_bytes if fit.chosen else stored.nbytes,
            sections={"runtime": runtime_section(spec, chip, llm, fit, facts)})


def runtime_section(spec: Any, chip: str, llm: Any, fit: Any, facts: TpuFacts) -> dict[str, Any]:
    lines = [f"XLA compiles the whole model for one {chip} chip ({gib(spec.get('memory.size_bytes'))} HBM, "
             f"{spec.get('compute.peak_tflops_bf16')} TFLOPS bf16, {spec.get('compute.peak_tops_int8')} TOPS int8); "
             "a datacenter reference point, not an edge device"]
    if facts.dynamic_dims:
        lines.append("Static shapes: pad " + ", ".join(facts.dynamic_dims) + " to a few bucket sizes; each distinct "
                     "shape compiles once")
    if llm is not None:
        chosen = fit.chosen.precision if fit.chosen else "int8"
        lines.append(f"LLM serving: {spec.get('llm.runtime') or 'JetStream'} with {chosen} weights and a "
                     f"{facts.fit.kv_dtype} KV cache at {fit.context} tokens")
    return {"title": "Runtime", "lines": lines, "compiler": "XLA", "chip": chip,
            "llm_runtime": spec.get("llm.runtime"), "capacity_bytes": fit.capacity_bytes}


TARGET = TpuTarget()
