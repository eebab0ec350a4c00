"""The device catalog: one YAML file per device, validated against a declarative schema.

A device spec is a tree of blocks (``toolchain``, ``memory``, ``compute``, ``host_link`` and an optional
family block such as ``coral``). Leaves are plain settings (strings, ints, booleans, lists) or *figures*:
hardware numbers written as ``{value, unit, source}`` so that every number edgefit reasons with says where
it came from. ``SCHEMA`` below is the whole contract: a table of dotted field path -> expected type.
The field list is documented in ``docs/device-specs.md``.

Bundled specs live in ``device_specs/*.yaml`` at the repository root; an installed wheel carries them as
``edgefit/device_specs/*.yaml`` (see ``[tool.setuptools.package-dir]`` in pyproject.toml).
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from edgefit.errors import SpecError

FAMILIES = ("coral", "hailo", "jetson", "cpu", "tpu")
OVERRIDE_SOURCE = "user override (--set)"

_PKG_DIR = Path(__file__).resolve().parent
#: Where the bundled catalog is looked for: inside the installed package first, then the source checkout.
SPEC_DIRS = (_PKG_DIR / "device_specs", _PKG_DIR.parent / "device_specs")


# --------------------------------------------------------------------------------------------- schema types
@dataclass(frozen=True)
class Str:
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Int:
    """A plain integer *setting* (a choice about how the toolchain is driven, not a hardware fact)."""

    minimum: int = 0


@dataclass(frozen=True)
class Bool:
    pass


@dataclass(frozen=True)
class StrList:
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Block:
    """A mapping of further fields; ``note`` is allowed in every block."""


@dataclass(frozen=True)
class Figure:
    """A hardware number: ``{value, unit, source}`` plus optional ``note`` and ``verified``."""

    unit: str
    integer: bool = False


@dataclass(frozen=True)
class Variants:
    """Named variants of a device, selected as ``<id>:<variant>`` (``jetson-agx-orin-64gb:dla``). Each variant
    either ``set``s fields (dotted keys, checked like the YAML; figures as whole figures with their source) or
    says why it is ``unavailable`` on this device; ``name`` and ``description`` are optional text."""


def _fig(unit: str) -> Figure:
    return Figure(unit)


def _count(unit: str = "count") -> Figure:
    return Figure(unit, integer=True)


BYTES = Figure("B", integer=True)
PRECISIONS = ("fp32", "fp16", "bf16", "fp8", "int16", "int8", "uint8", "int4")
DIALECTS = ("tflite", "onnx", "stablehlo", "any")
PARTITIONING = ("single_subgraph", "multi_subgraph", "whole_graph")
LINK_TYPES = ("usb2", "usb3", "pcie", "on_module", "unified_memory", "none", "unknown")

#: The whole schema: dotted path -> expected type. A path not listed here is an error (typos are caught).
SCHEMA: dict[str, Any] = {
    "id": Str(), "name": Str(), "family": Str(FAMILIES), "aliases": StrList(), "description": Str(),
    "variants": Variants(),
    "precisions": StrList(PRECISIONS),
    "toolchain": Block(),
    "toolchain.name": Str(), "toolchain.dialect": Str(DIALECTS), "toolchain.version": Str(),
    "toolchain.partitioning": Str(PARTITIONING), "toolchain.segments": Int(minimum=1),
    "memory": Block(),
    "memory.sram_bytes": BYTES, "memory.param_cache_bytes": BYTES, "memory.size_bytes": BYTES,
    "memory.bandwidth_gb_s": _fig("GB/s"), "memory.bus_width_bits": _count("bit"),
    "memory.transfer_rate_mts": _fig("MT/s"), "memory.type": Str(), "memory.external_dram": Bool(),
    "memory.usable_share": _fig("fraction"), "memory.runtime_overhead_bytes": BYTES,
    "compute": Block(),
    "compute.peak_tops_int8": _fig("TOPS"), "compute.peak_tops_int8_sparse": _fig("TOPS"),
    "compute.peak_tops_int4": _fig("TOPS"), "compute.peak_tflops_fp32": _fig("TFLOPS"),
    "compute.peak_tflops_fp16": _fig("TFLOPS"), "compute.peak_tflops_bf16": _fig("TFLOPS"),
    "compute.npu_tops": _fig("TOPS"), "compute.tops_per_watt": _fig("TOPS/W"),
    "compute.typical_power_w": _fig("W"), "compute.max_power_w": _fig("W"),
    "host_link": Block(),
    "host_link.type": Str(LINK_TYPES), "host_link.signalling_gbit_s": _fig("Gbit/s"),
    "host_link.pcie_gen": _count("gen"), "host_link.lanes": _count("lanes"),
    "host_link.bandwidth_gb_s": _fig("GB/s"), "host_link.effective_gb_s": _fig("GB/s"),
    # LLM serving: whether and how the device runs decoder LLMs (read by every family's memory fit)
    "llm": Block(),
    "llm.supported": Str(("yes", "no", "vendor_compiled_only")), "llm.runtime": Str(),
    "llm.weight_formats": StrList(), "llm.kv_cache_dtype": Str(),
    # family blocks
    "coral": Block(),
    "coral.compiler_version": Str(), "coral.min_runtime": Int(minimum=1), "coral.host_cpu": Str(),
    "hailo": Block(),
    "hailo.hw_arch": Str(), "hailo.hailort_version": Str(), "hailo.precision_modes": StrList(),
    "hailo.multi_context": Bool(), "hailo.llm_supported": Bool(),
    "hailo.max_single_context_params_m": _fig("M params"), "hailo.max_llm_params_b": _fig("B params"),
    "hailo.default_precision_mode": Str(), "hailo.llm_precision": Str(),
    "jetson": Block(),
    "jetson.power_mode": Str(), "jetson.gpu_cuda_cores": _count(), "jetson.gpu_tensor_cores": _count(),
    "jetson.gpu_clock_mhz": _fig("MHz"), "jetson.gpu_tops_int8_sparse": _fig("TOPS"),
    "jetson.dla_cores": _count(), "jetson.dla_tops_int8_sparse": _fig("TOPS"),
    "jetson.dla_precisions": StrList(PRECISIONS), "jetson.dla_max_tensorrt": Str(),
    "jetson.dla_resumes_tensorrt": Str(), "jetson.dla_resumes_jetpack": Str(), "jetson.jetpack": Str(),
    "jetson.accelerator": Str(("gpu", "dla")), "jetson.dla_core": Int(minimum=0), "jetson.gpu_fallback": Bool(),
    "jetson.super": Block(),
    "jetson.super.power_mode": Str(), "jetson.super.peak_tops_int8_sparse": _fig("TOPS"),
    "jetson.super.bandwidth_gb_s": _fig("GB/s"), "jetson.super.gpu_clock_mhz": _fig("MHz"),
    "jetson.super.peak_tflops_fp32": _fig("TFLOPS"), "jetson.super.peak_tflops_fp16": _fig("TFLOPS"),
    "cpu": Block(),
    "cpu.cores": _count(), "cpu.core_type": Str(), "cpu.clock_ghz": _fig("GHz"),
    "cpu.l2_cache_bytes_per_core": BYTES, "cpu.l3_cache_bytes": BYTES, "cpu.gpu_cores": _count(),
    "cpu.pcie_gen": _count("gen"), "cpu.pcie_lanes": _count("lanes"), "cpu.pcie_bandwidth_gb_s": _fig("GB/s"),
    # the arithmetic extensions the CPU has (fp16, dotprod, i8mm, bf16, avx512_vnni...): precision findings
    "cpu.isa_features": StrList(),
    "tpu": Block(),
    "tpu.tensorcores": _count(), "tpu.mxus_per_tensorcore": _count(), "tpu.ici_gb_s": _fig("GB/s"),
    "tpu.generation": Str(),
}
SCHEMA.update({f"{p}.note": Str() for p, t in list(SCHEMA.items()) if isinstance(t, Block)})

REQUIRED = ("id", "name", "family", "description", "precisions", "toolchain", "toolchain.name",
            "toolchain.dialect", "toolchain.version", "toolchain.partitioning", "memory", "compute",
            "host_link", "host_link.type")
REQUIRED_BY_FAMILY = {
    "coral": ("memory.sram_bytes", "memory.param_cache_bytes", "compute.peak_tops_int8", "toolchain.segments",
              "coral", "coral.compiler_version", "coral.min_runtime"),
}
#: Fields a --set (or a variant) may not change: they say which device this is.
NOT_OVERRIDABLE = ("id", "family", "aliases", "variants")
_VARIANT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_VARIANT_KEYS = {"name", "description", "set", "unavailable"}
_FIGURE_KEYS = {"value", "unit", "source", "note", "verified"}
_BARE_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")  # YAML 1.1 reads "8e6" as text


# --------------------------------------------------------------------------------------------- the spec
@dataclass
class DeviceSpec:
    id: str
    name: str
    family: str
    path: str
    data: dict
    #: The variant selected with ``<id>:<variant>`` (its overrides are applied to ``data``), else None.
    variant: str | None = None

    def _node(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(key)
            node = node[part]
        return node

    def get(self, key: str, default: Any = None) -> Any:
        """The value at a dotted key; for a figure, its ``value``. ``default`` when the spec lacks it."""
        try:
            node = self._node(key)
        except KeyError:
            return default
        return node["value"] if isinstance(SCHEMA.get(key), Figure) else node

    def source(self, key: str) -> str | None:
        """Where the figure at ``key`` comes from; None for absent keys and non-figure fields."""
        fig = self.figure(key)
        return None if fig is None else fig["source"]

    def figure(self, key: str) -> dict | None:
        """The whole figure mapping (value, unit, source, note?, verified?) at ``key``, or None."""
        try:
            node = self._node(key)
        except KeyError:
            return None
        return node if isinstance(SCHEMA.get(key), Figure) else None

    @property
    def aliases(self) -> list[str]:
        return list(self.data.get("aliases", []))


# --------------------------------------------------------------------------------------------- validation
def _show(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(x: Any) -> int | float | None:
    """x as a finite number, or None. Booleans are not numbers; '8e6' is (YAML 1.1 leaves it as text)."""
    if isinstance(x, str) and _BARE_EXPONENT.fullmatch(x.strip()):
        x = float(x)
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        return None
    return x


def _check_leaf(value: Any, kind: Any, where: str) -> Any:
    """Type-check one leaf; returns it normalised. ``where`` is the text that names it in a message."""
    def bad(expected: str) -> SpecError:
        return SpecError(f"{where}: expected {expected}, got {_show(value)}")

    if isinstance(kind, Str):
        if not isinstance(value, str) or not value.strip():
            hint = f" (quote it: '{value}')" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
            raise SpecError(f"{where}: expected a non-empty string, got {_show(value)}{hint}")
        if kind.choices and value not in kind.choices:
            raise bad("one of " + ", ".join(kind.choices))
        return value
    if isinstance(kind, Int):
        n = _number(value)
        if n is None or n != int(n):
            raise bad("an integer")
        if n < kind.minimum:
            raise bad(f"an integer >= {kind.minimum}")
        return int(n)
    if isinstance(kind, Bool):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if isinstance(kind, StrList):
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise bad("a list of strings")
        for v in value:
            if kind.choices and v not in kind.choices:
                raise SpecError(f"{where}: {v!r} is not one of " + ", ".join(kind.choices))
        return value
    raise AssertionError(kind)  # pragma: no cover


def _check_value(value: Any, figure: Figure, where: str) -> int | float:
    n = _number(value)
    if n is None:
        raise SpecError(f"{where}: expected a number, got {_show(value)}")
    if n < 0:
        raise SpecError(f"{where}: expected a number >= 0, got {_show(value)}")
    if figure.integer:
        if n != int(n):
            raise SpecError(f"{where}: expected an integer, got {_show(value)}")
        return int(n)
    return n


def _check_figure(node: Any, figure: Figure, where: str) -> dict:
    if not isinstance(node, dict):
        raise SpecError(f"{where}: expected a figure {{value, unit, source}}, got {_show(node)}")
    extra = sorted(set(node) - _FIGURE_KEYS)
    if extra:
        raise SpecError(f"{where}: unknown key {extra[0]!r} in a figure (allowed: value, unit, source, note, verified)")
    if "value" not in node:
        raise SpecError(f"{where}: figure has no value")
    out = dict(node, value=_check_value(node["value"], figure, where))
    source = node.get("source")
    if not isinstance(source, str) or not source.strip():
        raise SpecError(f"{where}: every figure needs a source (a URL or a document and section), got {_show(source)}")
    if node.get("unit") != figure.unit:
        raise SpecError(f"{where}: expected unit {figure.unit!r}, got {_show(node.get('unit'))}")
    if "note" in node:
        _check_leaf(node["note"], Str(), f"{where}.note")
    if "verified" in node:
        _check_leaf(node["verified"], Bool(), f"{where}.verified")
    return out


def _walk(node: dict, prefix: str) -> dict:
    """Check every field of a block against SCHEMA; returns a normalised copy."""
    out = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        kind = SCHEMA.get(path) if isinstance(key, str) else None
        where = f"field {path}"
        if kind is None:
            raise SpecError(f"{where}: unknown field (see docs/device-specs.md for the schema)")
        if isinstance(kind, Block):
            if not isinstance(value, dict):
                raise SpecError(f"{where}: expected a mapping of fields, got {_show(value)}")
            out[key] = _walk(value, path + ".")
        elif isinstance(kind, Figure):
            out[key] = _check_figure(value, kind, where)
        elif isinstance(kind, Variants):
            out[key] = _check_variants(value, where)
        else:
            out[key] = _check_leaf(value, kind, where)
    return out


def _check_variants(node: Any, where: str) -> dict:
    if not isinstance(node, dict) or not node:
        raise SpecError(f"{where}: expected a mapping of variant name -> {{set: ..}} or {{unavailable: ..}}, "
                        f"got {_show(node)}")
    out = {}
    for name, variant in node.items():
        at = f"{where}.{name}"
        if not isinstance(name, str) or not _VARIANT_NAME.fullmatch(name):
            raise SpecError(f"{where}: variant name {_show(name)} must be lower-case letters, digits, '-' or '_'")
        if not isinstance(variant, dict):
            raise SpecError(f"{at}: expected a mapping with 'set' or 'unavailable', got {_show(variant)}")
        extra = sorted(set(variant) - _VARIANT_KEYS, key=str)
        if extra:
            raise SpecError(f"{at}: unknown key {extra[0]!r} (allowed: {', '.join(sorted(_VARIANT_KEYS))})")
        if ("set" in variant) == ("unavailable" in variant):
            raise SpecError(f"{at}: give exactly one of 'set' (the fields it changes) or 'unavailable' (why not)")
        checked = {k: _check_leaf(variant[k], Str(), f"{at}.{k}")
                   for k in ("name", "description", "unavailable") if k in variant}
        if "set" in variant:
            changes = variant["set"]
            if not isinstance(changes, dict) or not changes:
                raise SpecError(f"{at}.set: expected a mapping of dotted field -> value, got {_show(changes)}")
            checked["set"] = {key: _check_variant_value(key, value, f"{at}.set.{key}")
                              for key, value in changes.items()}
        out[name] = checked
    return out


def _check_variant_value(key: Any, value: Any, where: str) -> Any:
    kind = SCHEMA.get(key) if isinstance(key, str) else None
    if kind is None or isinstance(kind, (Block, Variants)):
        raise SpecError(f"{where}: not a field of the schema (see docs/device-specs.md)")
    if key in NOT_OVERRIDABLE:
        raise SpecError(f"{where}: a variant cannot change it (it says which device this is)")
    if isinstance(kind, Figure):
        return _check_figure(value, kind, where)
    return _check_leaf(value, kind, where)


def _has(tree: dict, path: str) -> bool:
    node: Any = tree
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def validate(tree: Any, path: str | Path, expected_id: str | None = None) -> dict:
    """Validate a parsed YAML tree; raises SpecError naming ``path`` and the field. Returns a normalised copy."""
    try:
        if not isinstance(tree, dict):
            raise SpecError(f"expected a mapping of fields at the top level, got {_show(tree)}")
        data = _walk(tree, "")
        family = data.get("family")
        for req in REQUIRED + REQUIRED_BY_FAMILY.get(family, ()):
            if not _has(data, req):
                why = "required" if req in REQUIRED else f"required for family {family}"
                raise SpecError(f"field {req}: missing ({why})")
        if expected_id is not None and data["id"] != expected_id:
            raise SpecError(f"field id: expected {expected_id!r} (the file name without .yaml), got {data['id']!r}")
        for other in FAMILIES:
            if other != family and other in data:
                raise SpecError(f"field {other}: a '{other}' block is only allowed in a family {other} spec, "
                                f"this one is family {family}")
        for name, variant in data.get("variants", {}).items():
            for key in variant.get("set", {}):
                top = key.split(".")[0]
                if top in FAMILIES and top != family:
                    raise SpecError(f"field variants.{name}.set.{key}: applies only to family {top} devices, "
                                    f"this one is family {family}")
        return data
    except SpecError as exc:
        raise SpecError(exc.detail, path) from None


# --------------------------------------------------------------------------------------------- YAML reading
class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """safe_load (libyaml's when PyYAML has it: ~10x faster), but a key given twice in one mapping is an error
    instead of silently taking the last."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r}", problem_mark=mark)
        seen.add(key)
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such device spec file", path) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a device spec file", path) from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text (byte {exc.start})", path) from None
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror or exc}", path) from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"YAML syntax error{where}: {exc.problem or exc.context}", path) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", path) from None


def load_file(path: str | Path, expected_id: str | None = None) -> DeviceSpec:
    """Read and validate one spec file (no overrides). The id must equal the file's stem."""
    p = Path(path)
    data = validate(_read_yaml(p), p, p.stem if expected_id is None else expected_id)
    return DeviceSpec(data["id"], data["name"], data["family"], str(p), data)


# --------------------------------------------------------------------------------------------- the catalog
def catalog_dir() -> Path:
    """The folder holding the bundled specs."""
    for d in SPEC_DIRS:
        if d.is_dir() and any(d.glob("*.yaml")):
            return d
    raise SpecError("bundled device specs not found (looked in " + ", ".join(map(str, SPEC_DIRS)) + ")")


@lru_cache(maxsize=4)
def _catalog(directory: Path) -> tuple[dict[str, DeviceSpec], dict[str, str]]:
    specs = {}
    names: dict[str, str] = {}  # id or alias -> id
    for file in sorted(directory.glob("*.yaml")):
        spec = load_file(file)
        for name in [spec.id, *spec.aliases]:
            if name.lower() in names:
                raise SpecError(f"field aliases: {name!r} is already used by {names[name.lower()]}", file)
            names[name.lower()] = spec.id
        specs[spec.id] = spec
    return specs, names


def _fresh(spec: DeviceSpec) -> DeviceSpec:
    return DeviceSpec(spec.id, spec.name, spec.family, spec.path, copy.deepcopy(spec.data))


def list_devices() -> list[DeviceSpec]:
    """Every bundled device spec, validated, sorted by id."""
    specs, _ = _catalog(catalog_dir())
    return [_fresh(specs[k]) for k in sorted(specs)]


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.lower().endswith((".yaml", ".yml"))


def split_variant(text: str) -> tuple[str, str | None]:
    """``"jetson-agx-orin-64gb:dla"`` -> ``("jetson-agx-orin-64gb", "dla")``; text without a variant -> (text, None).
    A Windows drive (``C:``) or a path after the colon is not a variant."""
    base, sep, variant = text.rpartition(":")
    if not sep or not base or (len(base) == 1 and base.isalpha()) or not _VARIANT_NAME.fullmatch(variant.lower()):
        return text, None
    return base, variant.lower()


def apply_variant(spec: DeviceSpec, variant: str) -> None:
    """Apply the spec's variant ``variant`` in place; SpecError naming the valid variants when it has no such one,
    or saying why when the variant is unavailable on this device."""
    variants = spec.data.get("variants", {})
    if variant not in variants:
        known = f"its variants: {', '.join(sorted(variants))}" if variants else "it has no variants"
        raise SpecError(f"device {spec.id} has no variant {variant!r}; {known}", spec.path)
    chosen = variants[variant]
    if "unavailable" in chosen:
        raise SpecError(f"device {spec.id} has no {variant} variant: {chosen['unavailable']}", spec.path)
    for key, value in chosen["set"].items():
        *parents, leaf = key.split(".")
        node = spec.data
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = copy.deepcopy(value)
    spec.id = f"{spec.id}:{variant}"
    spec.name = chosen.get("name") or f"{spec.name} ({variant})"
    spec.variant = variant


def load_device(id_or_path: str | Path, overrides: dict[str, object] | None = None) -> DeviceSpec:
    """A catalog id, an alias (``coral`` -> ``coral-usb``) or a path to a YAML file, optionally with a variant
    (``jetson-agx-orin-64gb:dla``, see ``apply_variant``); then ``overrides``."""
    variant = None
    if not isinstance(id_or_path, Path):
        id_or_path, variant = split_variant(str(id_or_path))
    if isinstance(id_or_path, Path) or _looks_like_path(str(id_or_path)):
        spec = load_file(id_or_path)
    else:
        specs, names = _catalog(catalog_dir())
        key = str(id_or_path).strip().lower()
        if key not in names:
            close = difflib.get_close_matches(key, list(names), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SpecError(f"unknown device {str(id_or_path)!r}{hint} Known devices: {', '.join(sorted(specs))} "
                            "(or give the path of your own YAML file)")
        spec = _fresh(specs[names[key]])
    if variant is not None:
        apply_variant(spec, variant)
    for key, value in (overrides or {}).items():
        apply_override(spec, key, value)
    return spec


# --------------------------------------------------------------------------------------------- overrides
def apply_override(spec: DeviceSpec, key: str, value: object) -> None:
    """Set one dotted field of ``spec`` in place, type-checked like the YAML. Figures get the override source."""
    where = f"--set {key}"
    path = key.removesuffix(".value") if isinstance(SCHEMA.get(key.removesuffix(".value")), Figure) else key
    kind = SCHEMA.get(path)
    if kind is None:
        close = difflib.get_close_matches(path, [p for p, k in SCHEMA.items() if not isinstance(k, Block)], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SpecError(f"{where}: unknown field{hint} (see docs/device-specs.md for the schema)", spec.path)
    if isinstance(kind, Block):
        raise SpecError(f"{where}: is a block of fields; set one of its fields instead", spec.path)
    if path in NOT_OVERRIDABLE:
        raise SpecError(f"{where}: cannot be overridden (it says which device this is)", spec.path)
    top = path.split(".")[0]
    if top in FAMILIES and top != spec.family:
        raise SpecError(f"{where}: applies only to family {top} devices; {spec.id} is family {spec.family}", spec.path)
    try:
        checked = _check_value(value, kind, where) if isinstance(kind, Figure) else _check_leaf(value, kind, where)
    except SpecError as exc:
        raise SpecError(exc.detail, spec.path) from None
    *parents, leaf = path.split(".")
    node = spec.data
    for part in parents:
        node = node.setdefault(part, {})
    if isinstance(kind, Figure):
        old = node.get(leaf)
        node[leaf] = {"value": checked, "unit": kind.unit, "source": OVERRIDE_SOURCE}
        if old is not None:
            node[leaf]["note"] = f"replaces {old['value']} {old['unit']} ({old['source']})"
    else:
        node[leaf] = checked
    if path == "name":
        spec.name = checked


def parse_set_option(text: str) -> tuple[str, object]:
    """``"coral.min_runtime=13"`` -> ``("coral.min_runtime", 13)``. Values are YAML scalars, except that a
    field the schema types as text keeps the text exactly as written (``coral.compiler_version=16.0``)."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise SpecError(f"--set {text!r}: expected KEY=VALUE with a dotted key, e.g. coral.min_runtime=13")
    raw = raw.strip()
    if raw == "":
        raise SpecError(f"--set {key}: no value after '='")
    if isinstance(SCHEMA.get(key), Str):  # keep "16.0" as written, not the float 16.0
        quoted = len(raw) > 1 and raw[0] == raw[-1] and raw[0] in "'\""
        return key, raw[1:-1] if quoted else raw
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        return key, raw
    if isinstance(value, str) and _number(value) is not None:
        value = _number(value)
    return key, value
