"""Benchmark: `edgefit inspect` on the Qwen3-0.6B graph vs the bare baseline, in the same run.

Baseline = what any tool must do at least: onnx.load(..., load_external_data=False), build a networkx graph
of the nodes, topologically sort it. Measured two ways, each against its own baseline:
- in process: median of repeated runs of the library call vs the baseline function (import time excluded);
- end to end: the real CLI (`python -m edgefit inspect --format json`) vs a `python -c` baseline script,
  both as fresh processes, with each process's peak RSS (from wait4).
Targets: ratio <= 5x, peak RSS of the CLI < 300 MB. Exit 1 when a target is missed.

    python benchmarks/inspect_qwen.py [MODEL] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from _timing import QWEN_06B, baseline, baseline_process, processes, timed

RATIO_TARGET, RSS_TARGET_MB = 5.0, 300.0


def edgefit_inspect(path: str) -> int:
    from edgefit.inspect import inspect_model

    d = inspect_model(path).to_dict()
    json.dumps(d)
    return d["node_count"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=str(QWEN_06B))
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    if not Path(args.model).is_file():
        print(f"skip: {args.model} not found (the shared corpus is not present)")
        return 0
    data_file = Path(args.model + ".data")
    print(f"model: {args.model} (external data file {'present' if data_file.exists() else 'absent'})")

    edgefit_inspect(args.model), baseline(args.model)  # warm imports and caches for both
    t_base = timed(baseline, args.model, args.repeat)
    t_edge = timed(edgefit_inspect, args.model, args.repeat)
    in_ratio = t_edge / t_base
    print(f"in process   baseline {t_base * 1000:8.1f} ms   edgefit inspect {t_edge * 1000:8.1f} ms   "
          f"ratio {in_ratio:5.2f}x (median of {args.repeat})")

    b_wall, b_rss = baseline_process(args.model)
    e_wall, e_rss = processes(["-m", "edgefit", "inspect", "--format", "json", args.model])
    e2e_ratio = e_wall / b_wall
    print(f"end to end   baseline {b_wall * 1000:8.1f} ms   edgefit CLI     {e_wall * 1000:8.1f} ms   "
          f"ratio {e2e_ratio:5.2f}x (median of 3 processes)")
    print(f"peak RSS     baseline {b_rss:8.1f} MB   edgefit CLI     {e_rss:8.1f} MB   ratio {e_rss / b_rss:5.2f}x")
    ok = in_ratio <= RATIO_TARGET and e2e_ratio <= RATIO_TARGET and e_rss < RSS_TARGET_MB
    print(f"targets: ratio <= {RATIO_TARGET}x, peak RSS < {RSS_TARGET_MB:.0f} MB: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
