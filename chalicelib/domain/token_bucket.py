"""Per-connection message budgets: a token bucket per connection, refilled continuously.

Kept in the function's memory: API Gateway may route one connection's messages to several warm instances,
so the limit holds per instance (a client can exceed it at most by the number of instances serving it).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class TokenBuckets:
    def __init__(self, rate_per_s: float, burst: int, max_tracked: int = 10_000) -> None:
        self._rate = rate_per_s
        self._burst = burst
        self._max = max_tracked
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, last refill)
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when the message may go ahead; otherwise the seconds until one token is back."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - last) * self._rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self._rate
            self._buckets[key] = (tokens - 1 if tokens >= 1 else tokens, now)
            while len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
            return wait
