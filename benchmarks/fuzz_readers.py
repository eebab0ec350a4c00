"""Fuzz edgefit's readers and analysis with hostile files: >= 10,000 cases per format, 0 crashes, 0 hangs.

Cases are drawn with hypothesis strategies (``_fuzz_cases``: byte-level and structure-aware mutations of real
ONNX, TFLite and GGUF files) and run by a pool of worker subprocesses (``_fuzz_pool``), each under RLIMIT_AS
with a per-case watchdog. Every case goes through the real analysis path in the worker: ``Analysis`` (one
read) -> ``report`` for Coral and for one other device -> JSON, and ``inspect_model`` -> JSON. A case passes
when it succeeds or fails with edgefit's own one-line error; a crash (any other exception, or a dead worker)
or a hang (no answer within --timeout seconds) is saved under tests/fuzz/regressions/ so that it becomes a
regression fixture (tests/fuzz/test_regressions.py runs the CLI on every file there).

    .venv/bin/python benchmarks/fuzz_readers.py [--cases 10000] [--formats onnx,tflite,gguf] [--workers 2]

Prints, per format: cases tried, passed (ok / edgefit errors), crashes, hangs, peak worker RSS, time.
Exit status 1 when a format has a crash or a hang, or fewer cases than asked.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _fuzz_cases import EXTENSIONS, case_digest, draw_cases  # noqa: E402
from _fuzz_pool import run_cases  # noqa: E402

REGRESSIONS = Path(__file__).resolve().parents[1] / "tests" / "fuzz" / "regressions"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=10_000, help="cases per format (default: %(default)s)")
    ap.add_argument("--formats", default="onnx,tflite,gguf")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds a case may take (default: %(default)s)")
    ap.add_argument("--rlimit-mb", type=int, default=3072, help="RLIMIT_AS of each worker (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="hypothesis seed of the run (default: %(default)s)")
    ap.add_argument("--save", action=argparse.BooleanOptionalAction, default=True,
                    help="save crashing / hanging inputs under tests/fuzz/regressions/ (default: yes)")
    args = ap.parse_args(argv)

    missed = False
    print(f"fuzz: {args.cases} cases per format, {args.workers} workers, RLIMIT_AS {args.rlimit_mb} MiB, "
          f"{args.timeout:g} s per case, seed {args.seed}")
    for fmt in args.formats.split(","):
        t0 = time.monotonic()
        cases = draw_cases(fmt, args.cases, args.seed)
        drawn = time.monotonic() - t0
        ext = EXTENSIONS[fmt]
        out = run_cases(((ext, c) for c in cases), workers=args.workers, timeout_s=args.timeout,
                        rlimit_mb=args.rlimit_mb)
        print(f"{fmt:<7} cases {out.cases:>6}  passed {out.ok + out.errors:>6} (ok {out.ok}, edgefit errors "
              f"{out.errors})  crashes {len(out.crashes)}  hangs {len(out.hangs)}  peak RSS "
              f"{out.peak_rss_kb / 1024:.0f} MiB  ({drawn:.0f} s drawing, {out.seconds:.0f} s running)")
        for f in out.crashes + out.hangs:
            saved = ""
            if args.save:
                REGRESSIONS.mkdir(parents=True, exist_ok=True)
                path = REGRESSIONS / f"{fmt}-{f.kind}-{case_digest(f.payload)}{f.ext}"
                path.write_bytes(f.payload)
                saved = f" -> {path.relative_to(REGRESSIONS.parents[2])}"
            print(f"  {f.kind}: {f.detail[:300]}{saved}")
        if out.crashes or out.hangs or out.cases < args.cases:
            missed = True
    print("fuzz: target met (0 crashes, 0 hangs)" if not missed else "fuzz: TARGET MISSED")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
