"""Memory fit in common terms: weights (+ KV cache for LLMs) + runtime overhead vs the capacity that counts.

Every family answers "does it fit?" against a different capacity (Coral: the on-chip parameter cache; Jetson
and unified-memory machines: the usable share of DRAM; Hailo-10H: its module DRAM), so the family computes the
capacity and its basis, and this module does the same arithmetic for all: one option per precision the
device's runtime offers, most precise first, and the best precision that fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from edgefit.llm import LlmArchitecture

#: Storage bits per weight of plain tensor precisions (no block scales).
PRECISION_BITS: dict[str, float] = {"fp32": 32, "fp16": 16, "bf16": 16, "fp8": 8, "int16": 16, "int8": 8,
                                    "uint8": 8, "int4": 4}
#: Most precise first: the order options are tried in for "the best precision that fits".
PRECISION_ORDER = ("fp32", "bf16", "fp16", "int16", "fp8", "int8", "uint8", "int4")


@dataclass(frozen=True)
class FitOption:
    precision: str
    weight_bytes: int
    kv_cache_bytes: int = 0
    overhead_bytes: int = 0
    #: None when the capacity is unknown.
    fits: bool | None = None

    @property
    def required_bytes(self) -> int:
        return self.weight_bytes + self.kv_cache_bytes + self.overhead_bytes

    def to_dict(self) -> dict[str, Any]:
        return {"precision": self.precision, "weight_bytes": self.weight_bytes,
                "kv_cache_bytes": self.kv_cache_bytes, "overhead_bytes": self.overhead_bytes,
                "required_bytes": self.required_bytes, "fits": self.fits}


@dataclass
class MemoryFit:
    #: Bytes the model may use on this device; None when no sourced figure exists.
    capacity_bytes: int | None
    #: What the capacity is and where it comes from, in words.
    capacity: str
    options: list[FitOption] = field(default_factory=list)
    #: KV-cache context the LLM options budget for (None for non-LLM models).
    context: int | None = None

    @property
    def chosen(self) -> FitOption | None:
        """The most precise option that fits; None when none fits or the capacity is unknown."""
        return next((o for o in self.options if o.fits), None)

    @property
    def fits(self) -> bool | None:
        if self.capacity_bytes is None or not self.options:
            return None
        return self.chosen is not None

    def to_dict(self) -> dict[str, Any]:
        shown = self.chosen or (min(self.options, key=lambda o: o.required_bytes) if self.options else None)
        return {"capacity_bytes": self.capacity_bytes, "capacity": self.capacity, "context": self.context,
                "fits": self.fits, "precision": self.chosen.precision if self.chosen else None,
                "weight_bytes": shown.weight_bytes if shown else None,
                "kv_cache_bytes": shown.kv_cache_bytes if shown else None,
                "required_bytes": shown.required_bytes if shown else None,
                "options": [o.to_dict() for o in self.options]}


def weight_options(param_count: int, precisions: Iterable[str]) -> list[tuple[str, int]]:
    """(precision, weight bytes) for a plain model stored at each of ``precisions``, most precise first."""
    known = [p for p in PRECISION_ORDER if p in set(precisions)]
    return [(p, int(param_count * PRECISION_BITS[p] / 8)) for p in known]


def llm_weight_options(llm: LlmArchitecture, formats: Iterable[str], *, from_file: bool = False
                       ) -> list[tuple[str, int]]:
    """(runtime weight format, bytes) for an LLM in ``formats`` (most precise first). ``from_file``: the model is
    the runtime's own file (GGUF): the file's bytes in its own format come first, then the formats smaller than
    the file (a re-quantization)."""
    options = [(fmt, llm.weight_bytes(fmt)) for fmt in formats]
    if not from_file:
        return options
    own = llm.file_weight_format or str(llm.file_format).lower()
    first = (own, int(llm.file_weight_bytes))
    return [first, *[(f, b) for f, b in options if f != own and b < first[1]]]


def memory_fit(weights: list[tuple[str, int]], capacity_bytes: int | None, capacity: str, *,
               kv_cache_bytes: int = 0, overhead_bytes: int = 0, context: int | None = None) -> MemoryFit:
    """One option per (precision, weight bytes), each checked against ``capacity_bytes``."""
    options = [FitOption(p, w, kv_cache_bytes, overhead_bytes,
                         None if capacity_bytes is None else w + kv_cache_bytes + overhead_bytes <= capacity_bytes)
               for p, w in weights]
    return MemoryFit(capacity_bytes, capacity, options, context)


def usable_dram(spec: Any) -> tuple[int | None, str]:
    """(bytes a model may use, how that was found) from ``memory.size_bytes``, ``memory.usable_share`` and
    ``memory.runtime_overhead_bytes``; (None, why) when the spec gives no memory size."""
    size = spec.get("memory.size_bytes")
    if not size:
        return None, ("memory size unknown: the spec has no memory.size_bytes (set it with "
                      "--set memory.size_bytes=<bytes>)")
    share = float(spec.get("memory.usable_share", 1.0) or 1.0)
    overhead = int(spec.get("memory.runtime_overhead_bytes", 0) or 0)
    usable = max(0, int(size * share) - overhead)
    parts = [f"{size / 2**30:.1f} GiB {spec.get('memory.type') or 'memory'}"]
    if share < 1.0:
        parts.append(f"x {share:.0%} usable ({spec.source('memory.usable_share') or 'spec'})")
    if overhead:
        parts.append(f"- {overhead / 2**30:.2f} GiB runtime overhead "
                     f"({spec.source('memory.runtime_overhead_bytes') or 'spec'})")
    return usable, " ".join(parts)


def fit_options(inputs: Any, capacity_bytes: int | None, capacity: str, weights: list[tuple[str, int]],
                kv_dtype: str, overhead: int = 0) -> MemoryFit:
    """``memory_fit`` over ``weights``, with the KV cache of ``inputs.llm`` (a ``TargetInput``'s) at
    ``inputs.context`` when the model is an LLM."""
    llm = inputs.llm
    if llm is None:
        return memory_fit(weights, capacity_bytes, capacity, overhead_bytes=overhead)
    return memory_fit(weights, capacity_bytes, capacity, kv_cache_bytes=llm.kv_cache_bytes(inputs.context, kv_dtype),
                      overhead_bytes=overhead, context=inputs.context)


def fit_model(inputs: Any, capacity_bytes: int | None, capacity: str, precisions: Iterable[str]) -> MemoryFit:
    """Memory fit of ``inputs.model`` (a ``TargetInput``): an LLM at each of the spec's ``llm.weight_formats``
    (falling back to ``precisions``) with its KV cache at ``inputs.context``; any other model with its weights
    at each of ``precisions``."""
    llm = inputs.llm
    if llm is None:
        return fit_options(inputs, capacity_bytes, capacity, weight_options(inputs.param_count, precisions), "fp16")
    formats = list(inputs.spec.get("llm.weight_formats") or [p for p in PRECISION_ORDER if p in set(precisions)])
    kv_dtype = str(inputs.spec.get("llm.kv_cache_dtype", "fp16") or "fp16")
    return fit_options(inputs, capacity_bytes, capacity, llm_weight_options(llm, formats), kv_dtype)
