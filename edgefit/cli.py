"""The `edgefit` command: a thin shell over the Python API.

Exit codes: 0 success, 1 a `check` policy was violated, 2 bad input (file, model, spec, option).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from typing import Sequence

from edgefit.errors import EdgefitError, UsageError

EXIT_OK, EXIT_POLICY, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 70
#: Same as edgefit.targets.DEFAULT_CONTEXT; repeated so --help does not import the analysis stack.
DEFAULT_CONTEXT = 4096


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage already; make the message a single line like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"edgefit: error: {message} (see '{self.prog} --help')\n")


def _cmd_inspect(args: argparse.Namespace) -> int:
    from edgefit.inspect import inspect_model

    report = inspect_model(args.model)
    d = report.to_dict()
    if args.format == "json":
        print(json.dumps(d, indent=2))
    else:
        from edgefit.report.inspect_text import render_inspect_text

        sys.stdout.write(render_inspect_text(d))
    return EXIT_OK


def _parse_sets(items: list[str]) -> dict[str, object]:
    from edgefit.devices import parse_set_option

    return dict(parse_set_option(item) for item in items)


def _parse_input_shapes(items: list[str]) -> dict[str, list[int]]:
    from edgefit.read import parse_input_shape_option

    return dict(parse_input_shape_option(item) for item in items)


def _analyze_args(p: argparse.ArgumentParser, default_device: str | None = "coral") -> None:
    p.add_argument("--device", "-d", default=default_device,
                   help="device id or alias from 'edgefit devices' (ID:VARIANT for a variant, e.g. "
                        "jetson-agx-orin-64gb:dla), or the path of your own device YAML "
                        + ("(default: %(default)s)" if default_device else
                           "(default: device in [tool.edgefit], else coral)"))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a device spec field, e.g. coral.compiler_version=14.1, coral.min_runtime=13, "
                        "memory.param_cache_bytes=4194304, toolchain.partitioning=multi_subgraph (repeatable)")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS",
                   help="fix a dynamic input (input_ids=1x128) or a symbolic dim in every input (seq=128); "
                        "ONNX only (repeatable)")
    p.add_argument("--context", type=int, default=DEFAULT_CONTEXT, metavar="TOKENS",
                   help="for LLMs: tokens of KV cache the memory fit budgets for (default: %(default)s)")


def _cmd_analyze(args: argparse.Namespace) -> int:
    from edgefit.api import analyze

    report = analyze(args.model, device=args.device, overrides=_parse_sets(args.set),
                     input_shapes=_parse_input_shapes(args.input_shape), context=args.context)
    if args.format == "json":
        print(report.to_json())
    elif args.format == "edgetpu-log":
        from edgefit.report.edgetpu_log import render_edgetpu_log

        sys.stdout.write(render_edgetpu_log(report))
    else:
        from edgefit.report.text import render_text

        sys.stdout.write(render_text(report, show_ops=args.show_lowered))
    return EXIT_OK


def _cmd_compare(args: argparse.Namespace) -> int:
    from edgefit.compare import compare

    devices = [d.strip() for d in args.devices.split(",") if d.strip()] if args.devices else None
    if devices is not None and not devices:
        raise UsageError("--devices: give at least one device id (e.g. --devices coral,hailo-8,rpi5)")
    kwargs = dict(devices=devices, overrides=_parse_sets(args.set), input_shapes=_parse_input_shapes(args.input_shape),
                  context=args.context)
    if sys.stderr.isatty():  # a progress bar for people, nothing for pipes and CI logs
        from rich.progress import Progress

        with Progress(transient=True, console=None) as bar:
            task = bar.add_task("analysing", total=None)
            comparison = compare(args.model, **kwargs,
                                 progress=lambda device: bar.update(task, description=device, advance=1))
    else:
        comparison = compare(args.model, **kwargs)
    if args.format == "json":
        print(comparison.to_json())
    elif args.format == "markdown":
        from edgefit.report.compare import render_compare_markdown

        sys.stdout.write(render_compare_markdown(comparison))
    else:
        from edgefit.report.compare import render_compare_text

        sys.stdout.write(render_compare_text(comparison))
    return EXIT_OK


def _cmd_devices(args: argparse.Namespace) -> int:
    from edgefit.devices import list_devices, load_device

    if args.id:
        spec = load_device(args.id)
        if args.format == "json":
            print(json.dumps(spec.data, indent=2))
        else:
            import yaml

            sys.stdout.write(f"# {spec.path}\n" + yaml.safe_dump(spec.data, sort_keys=False, width=110))
        return EXIT_OK
    specs = list_devices()
    if args.format == "json":
        print(json.dumps([{"id": s.id, "name": s.name, "family": s.family, "aliases": s.aliases,
                           "toolchain": s.get("toolchain.name")} for s in specs], indent=2))
        return EXIT_OK
    from edgefit.targets import analyzed_families

    width = max(len(s.id) for s in specs)
    for s in specs:
        aliases = f" (alias: {', '.join(s.aliases)})" if s.aliases else ""
        state = "" if s.family in analyzed_families() else "  [spec only: analysis not implemented yet]"
        print(f"{s.id:<{width}}  {s.name}{aliases}{state}")
    return EXIT_OK


def _cmd_explain(args: argparse.Namespace) -> int:
    from edgefit.rules import all_rules, get_rule

    from edgefit.lower import NOTE_CODES
    from edgefit.partition import REASON_TEXT

    code = args.code.upper()
    if code in REASON_TEXT:
        print(f"{code} (partitioner)\n{REASON_TEXT[code]}")
        return EXIT_OK
    if code in NOTE_CODES:
        severity, text = NOTE_CODES[code]
        print(f"{code} ({severity}, lowering; see docs/lowering.md)\n{text}")
        return EXIT_OK
    try:
        r = get_rule(args.code)
    except KeyError:
        import difflib

        codes = [x.code for x in all_rules()] + list(REASON_TEXT) + list(NOTE_CODES)
        close = difflib.get_close_matches(args.code.upper(), codes, n=3)
        raise UsageError(f"no rule with code {args.code!r}" + (f"; did you mean {', '.join(close)}?" if close else
                         f"; known codes: {', '.join(codes)}")) from None
    print(f"{r.code} ({r.severity})")
    print(r.doc)
    if r.status:
        print(f"Compiler status: {r.status}")
    if r.hint:
        print(f"Fix: {r.hint}")
    if r.applies_to is not None:
        print(f"Applies to: {', '.join(sorted(r.applies_to))}")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from edgefit.check import run_check

    return run_check(args)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="edgefit", description="Will this model run on that edge accelerator, and exactly why not?",
                     epilog="Exit codes: 0 ok, 1 check policy violated, 2 bad input.")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("analyze", help="per-op verdicts, partition and memory fit on a device",
                       description="Predict what the device's toolchain does with the model: which ops map to "
                                   "the accelerator and which run on the host (with the reason and the "
                                   "toolchain's own status text), the partition (Hailo: the start/end nodes to "
                                   "paste; Jetson: GPU or DLA with --device ID:dla), and the memory fit at each "
                                   "precision the device runs (for LLMs: weights per runtime format plus the KV "
                                   "cache at --context). For Coral, ONNX models are first lowered to TFLite and a "
                                   "float model is analysed as if fully int8 post-training quantized.")
    p.add_argument("model", help="path to a .onnx, .tflite or .gguf file")
    _analyze_args(p)
    p.add_argument("--format", choices=("text", "json", "edgetpu-log"), default="text",
                   help="text (default); json (documented in docs/analyze-json.md); edgetpu-log (the Edge TPU "
                        "compiler's .log table for the predicted decisions)")
    p.add_argument("--show-lowered", action="store_true",
                   help="also list every op in the toolchain's dialect with its source nodes and placement")
    p.set_defaults(func=_cmd_analyze)

    p = sub.add_parser("compare", help="one table over every device in the catalog (or a subset), best first",
                       description="Analyze the model on every catalog device (or those given with --devices) "
                                   "and rank them: verdict, accelerated share of ops and MACs, partitions, "
                                   "weight bytes vs the memory that counts, best precision that fits, and the main "
                                   "blocking reasons. The model is read and lowered once per toolchain dialect.")
    p.add_argument("model", help="path to a .onnx, .tflite or .gguf file")
    p.add_argument("--devices", metavar="ID,ID,...", help="comma-separated device ids or aliases (default: all)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a spec field on every device (repeatable)")
    p.add_argument("--input-shape", action="append", default=[], metavar="NAME=DIMS",
                   help="fix a dynamic input or symbolic dim, as for analyze (repeatable)")
    p.add_argument("--context", type=int, default=DEFAULT_CONTEXT, metavar="TOKENS",
                   help="for LLMs: tokens of KV cache the memory fit budgets for (default: %(default)s)")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                   help="text (default); json (documented in docs/compare-json.md); markdown (a table for a "
                        "pull request or issue)")
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser("check", help="CI / pre-commit gate: exit 1 when a model breaks a policy",
                       description="Analyze each model and apply policies. Defaults come from [tool.edgefit] in "
                                   "the nearest pyproject.toml; options given here win. With no policy at all, "
                                   "--require partial applies. Exit 0: every model passes; 1: a policy is "
                                   "violated; 2: bad input.")
    p.add_argument("models", nargs="+", metavar="MODEL", help=".onnx or .tflite files")
    _analyze_args(p, default_device=None)
    p.add_argument("--max-cpu-ops", type=int, metavar="N", help="fail when more than N ops run on the CPU")
    p.add_argument("--require", choices=("full", "partial"),
                   help="full: every op on the accelerator; partial: at least some ops on it")
    p.add_argument("--max-streamed-bytes", metavar="SIZE",
                   help="fail when more parameter bytes than this are streamed per inference (e.g. 1MiB)")
    p.add_argument("--fail-on", action="append", default=None, metavar="CODE",
                   help="fail when a finding with this code (or prefix ending in '*', e.g. CORAL-*) is present")
    p.add_argument("--config", metavar="PYPROJECT", help="read [tool.edgefit] from this file instead of the "
                   "nearest pyproject.toml")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("devices", help="list the device catalog, or show one device's spec",
                       description="List every bundled device spec, or print one (all figures with sources).")
    p.add_argument("id", nargs="?", help="device id, alias or YAML path")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=_cmd_devices)

    p = sub.add_parser("explain", help="what a finding code means and how to fix it",
                       description="Print a rule's message, the toolchain status it maps to, and the fix.")
    p.add_argument("code", help="finding code, e.g. CORAL-RANK")
    p.set_defaults(func=_cmd_explain)

    p = sub.add_parser("inspect", help="what is in a model: ops, parameters, MACs, I/O, dynamic dims",
                       description="Describe an ONNX or TFLite model without any device: op histogram, node "
                                   "count, parameters and bytes by dtype, MACs, inputs/outputs, every dynamic dim "
                                   "and where it comes from, opsets and op versions. ONNX external data is never "
                                   "loaded.")
    p.add_argument("model", help="path to a .onnx or .tflite file")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.set_defaults(func=_cmd_inspect)
    return parser


class _VersionAction(argparse.Action):
    """``--version``: looks the version up only when asked (importlib.metadata costs 20-30 ms at start-up)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show program's version number and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        sys.stdout.write(f"edgefit {_version()}\n")
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("edgefit")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # An analysis allocates hundreds of thousands of small objects (ops, tensors, findings, the JSON document)
    # and next to no reference cycles: the cyclic collector's passes over them cost 10-15 % of a run and free
    # nothing. Paused for the command; restored afterwards (main() is also called in process).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return int(args.func(args))
    except EdgefitError as e:
        print(f"edgefit: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as e:  # a bug, not bad input: one line unless the user asks for the traceback
        if os.environ.get("EDGEFIT_DEBUG"):
            raise
        print(f"edgefit: internal error: {type(e).__name__}: {e} (set EDGEFIT_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        if collecting:
            gc.enable()


if __name__ == "__main__":
    sys.exit(main())
