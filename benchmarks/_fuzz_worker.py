"""Fuzz worker: runs edgefit's real analysis path on each case it is sent, in-process, under RLIMIT_AS.

Protocol (stdin -> stdout, one case at a time): the parent writes a header ``<II`` (extension length, payload
length), the extension (``.onnx``) and the payload bytes; the worker writes the file into its own temporary
folder, runs ``Analysis`` (read once) -> ``report`` for Coral and for one other device -> ``to_json``, then
``inspect_model`` -> ``json.dumps``, and answers one JSON line: ``{"status": "ok" | "error" | "crash",
"detail": ..., "rss_kb": peak RSS so far}``. A case passes when it succeeds or raises an ``EdgefitError``
whose message is one line; anything else is a crash. Dying (signal, RLIMIT) or going silent is seen by the
parent, which records a crash or a hang and starts a fresh worker.

Self-test cases (extension ``.selftest-hang`` / ``.selftest-die`` / ``.selftest-raise``) exist so the tests can
check that the parent really detects hangs, deaths and uncaught exceptions.
"""

from __future__ import annotations

import json
import os
import resource
import struct
import sys
import tempfile
import time
import traceback
from pathlib import Path

#: Non-Coral devices a case is also analysed for, one per case in turn: every other analysed family.
OTHER_DEVICES = ("hailo-8", "jetson-orin-nano-8gb", "rpi5", "tpu-v5e", "jetson-agx-orin-64gb:dla", "x86-ddr5")


def _read_exact(stream, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def main() -> None:
    limit_mb = int(os.environ.get("EDGEFIT_FUZZ_RLIMIT_MB", "3072"))
    resource.setrlimit(resource.RLIMIT_AS, (limit_mb << 20, limit_mb << 20))
    sys.setrecursionlimit(10_000)  # deep but finite: a RecursionError is a crash we want to see, not a segfault

    import edgefit  # noqa: F401  (import before the first case: start-up is not a case's time)
    from edgefit.api import Analysis, resolve_device
    from edgefit.errors import EdgefitError
    from edgefit.inspect import inspect_model

    coral = resolve_device("coral")
    others = [resolve_device(d) for d in OTHER_DEVICES]
    folder = Path(tempfile.mkdtemp(prefix="edgefit-fuzz-"))
    stdin, stdout = sys.stdin.buffer, sys.stdout
    n = 0
    while True:
        try:
            ext_len, size = struct.unpack("<II", _read_exact(stdin, 8))
            ext = _read_exact(stdin, ext_len).decode()
            payload = _read_exact(stdin, size)
        except EOFError:
            return
        if ext == ".selftest-hang":
            time.sleep(3600)
        if ext == ".selftest-die":
            os._exit(9)
        path = folder / f"case{ext}"
        path.write_bytes(payload)
        try:
            if ext == ".selftest-raise":
                raise KeyError("selftest")
            analysis = Analysis(path)
            analysis.report(coral).to_json()
            analysis.report(others[n % len(others)]).to_json()
            json.dumps(inspect_model(path).to_dict())
            status, detail = "ok", ""
        except EdgefitError as e:
            text = str(e)
            if "\n" in text or not text.strip():
                status, detail = "crash", f"EdgefitError without a one-line message: {text!r}"
            else:
                status, detail = "error", text.replace(str(path), "<case>")[:300]
        except BaseException as e:  # noqa: BLE001 - anything else is exactly what the fuzzer looks for
            frames = traceback.extract_tb(e.__traceback__)[-4:]
            where = " <- ".join(f"{Path(f.filename).name}:{f.lineno}" for f in reversed(frames))
            status, detail = "crash", f"{type(e).__name__}: {str(e)[:300]} at {where}"
        n += 1
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stdout.write(json.dumps({"status": status, "detail": detail, "rss_kb": rss}) + "\n")
        stdout.flush()


if __name__ == "__main__":
    main()
