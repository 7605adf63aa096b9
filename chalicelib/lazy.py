"""A stand-in that creates the object it stands for on first use.

Cold start is paid by whoever waits for a function's first answer, so what only some invocations need is built
when one of them needs it: boto3 clients (each loads its service model, chalicelib/aws.py), Powertools' logger
and metrics (chalicelib/observability.py), and services that bring many modules with them
(chalicelib/composition).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# One lock for every stand-in, not one each: creating one mostly means importing a library, and two threads
# importing parts of one package at once (the logger's and the metrics' Powertools modules, say; the local
# runtime runs several invocations in one process, and a function's fan-out runs in a pool) can meet its
# circular imports half done: Python then hands one of them a partially initialised module ("cannot import
# name ..."). Reentrant, since creating one may use another.
_CREATING = threading.RLock()


class Deferred:
    """Forwards every attribute to `create()`'s result, created once on the first access (thread-safe: one
    creation at a time, process-wide)."""

    def __init__(self, create: Callable[[], Any]) -> None:
        self._create = create
        self.created: Any = None

    def real(self) -> Any:
        if self.created is None:
            with _CREATING:
                if self.created is None:
                    self.created = self._create()
        return self.created

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)
