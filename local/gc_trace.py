"""Optional: every local process logs its garbage collections longer than 2 ms, one JSON line each, to the
file named by KALEXO_GC_TRACE (`bench.router_load --gc-trace` sets it and reads the lines back). This is how
the router's latency tail was traced to full collections (docs/benchmarks.md). Local tooling only."""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from typing import Any

THRESHOLD_MS = 2.0


def install_from_env() -> None:
    path = os.environ.get("KALEXO_GC_TRACE")
    if not path:
        return
    argv = sys.orig_argv  # `python -m local worker ...`: sys.argv is not final yet while `local` is imported
    process = " ".join(argv[argv.index("-m") + 1:][:2] if "-m" in argv else argv[1:3])
    started = [0.0]

    def on_collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        pause_ms = (time.perf_counter() - started[0]) * 1000
        if pause_ms > THRESHOLD_MS:
            line = json.dumps({"pid": os.getpid(), "process": process, "generation": info["generation"],
                               "ms": round(pause_ms, 1), "at": time.time()})
            try:
                with open(path, "a") as out:  # one short append per line: safe across processes
                    out.write(line + "\n")
            except OSError:
                pass  # the trace's directory is gone (the benchmark is over): nothing to record into

    gc.callbacks.append(on_collection)
