"""Device families as plug-ins: one module per family behind one interface, registered in ``FAMILY_MODULES``.

A target is what a device family's toolchain does with a model, as data flows through it: the dialect the
toolchain reads (``dialect``; ``api`` lowers the model into it once per dialect and shares the result), then
``analyze``: its rules, its partition strategy and its memory model, ending in a ``TargetResult``. ``api``,
``report``, ``cli`` and ``compare`` only ever talk to this interface, so no code outside a family module asks
which family a device belongs to.

A family module exposes ``TARGET``, an object with:

- ``family``: the ``family`` value of its device specs;
- ``dialect(spec, model) -> str``: the dialect to lower ``model`` into (``"tflite"``, ``"onnx"``, or the
  model's own format for runtimes that read either);
- ``analyze(inputs: TargetInput) -> TargetResult``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from edgefit.devices import DeviceSpec
    from edgefit.graph import Model
    from edgefit.llm import LlmArchitecture
    from edgefit.lower import LoweredGraph
    from edgefit.report.model import OpResult
    from edgefit.rules import Finding

#: Device family -> the module that models its toolchain. The one place a family is registered.
FAMILY_MODULES: dict[str, str] = {
    "coral": "edgefit.targets.coral",
    "cpu": "edgefit.targets.cpu",
    "tpu": "edgefit.targets.tpu",
    "hailo": "edgefit.targets.hailo",
    "jetson": "edgefit.targets.jetson",
}

#: KV-cache context used for memory fit when the caller does not give one (tokens).
DEFAULT_CONTEXT = 4096


@dataclass
class TargetInput:
    """Everything a target may read: the model, its graph in the target's dialect, the device, LLM facts."""

    model: Model
    lowered: LoweredGraph
    spec: DeviceSpec
    #: Weight parameters of the source model (elements of its constant tensors, shared storage once).
    param_count: int = 0
    #: The decoder-only LLM architecture found in the model, or None when it is not an LLM.
    llm: LlmArchitecture | None = None
    #: Tokens of KV cache to budget for when ``llm`` is set.
    context: int = DEFAULT_CONTEXT
    #: MACs per op of ``lowered.graph`` (op index -> MACs; ops with no or uncountable MACs are absent).
    op_macs: dict[int, int] = field(default_factory=dict)


@dataclass
class TargetResult:
    """A target's answer, in the terms every renderer and ``compare`` understand."""

    #: Every op of ``lowered.graph``, in op order, with its placement and reason.
    ops: list[OpResult]
    #: Model-level findings first, then per op in op order (lowering notes are added by ``api``).
    findings: list[Finding]
    #: True when the toolchain refuses the model as a whole (no accelerator binary is produced).
    refused: bool
    accelerator_subgraphs: int
    #: The family's memory plan (Coral: cached vs streamed parameters), JSON-ready.
    memory: dict[str, Any]
    #: Memory fit in common terms (``edgefit.memory.fit.MemoryFit.to_dict()``).
    fit: dict[str, Any]
    #: Toolchain facts the analysis assumed (name, version, dialect, partitioning, ...).
    toolchain: dict[str, Any]
    #: What runs the accelerated part, and what runs the rest, in words ("Edge TPU", "host CPU").
    accelerator: str
    host: str
    #: Parameter bytes as the device stores them.
    device_param_bytes: int
    #: Family-specific result sections by name (Hailo: "cut"), JSON-ready, rendered by name.
    sections: dict[str, Any] = field(default_factory=dict)


class Target(Protocol):
    family: str

    def dialect(self, spec: DeviceSpec, model: Model) -> str: ...

    def analyze(self, inputs: TargetInput) -> TargetResult: ...


def analyzed_families() -> tuple[str, ...]:
    return tuple(FAMILY_MODULES)


def get_target(family: str) -> Target:
    """The target of a device family; ``KeyError`` for a family no module models."""
    return importlib.import_module(FAMILY_MODULES[family]).TARGET  # type: ignore[no-any-return]
