"""Failed logins, REST and websocket alike: counted per source address and minute against one budget
(KALEXO_AUTH_FAILURES_PER_MINUTE), refused past it with 429 and nothing recorded, and recorded collapsed.

Collapsed: an address's failures of one kind (the error code: `invalid_token`, `user_unknown`, ...) in a window
are recorded as `auth.failed` events at the 1st, 2nd, 4th, 8th, ... of them, and at the last failure the budget
allows, each carrying the counts so far (`detail.count` of that kind, `detail.address_count` of all kinds) and
the window (`detail.window_start`). A flood of bad tokens from one address costs the event log, and the
administrators following it live, about a dozen events a minute, never one per attempt, while the first
failure of each kind (a deleted user's token among forged ones) is always there.

Refused workspaces (`ws.refused`: a valid token connecting to a workspace its user may not join) are recorded
collapsed the same way, per address, user and error code, in the same counter under keys of their own. They
are not failed logins: they neither spend the address's budget nor are ever answered 429 (the user is known,
and a member's retries must not lock their colleagues behind the same address out). Past the budget they are
still refused, just no longer recorded until the next window.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import ApiError
from chalicelib.domain.events import Event

if TYPE_CHECKING:
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
            self._record(error, source_ip, via, detail)
            return Refusal(error.status, error.code, error.message)
        # The address's failures and this kind's are counted in one write: one snapshot of both, so with one
        # kind of failure they are equal however many arrive at once.
        counted = self._counter.hit(f"ip:{source_ip}", kind=error.code)
        if counted.retry_after is not None:
            return Refusal(429, "too_many_requests", f"too many failed attempts; retry in {counted.retry_after} s",
                           counted.retry_after)
        if _power_of_two(counted.of_kind) or counted.count == self._counter.limit:
            self._record(error, source_ip, via, {**detail, "count": counted.of_kind, "address_count": counted.count,
                                                 "window_start": _iso(counted.window_start)})
        return Refusal(error.status, error.code, error.message)

    def workspace_refused(self, error: ApiError, user_id: str, workspace_id: str, source_ip: str, via: str,
                          account_id: str = "") -> None:
        """Record (collapsed) that `user_id`, authenticated, was refused `workspace_id`; the caller still raises
        `error` whatever this records. In the user's account (`account_id`), so its admins see their users'
        refusals; `workspace_id` is only what the user asked for (another tenant's id is not confirmed)."""
        detail: dict[str, Any] = {"code": error.code, "source_ip": source_ip, "via": via}
        if self._counter is not None:
            seen = self._counter.hit(f"refused:{source_ip}#{user_id}#{error.code}")
            if seen.retry_after is not None:
                return  # past the budget: this window's last event already said how many
            if not (_power_of_two(seen.count) or seen.count == self._counter.limit):
                return
            detail |= {"count": seen.count, "window_start": _iso(seen.window_start)}
        self._events.record(Event("ws.refused", account_id, workspace_id=workspace_id, user_id=user_id,
                                  actor_id=user_id, detail=detail))

    def _record(self, error: ApiError, source_ip: str, via: str, detail: dict[str, Any]) -> None:
        self._events.record(Event("auth.failed", detail={"code": error.code, "source_ip": source_ip, "via": via,
                                                         **detail}))


def _power_of_two(count: int) -> bool:
    return count > 0 and count & (count - 1) == 0


def _iso(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))
