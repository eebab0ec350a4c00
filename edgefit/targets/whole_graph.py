"""What the CPU and TPU targets share: a runtime that takes the whole model as it is.

ONNX Runtime, TFLite (XNNPACK), llama.cpp and XLA read the model in its own format, so nothing is partitioned:
every op runs on the device's runtime (placement "accelerator") unless a rule sends it to the host. What decides
"does it run" is memory: the weights as the runtime stores them (and, for a decoder LLM, its KV cache at the
requested context) against the memory the runtime may use. This module builds those options and words them; the
families' fit rules (``CPU-FIT``..., ``TPU-FIT``...) read ``FitFacts``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from edgefit.graph import Model, OpGraph
from edgefit.memory.fit import PRECISION_BITS, FitOption, MemoryFit
from edgefit.report.model import OpResult
from edgefit.rules import Finding, first_error

GIB = 1 << 30
#: Tensor dtypes as precision names (``edgefit.memory.fit.PRECISION_BITS`` keys).
DTYPE_PRECISION = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16", "int8": "int8", "uint8": "uint8",
                   "int16": "int16", "int4": "int4", "uint4": "int4", "float8e4m3fn": "fp8", "float8e5m2": "fp8"}


def gib(n: int | None) -> str:
    """Bytes in the largest binary unit that keeps them above 1: "3.20 GiB", "8.00 KiB", "480 B"."""
    if n is None:
        return "?"
    for unit, scale in (("GiB", GIB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


# -- placement ---------------------------------------------------------------------------------------------------

def place_ops(graph: OpGraph, op_findings: Mapping[int, list[Finding]], op_macs: Mapping[int, int], *,
              status: str, host_status: str) -> list[OpResult]:
    """Every op on the runtime (``status``), except an op with an error finding: it runs on the host
    (``host_status``), with that finding's code as the reason."""
    ops = []
    for op in graph.ops:
        findings = op_findings.get(op.index, [])
        blocking = first_error(findings)
        ops.append(OpResult(index=op.index, name=op.name, type=op.type,
                            placement="cpu" if blocking else "accelerator", subgraph=None if blocking else 0,
                            source_nodes=list(op.source_nodes or (op.name,)), findings=[f.code for f in findings],
                            status=host_status if blocking else status, reason=blocking.code if blocking else None,
                            macs=op_macs.get(op.index)))
    return ops


# -- weights -----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredWeights:
    """The model's constant tensors: element count, bytes in the file, bytes by dtype."""

    count: int
    nbytes: int
    by_dtype: Mapping[str, int]

    @classmethod
    def of(cls, model: Model) -> StoredWeights:
        from edgefit.inspect import parameter_totals

        count, nbytes, by_dtype = parameter_totals(model)
        return cls(count, nbytes, {dt: v["bytes"] for dt, v in by_dtype.items()})

    @property
    def dtype(self) -> str | None:
        """The dtype holding most of the weight bytes (``"float32"``), None for a model without weights."""
        return max(self.by_dtype, key=lambda d: self.by_dtype[d]) if self.by_dtype else None

    def bytes_with(self, widen: Mapping[str, int]) -> int:
        """Bytes when the runtime stores each dtype in ``widen`` (dtype -> factor) that many times wider."""
        return sum(b * widen.get(dt, 1) for dt, b in self.by_dtype.items())


def plain_weight_options(stored: StoredWeights, alternatives: Iterable[str], *,
                         widen: Mapping[str, int] | None = None,
                         widened_precision: str = "fp32") -> list[tuple[str, int]]:
    """Weight options of a model that is not an LLM: its weights as the runtime holds them first (their own
    precision, or ``widened_precision`` when the runtime widens the dominant dtype, ``widen``: dtype -> factor),
    then each of ``alternatives`` (precisions the runtime can quantize to) that is smaller, most precise first."""
    widen = dict(widen or {})
    own = DTYPE_PRECISION.get(stored.dtype or "", stored.dtype or "fp32")
    if stored.dtype in widen:
        own = widened_precision
    first = (own, stored.bytes_with(widen))
    options = [first]
    for p in alternatives:
        size = int(stored.count * PRECISION_BITS[p] / 8)
        if p != own and size < first[1]:
            options.append((p, size))
    return options


# -- fit in words ------------------------------------------------------------------------------------------------

def capacity_words(spec: Any, share_label: str, overhead_label: str) -> str:
    """The usable memory's derivation in a few words, naming the spec fields whose sources tell where each figure
    comes from (``edgefit devices ID``): "8.00 GiB LPDDR4X - 0.80 GiB for the OS (memory.runtime_overhead_bytes)"."""
    size = spec.get("memory.size_bytes")
    if not size:
        return "memory size unknown: the spec has no memory.size_bytes (set it with --set memory.size_bytes=<bytes>)"
    text = f"{gib(size)} {spec.get('memory.type') or 'memory'}"
    share = spec.get("memory.usable_share")
    if share is not None and share < 1:
        text += f" x {share:.1%} {share_label} (memory.usable_share)"
    overhead = spec.get("memory.runtime_overhead_bytes")
    if overhead:
        text += f" - {gib(overhead)} {overhead_label} (memory.runtime_overhead_bytes)"
    return text


@dataclass(frozen=True)
class FitFacts:
    """What the families' fit rules read."""

    fit: MemoryFit
    #: KV-cache element type the LLM options budget for.
    kv_dtype: str = "fp16"

    @property
    def state(self) -> str:
        """"fits" (the first, most faithful option fits), "reduced" (only a smaller precision fits), "none"
        (nothing fits), "unknown" (no capacity or no options)."""
        fit = self.fit
        if fit.fits is None:
            return "unknown"
        if not fit.fits:
            return "none"
        return "fits" if fit.options[0].fits else "reduced"

    def option_text(self, o: FitOption) -> str:
        """"fp16: 3.20 GiB weights + 0.44 GiB KV cache (4,096 tokens) = 3.64 GiB"."""
        parts = [f"{gib(o.weight_bytes)} weights"]
        if o.kv_cache_bytes:
            parts.append(f"{gib(o.kv_cache_bytes)} KV cache ({self.fit.context:,} tokens)")
        if o.overhead_bytes:
            parts.append(f"{gib(o.overhead_bytes)} overhead")
        total = " + ".join(parts)
        return f"{o.precision}: " + (total if len(parts) == 1 else f"{total} = {gib(o.required_bytes)}")

    def detail(self) -> str:
        """The numbers behind the state, most telling first, then what the usable memory is."""
        fit, state = self.fit, self.state
        if state == "unknown":
            if not fit.options:
                return f"no weights to place; {fit.capacity}"
            return f"{self.option_text(fit.options[0])}; {fit.capacity}"
        cap, basis = gib(fit.capacity_bytes), f"usable = {fit.capacity}"
        assert fit.capacity_bytes is not None
        if state == "fits":
            o = fit.options[0]
            spare = gib(fit.capacity_bytes - o.required_bytes)
            return f"{self.option_text(o)} of {cap} usable ({spare} spare); {basis}"
        if state == "reduced":
            first, chosen = fit.options[0], fit.chosen
            assert chosen is not None
            return (f"{self.option_text(chosen)} of {cap} usable ({gib(fit.capacity_bytes - chosen.required_bytes)} "
                    f"spare), but {self.option_text(first)} does not fit; {basis}")
        smallest = min(fit.options, key=lambda o: o.required_bytes)
        return f"even {self.option_text(smallest)} > {cap} usable; {basis}"


# -- shapes ------------------------------------------------------------------------------------------------------

def dynamic_input_dims(graph: OpGraph) -> dict[str, list[str]]:
    """Graph input -> its non-static dims (symbolic names, ``?`` for unknown), for inputs that have any."""
    out: dict[str, list[str]] = {}
    for name in graph.inputs:
        t = graph.tensors.get(name)
        if t is None or t.is_constant or t.shape is None:
            continue
        dims = [str(d) if d is not None else "?" for d in t.shape if not isinstance(d, int)]
        if dims:
            out[name] = dims
    return out


def describe_dims(dims: Mapping[str, list[str]]) -> str:
    return "; ".join(f"{name}: {', '.join(ds)}" for name, ds in dims.items())


def count_types(types: Iterable[str], limit: int = 6) -> str:
    """``"MatMul x253, Softmax x28"``: op types by count, most frequent first."""
    counts = Counter(types)
    shown = ", ".join(f"{t} x{n}" for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])
    return shown + (f" and {len(counts) - limit} more types" if len(counts) > limit else "")
