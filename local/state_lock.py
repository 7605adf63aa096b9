"""One local stack per state directory.

A second `make run` on the same `.local/` (other ports, so no port clash stopped it) restored the same files
and, when it stopped, wrote its own view of the emulator's data over them: ops and events the first stack had
acknowledged since were gone after the next restart. So the supervisor holds an exclusive `flock` on
`<state>/lock` for as long as it runs, and `reset` and a second `run` ask for it first. The kernel drops the
lock when its holder dies, however it dies, so a stack killed outright never leaves it behind (unlike a pid
file, which only says who held it last)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class StateInUse(RuntimeError):
    def __init__(self, state: Path, pid: str) -> None:
        super().__init__(f"another local stack is using {state} (pid {pid or '?'}): stop it first (Ctrl-C), or "
                         "give this one its own --state-dir")


def hold(state: Path) -> IO[str]:
    """The state directory's lock, held until the returned file is closed or this process ends; StateInUse
    when another process holds it."""
    state.mkdir(parents=True, exist_ok=True)
    lock = open(state / "lock", "a+")  # held open for the process's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip()
        lock.close()
        raise StateInUse(state, holder) from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    os.set_inheritable(lock.fileno(), False)  # the children must not keep it after the supervisor is gone
    return lock


def check_free(state: Path) -> None:
    """StateInUse when a stack holds the directory; otherwise nothing (the lock is not kept)."""
    if (state / "lock").exists():
        hold(state).close()
