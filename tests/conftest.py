"""Every process a test starts (local stacks, their children, memcached, browsers) carries this session's
mark in its environment; when the session ends, any still running is a leak: it is killed, named, and the
session fails. Fixtures stop what they start whatever the outcome; this is the check that they did."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from tests.orphans import take_sigterm_as_ctrl_c

MARK = "PYTEST_SESSION_MARK"
os.environ.setdefault(MARK, uuid.uuid4().hex)  # inherited by every child, and theirs


def pytest_configure(config: pytest.Config) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        take_sigterm_as_ctrl_c()  # a runner's SIGTERM tears fixtures down as a Ctrl-C does (tests/orphans.py)


def _marked() -> dict[int, str]:
    needle = f"{MARK}={os.environ[MARK]}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:160]
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("PYTEST_XDIST_WORKER") or not Path("/proc").exists():
        return
    deadline = time.monotonic() + 30  # children stopped by a finaliser may still be exiting
    while (left := _marked()) and time.monotonic() < deadline:
        time.sleep(0.5)
    if not left:
        return
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"processes left running by the tests (killed now): {left}", red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
