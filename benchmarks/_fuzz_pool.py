"""A pool of fuzz worker subprocesses with a per-case watchdog (see _fuzz_worker.py for the protocol).

Each worker runs under RLIMIT_AS and handles one case at a time. The parent gives every case ``timeout_s``:
a worker that answers nothing by then is killed, the case recorded as a hang, and a fresh worker started; a
worker that dies (signal, exit) records a crash. Peak RSS is the largest ``ru_maxrss`` any worker reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

WORKER = Path(__file__).resolve().with_name("_fuzz_worker.py")
REPO = WORKER.parents[1]


@dataclass
class Failure:
    kind: str  # "crash" or "hang"
    ext: str
    payload: bytes
    detail: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()[:12]


@dataclass
class Outcome:
    cases: int = 0
    ok: int = 0
    errors: int = 0
    crashes: list[Failure] = field(default_factory=list)
    hangs: list[Failure] = field(default_factory=list)
    peak_rss_kb: int = 0
    seconds: float = 0.0
    error_kinds: dict[str, int] = field(default_factory=dict)


class _Worker:
    def __init__(self, rlimit_mb: int):
        env = {**os.environ, "EDGEFIT_FUZZ_RLIMIT_MB": str(rlimit_mb), "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, cwd=REPO)
        self.buf = b""
        self.case: tuple[str, bytes] | None = None
        self.deadline = 0.0

    def send(self, ext: str, payload: bytes, timeout_s: float) -> None:
        self.case = (ext, payload)
        raw = ext.encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(struct.pack("<II", len(raw), len(payload)) + raw + payload)
        self.proc.stdin.flush()
        self.deadline = time.monotonic() + timeout_s

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


def run_cases(cases, *, workers: int = 2, timeout_s: float = 10.0, rlimit_mb: int = 3072,
              start_timeout_s: float = 120.0) -> Outcome:
    """Run every ``(ext, payload)`` of the iterable ``cases``; returns the tally."""
    out = Outcome()
    t0 = time.monotonic()
    it = iter(cases)
    pool = [_Worker(rlimit_mb) for _ in range(max(1, workers))]
    idle = list(pool)
    busy: dict[int, _Worker] = {}
    exhausted = False
    first_answer = {id(w): True for w in pool}

    def restart(w: _Worker) -> None:
        w.kill()
        pool.remove(w)
        fresh = _Worker(rlimit_mb)
        pool.append(fresh)
        first_answer[id(fresh)] = True
        idle.append(fresh)

    try:
        while True:
            while idle and not exhausted:
                try:
                    ext, payload = next(it)
                except StopIteration:
                    exhausted = True
                    break
                w = idle.pop()
                # a fresh worker's first case also pays for its imports
                w.send(ext, payload, start_timeout_s if first_answer[id(w)] else timeout_s)
                busy[w.proc.stdout.fileno()] = w  # type: ignore[union-attr]
            if not busy:
                break
            wait = max(0.0, min(w.deadline for w in busy.values()) - time.monotonic())
            ready, _, _ = select.select(list(busy), [], [], wait)
            now = time.monotonic()
            for fd in ready:
                w = busy[fd]
                chunk = os.read(fd, 65536)
                if not chunk:  # the worker died mid-case
                    del busy[fd]
                    ext, payload = w.case  # type: ignore[misc]
                    code = w.proc.wait()
                    out.cases += 1
                    out.crashes.append(Failure("crash", ext, payload, f"worker died (exit status {code})"))
                    restart(w)
                    continue
                w.buf += chunk
                if b"\n" not in w.buf:
                    continue
                line, w.buf = w.buf.split(b"\n", 1)
                del busy[fd]
                first_answer[id(w)] = False
                result = json.loads(line)
                out.cases += 1
                out.peak_rss_kb = max(out.peak_rss_kb, result["rss_kb"])
                if result["status"] == "ok":
                    out.ok += 1
                elif result["status"] == "error":
                    out.errors += 1
                    kind = result["detail"].split(":", 2)[-1].strip()[:40]
                    out.error_kinds[kind] = out.error_kinds.get(kind, 0) + 1
                else:
                    ext, payload = w.case  # type: ignore[misc]
                    out.crashes.append(Failure("crash", ext, payload, result["detail"]))
                idle.append(w)
            for fd, w in list(busy.items()):
                if fd not in ready and now >= w.deadline:
                    del busy[fd]
                    ext, payload = w.case  # type: ignore[misc]
                    out.cases += 1
                    out.hangs.append(Failure("hang", ext, payload, f"no answer within {timeout_s:g} s"))
                    restart(w)
    finally:
        for w in pool:
            if w.proc.poll() is None:
                w.proc.stdin.close()  # type: ignore[union-attr]
        for w in pool:
            try:
                w.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                w.kill()
    out.seconds = time.monotonic() - t0
    return out
