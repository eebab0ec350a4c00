"""The `edgefit` command: a thin shell over the Python API.

Exit codes: 0 success, 1 a `check` policy was violated, 2 bad input (file, model, spec, option).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

from edgefit.errors import EdgefitError

EXIT_OK, EXIT_POLICY, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 70


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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="edgefit", description="Will this model run on that edge accelerator, and exactly why not?",
                     epilog="Exit codes: 0 ok, 1 check policy violated, 2 bad input.")
    parser.add_argument("--version", action="version", version=f"edgefit {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("inspect", help="what is in a model: ops, parameters, MACs, I/O, dynamic dims",
                       description="Describe an ONNX or TFLite model without any device: op histogram, node "
                                   "count, parameters and bytes by dtype, MACs, inputs/outputs, every dynamic dim "
                                   "and where it comes from, opsets and op versions. ONNX external data is never "
                                   "loaded.")
    p.add_argument("model", help="path to a .onnx or .tflite file")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.set_defaults(func=_cmd_inspect)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("edgefit")
    except PackageNotFoundError:
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    sys.exit(main())
