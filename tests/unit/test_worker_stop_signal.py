"""A worker stops on a signal whichever of its threads the kernel hands it to. Python runs signal handlers in
the main thread only, when it next runs Python code; a worker's main thread waiting for ever on its stop
event never did when the signal landed on a poller thread, so the worker ignored Ctrl-C (the supervisor
killed it after 20 s) or outlived a supervisor killed with -9 (seen in `make test` and by an outside tester)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import signal, sys, threading, time
from local.children import _stop_on_signals, wait_for_stop

stop = _stop_on_signals()

def poller():
    time.sleep(0.5)  # the main thread is in its wait by now
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)  # to this thread, not the main one
    while True:
        time.sleep(0.05)

threading.Thread(target=poller, daemon=True).start()
wait_for_stop(stop)
print("stopped", flush=True)
"""
WAITING_FOR_EVER = WORKER.replace("wait_for_stop(stop)", "stop.wait()")


def _run(script: str, ceiling: float = 30) -> subprocess.CompletedProcess[str] | None:
    try:  # a ceiling for a hang, generous for a busy machine: not a measure of speed
        return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
                              timeout=ceiling)
    except subprocess.TimeoutExpired:
        return None


def test_a_stop_signal_delivered_to_another_thread_stops_the_worker() -> None:
    done = _run(WORKER)
    assert done is not None and done.returncode == 0 and done.stdout == "stopped\n", done


def test_the_wait_it_replaces_misses_that_signal() -> None:
    """The fault itself, so the test above is known to test something: an untimed wait never returns."""
    assert _run(WAITING_FOR_EVER, ceiling=5) is None  # it never returns: any ceiling shows it
