"""Ops sent or to send, not yet answered, in the order they were made, each with its op_id and a future; and
which of them goes out next (the client's one sending task asks `next_due`).

Sending is paced because the server's rate limit is per connection and answers every message past it with
`rate_limited`: ops that each waited their own `retry_after_ms` and then all went out at once were refused
again together (150 ops in one gather sent 1,244 messages, 1,094 refused). So a `rate_limited` answer pauses
the whole outbox until its delay has passed, and from then until the outbox is empty ops go out one per
delay (twice as slow at each further refusal); and at most `max_in_flight` ops are unanswered on a
connection at once, so a burst is not all sent before the first refusal can arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kalexo_client.models import Op


@dataclass(slots=True)
class Entry:
    op_id: str
    message: dict[str, Any]  # as sent: action, workspace, the op's fields, op_id, and id = op_id
    future: asyncio.Future[Op]
    sent_on: int | None = None  # which connection it was last sent on (None: not sent on the current one)
    retries: int = 0
    not_before: float = 0.0  # the loop time before which it is not sent again (a `busy` answer's backoff)

    @property
    def action(self) -> str:
        return str(self.message["action"])


def _retrieved(future: asyncio.Future[Op]) -> None:
    """A refusal is also an OpRejected event: nobody need await the future for it to count as seen."""
    if not future.cancelled():
        future.exception()


PACE_CAP = 1.0  # seconds: the slowest pace a rate limit sets (a long retry_after_ms only pauses)


@dataclass
class Outbox:
    _entries: dict[str, Entry] = field(default_factory=dict)  # insertion order is the order they were made
    max_in_flight: int = 8
    paused_until: float = 0.0  # loop time: nothing is sent before it (a rate_limited answer)
    pace: float = 0.0  # seconds between sends since a rate_limited answer, until the outbox is empty

    def rate_limited(self, entry: Entry, now: float, delay: float) -> None:
        """Refused for the connection's rate: it goes again, in its place, once the pause is over."""
        entry.sent_on = None
        if now >= self.paused_until and self.pace:
            # Refused again while already paced: the pace is faster than the server's rate (a delay only says
            # when the next token comes, which may be a fraction of the interval), so slow down.
            self.pace = min(PACE_CAP, max(delay, self.pace * 2))
        else:  # the first refusal, or one more of the messages that were in flight together
            self.pace = min(PACE_CAP, max(self.pace, delay))
        self.paused_until = max(self.paused_until, now + delay)

    def next_due(self, connection: int, now: float) -> Entry | float | None:
        """The first op to send now on this connection; else the loop time to look again; else None (nothing
        to send until something changes)."""
        if not self._entries:
            self.pace = 0.0
            return None
        if now < self.paused_until:
            return self.paused_until
        in_flight, soonest = 0, None
        due: Entry | None = None
        for entry in self._entries.values():
            if entry.sent_on == connection:
                in_flight += 1
            elif entry.not_before > now:
                soonest = entry.not_before if soonest is None else min(soonest, entry.not_before)
            elif due is None:
                due = entry
        if due is not None and in_flight < self.max_in_flight:
            return due
        return soonest

    def add(self, message: dict[str, Any]) -> Entry:
        op_id = str(message["op_id"])
        if op_id in self._entries:
            raise ValueError(f"op_id {op_id!r} is already waiting for its answer")
        entry = Entry(op_id, message, asyncio.get_running_loop().create_future())
        entry.future.add_done_callback(_retrieved)
        self._entries[op_id] = entry
        return entry

    def get(self, op_id: object) -> Entry | None:
        return self._entries.get(op_id) if isinstance(op_id, str) else None

    def resolve(self, op_id: str, op: Op) -> Entry | None:
        entry = self._entries.pop(op_id, None)
        if entry is not None and not entry.future.done():
            entry.future.set_result(op)
        return entry

    def reject(self, op_id: str, error: BaseException) -> Entry | None:
        entry = self._entries.pop(op_id, None)
        if entry is not None and not entry.future.done():
            entry.future.set_exception(error)
        return entry

    def fail_all(self, error: BaseException) -> None:
        for op_id in list(self._entries):
            self.reject(op_id, error)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, op_id: object) -> bool:
        return isinstance(op_id, str) and op_id in self._entries
