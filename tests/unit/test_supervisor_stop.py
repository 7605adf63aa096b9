"""A child of the local stack that does not stop when asked: before it is killed, every thread's stack is
printed (SIGUSR1 to faulthandler, as local/__main__.py registers it for the gateway and the workers), so a rare
hang says where it was instead of only costing the developer the grace period."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from local import supervisor

STUCK = """
import faulthandler, signal, sys, threading, time
faulthandler.register(signal.SIGUSR1, all_threads=True)
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # asked to stop, it does not

def wedged_in_a_poller():
    time.sleep(600)

threading.Thread(target=wedged_in_a_poller, name="poller").start()
print("up", flush=True)
time.sleep(600)
"""


def test_a_child_that_does_not_stop_shows_its_threads_then_is_killed(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "STOP_GRACE_S", 1.0)
    said = tmp_path / "child.log"
    with said.open("wb") as output:
        child = subprocess.Popen([sys.executable, "-c", STUCK], stdout=output, stderr=output)
    try:
        for _ in range(600):  # up to 60 s for the interpreter to start on a busy machine
            if b"up" in said.read_bytes():
                break
            time.sleep(0.1)
        supervisor.Supervisor._stop_all({"worker-9": child})
        assert child.returncode == -9  # killed, after the grace
        stacks = said.read_text()
        assert "wedged_in_a_poller" in stacks and "Thread 0x" in stacks, stacks
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
