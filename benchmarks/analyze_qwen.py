"""Benchmark: `edgefit analyze qwen3-0.6b.onnx --device coral` (no weights file), target under one second.

Times the whole Coral analysis (read, lower 2,417 ONNX nodes to TFLite, 38 rules, partition, memory plan,
JSON) with the sequence dim dynamic (verdict rejected) and fixed (--input-shape seq=128), and prints it
against the bare onnx.load + networkx + toposort baseline measured in the same run:
- in process: the first call (cold caches, imports excluded) and the median of later calls;
- end to end: the real CLI as fresh processes, interpreter start-up and imports included, with peak RSS.
Exit 1 when the in-process first call or the median takes a second or more.

    python benchmarks/analyze_qwen.py [MODEL] [--repeat N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _timing import QWEN_06B, baseline, baseline_process, processes, timed

TARGET_S = 1.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=str(QWEN_06B))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not Path(args.model).is_file():
        print(f"skip: {args.model} not found (the shared corpus is not present)")
        return 0
    import edgefit

    baseline(args.model)
    t_base = timed(baseline, args.model, args.repeat)
    b_wall, b_rss = baseline_process(args.model)
    print(f"baseline     in process {t_base * 1000:7.1f} ms   process {b_wall * 1000:7.1f} ms   RSS {b_rss:6.1f} MB")
    ok = True
    for label, shapes in (("dynamic seq", {}), ("seq=128", {"seq": 128})):
        def run(path: str, shapes: dict = shapes) -> None:
            edgefit.analyze(path, device="coral", input_shapes=shapes).to_json()

        t = time.perf_counter()
        run(args.model)
        first = time.perf_counter() - t
        median = timed(run, args.model, args.repeat)
        cmd = ["-m", "edgefit", "analyze", args.model, "--device", "coral", "--format", "json"]
        if shapes:
            cmd += ["--input-shape", "seq=128"]
        wall, rss = processes(cmd)
        print(f"{label:<12} in process first {first * 1000:7.1f} ms, median {median * 1000:7.1f} ms "
              f"({median / t_base:5.1f}x baseline)   CLI process {wall * 1000:7.1f} ms ({wall / b_wall:4.2f}x "
              f"baseline process)   RSS {rss:6.1f} MB")
        ok &= first < TARGET_S and median < TARGET_S
    print(f"target: analysis under {TARGET_S:.0f} s in process: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
