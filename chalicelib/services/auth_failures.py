"""Failed logins, REST and websocket alike: counted per source address and minute against one budget
(KALEXO_AUTH_FAILURES_PER_MINUTE), refused past it with 429 and nothing recorded, and recorded collapsed.

Collapsed: an address's failures in a window are recorded as `auth.failed` events at its 1st, 2nd, 4th, 8th, ...
failure and at the last one the budget allows, each carrying the count so far (`detail.count`) and the window
(`detail.window_start`). A flood of bad tokens from one address costs the event log, and the administrators
following it live, about a dozen events a minute, never one per attempt; the highest count of a window says
how many failed within the budget.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.errors import ApiError
from chalicelib.domain.events import Event
from chalicelib.ports import EventSink, WindowCounter


@dataclass(frozen=True)
class Refusal:
    """What to answer a failed login: its own error, or 429 once the address is past its budget."""

    status: int
    code: str
    message: str
    retry_after: int | None = None


class AuthFailures:
    def __init__(self, counter: WindowCounter | None, events: EventSink) -> None:
        self._counter = counter  # None: no budget (KALEXO_AUTH_FAILURES_PER_MINUTE=0); every failure recorded
        self._events = events

    def refuse(self, error: ApiError, source_ip: str, via: str, **detail: Any) -> Refusal:
        """Count one failed authentication from `source_ip` (an `ApiError` with status 401) and say what to
        answer."""
        if self._counter is None:
            self._record(error, source_ip, via, detail, count=None, window_start=None)
            return Refusal(error.status, error.code, error.message)
        counted = self._counter.hit(f"ip:{source_ip}")
        if counted.retry_after is not None:
            return Refusal(429, "too_many_requests", f"too many failed attempts; retry in {counted.retry_after} s",
                           counted.retry_after)
        if _worth_recording(counted.count, self._counter.limit):
            self._record(error, source_ip, via, detail, counted.count, counted.window_start)
        return Refusal(error.status, error.code, error.message)

    def _record(self, error: ApiError, source_ip: str, via: str, detail: dict[str, Any], count: int | None,
                window_start: int | None) -> None:
        collapsed: dict[str, Any] = {}
        if count is not None and window_start is not None:
            collapsed = {"count": count, "window_start": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                       time.gmtime(window_start))}
        self._events.record(Event("auth.failed", detail={"code": error.code, "source_ip": source_ip, "via": via,
                                                         **detail, **collapsed}))


def _worth_recording(count: int, limit: int) -> bool:
    """The 1st, 2nd, 4th, 8th, ... failure of a window, and the last the budget allows."""
    return count & (count - 1) == 0 or count == limit
