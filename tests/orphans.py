"""What keeps a test's processes from outliving the test run when the run itself is stopped from outside.

Fixtures stop what they start whatever a test's outcome, and tests/conftest.py kills any marked process still
running when the session ends. Neither runs when pytest is killed: a CI runner's SIGTERM at its time limit left a
whole local stack (emulator, gateway, workers, function instances) running. So a SIGTERM is taken as a Ctrl-C
(pytest then tears its fixtures down and ends the session as usual), and the processes the tests start are told
by the kernel when pytest's process goes (PR_SET_PDEATHSIG: even after a SIGKILL, which nothing can catch)."""

from __future__ import annotations

import ctypes
import signal
import sys
from types import FrameType

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# Loaded here, in pytest's process: between fork and exec the child only makes the one call.
LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def stop_like_ctrl_c(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def take_sigterm_as_ctrl_c() -> None:
    signal.signal(signal.SIGTERM, stop_like_ctrl_c)


def signalled_when_parent_goes(signum: int = signal.SIGINT) -> None:
    """A Popen `preexec_fn`: the child gets `signum` (SIGINT: the local stack stops its own children on it) when
    the thread that started it exits, which for fixtures is pytest's main thread, so pytest's process. A no-op
    where there is no prctl (not Linux)."""
    if LIBC is not None:
        LIBC.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
