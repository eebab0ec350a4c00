"""`edgefit check`: a CI / pre-commit gate over ``analyze``.

Policies come from ``[tool.edgefit]`` in the nearest pyproject.toml (searched upward from the current
directory), overridden by command-line options:

    [tool.edgefit]
    device = "coral-usb"
    max-cpu-ops = 0
    require = "full"              # or "partial"
    max-streamed-bytes = "1MiB"
    fail-on = ["CORAL-RANK"]      # codes, or prefixes ending in "*"
    set = { "coral.min_runtime" = 13 }
    input-shape = { seq = 128 }

With no policy configured anywhere, ``require = "partial"`` applies: a model the device cannot run at all
(verdict ``rejected`` or ``cpu_only``) fails.

Exit codes: 0 every model passes, 1 a policy is violated, 2 bad input (a model, the config or an option);
bad input wins, because a gate that could not look must not pass.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgefit.errors import EdgefitError, UsageError

EXIT_OK, EXIT_POLICY, EXIT_BAD_INPUT = 0, 1, 2
#: The policy when none is given: the model must compile with at least some ops on the accelerator.
DEFAULT_REQUIRE = "partial"
CONFIG_KEYS = ("device", "max-cpu-ops", "require", "max-streamed-bytes", "fail-on", "set", "input-shape")
_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_size(text: Any, what: str = "--max-streamed-bytes") -> int:
    """``"1MiB"`` -> 1048576; plain numbers are bytes."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgG]i?[bB]|[bB])?\s*", str(text))
    if not m:
        raise UsageError(f"{what}: {text!r} is not a size (examples: 0, 524288, 512KiB, 1.5MiB, 8MB)")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


def find_pyproject(start: Path) -> Path | None:
    for d in (start, *start.parents):
        if (d / "pyproject.toml").is_file():
            return d / "pyproject.toml"
    return None


def load_config(path: Path | None) -> dict[str, Any]:
    """``[tool.edgefit]`` of ``path``, validated; {} when there is none."""
    if path is None:
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read: {e}", path) from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"invalid TOML: {e}", path) from None
    config = data.get("tool", {}).get("edgefit", {})
    if not isinstance(config, dict):
        raise UsageError("[tool.edgefit] must be a table", path)
    for key in config:
        if key.replace("_", "-") not in CONFIG_KEYS:
            raise UsageError(f"[tool.edgefit] unknown key {key!r} (known: {', '.join(CONFIG_KEYS)})", path)
    return {k.replace("_", "-"): v for k, v in config.items()}


@dataclass
class Policy:
    device: str = "coral"
    max_cpu_ops: int | None = None
    require: str | None = None
    max_streamed_bytes: int | None = None
    fail_on: list[str] = field(default_factory=list)
    overrides: dict[str, Any] = field(default_factory=dict)
    input_shapes: dict[str, Any] = field(default_factory=dict)

    def violations(self, report: Any) -> list[str]:
        s = report.summary()
        out = []
        if self.max_cpu_ops is not None and s["ops_on_cpu"] > self.max_cpu_ops:
            by_type = ", ".join(f"{t} {n}" for t, n in s["cpu_ops_by_type"].items())
            out.append(f"{s['ops_on_cpu']} ops on the CPU > max-cpu-ops {self.max_cpu_ops} ({by_type})")
        if self.require == "full" and report.verdict != "full":
            out.append(f"verdict {report.verdict}, require full")
        if self.require == "partial" and report.verdict not in ("full", "partial"):
            out.append(f"verdict {report.verdict}, require partial")
        if self.max_streamed_bytes is not None and s["param_bytes_streamed"] > self.max_streamed_bytes:
            out.append(f"{s['param_bytes_streamed']:,} parameter bytes streamed per inference > max-streamed-bytes "
                       f"{self.max_streamed_bytes:,}")
        codes = sorted({f["code"] for f in report.findings})
        for pattern in self.fail_on:
            hits = [c for c in codes if fnmatch.fnmatchcase(c, pattern.upper())]
            if hits:
                out.append(f"finding {', '.join(hits)} present (fail-on {pattern})")
        return out


def build_policy(args: argparse.Namespace, config: dict[str, Any], config_path: Path | None) -> Policy:
    from edgefit.devices import parse_set_option
    from edgefit.read import parse_dims, parse_input_shape_option

    where = f"[tool.edgefit] in {config_path}" if config_path else "[tool.edgefit]"
    p = Policy()
    p.device = args.device or str(config.get("device", "coral"))
    max_cpu = args.max_cpu_ops if args.max_cpu_ops is not None else config.get("max-cpu-ops")
    if max_cpu is not None and (not isinstance(max_cpu, int) or isinstance(max_cpu, bool) or max_cpu < 0):
        raise UsageError(f"{where}: max-cpu-ops must be a non-negative integer, got {max_cpu!r}")
    p.max_cpu_ops = max_cpu
    p.require = args.require or config.get("require")
    if p.require not in (None, "full", "partial"):
        raise UsageError(f"{where}: require must be 'full' or 'partial', got {p.require!r}")
    size = args.max_streamed_bytes if args.max_streamed_bytes is not None else config.get("max-streamed-bytes")
    p.max_streamed_bytes = None if size is None else parse_size(size)
    fail_on = args.fail_on if args.fail_on is not None else config.get("fail-on", [])
    if isinstance(fail_on, str):
        fail_on = [fail_on]
    p.fail_on = [str(c) for c in fail_on]
    sets = config.get("set", {})
    if not isinstance(sets, dict):
        raise UsageError(f"{where}: set must be a table of spec keys, e.g. set = {{ \"coral.min_runtime\" = 13 }}")
    p.overrides = {**sets, **dict(parse_set_option(item) for item in args.set)}
    shapes = config.get("input-shape", {})
    if not isinstance(shapes, dict):
        raise UsageError(f"{where}: input-shape must be a table, e.g. input-shape = {{ seq = 128 }}")
    p.input_shapes = {**{k: parse_dims(v, f"{where}: input-shape.{k}") for k, v in shapes.items()},
                      **dict(parse_input_shape_option(item) for item in args.input_shape)}
    if p.max_cpu_ops is None and p.require is None and p.max_streamed_bytes is None and not p.fail_on:
        p.require = DEFAULT_REQUIRE  # a gate with no policy at all still fails models that cannot run on the device
    return p


def run_check(args: argparse.Namespace) -> int:
    from edgefit.api import analyze

    config_path = Path(args.config) if args.config else find_pyproject(Path.cwd())
    if args.config and not config_path.is_file():  # type: ignore[union-attr]
        raise UsageError("no such file", config_path)
    policy = build_policy(args, load_config(config_path), config_path)
    results, status = [], EXIT_OK
    for model in args.models:
        try:
            report = analyze(model, device=policy.device, overrides=policy.overrides,
                             input_shapes=policy.input_shapes, context=args.context)
        except EdgefitError as e:
            results.append({"model": model, "status": "error", "error": str(e)})
            print(f"edgefit: error: {e}", file=sys.stderr)
            status = EXIT_BAD_INPUT
            continue
        problems = policy.violations(report)
        s = report.summary()
        results.append({"model": model, "status": "fail" if problems else "pass", "verdict": report.verdict,
                        "ops_on_cpu": s["ops_on_cpu"], "param_bytes_streamed": s["param_bytes_streamed"],
                        "violations": problems})
        if problems and status == EXIT_OK:
            status = EXIT_POLICY
        if args.format == "text":
            head = f"{'FAIL' if problems else 'PASS'} {model}: {report.verdict} on {report.device_id}, " \
                   f"{s['ops_on_cpu']} of {s['ops_total']} ops on the CPU"
            print(head + "".join(f"\n  - {p}" for p in problems))
    if args.format == "json":
        print(json.dumps({"device": policy.device, "exit_code": status, "results": results}, indent=2))
    return status
