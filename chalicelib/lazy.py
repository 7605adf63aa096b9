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


class Deferred:
    """Forwards every attribute to `create()`'s result, created once on the first access (thread-safe)."""

    def __init__(self, create: Callable[[], Any]) -> None:
        self._create = create
        self._lock = threading.Lock()
        self.created: Any = None

    def real(self) -> Any:
        if self.created is None:
            with self._lock:
                if self.created is None:
                    self.created = self._create()
        return self.created

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)
