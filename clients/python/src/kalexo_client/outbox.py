"""Ops sent or to send, not yet answered, in the order they were made, each with its op_id and a future."""

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

    @property
    def action(self) -> str:
        return str(self.message["action"])


def _retrieved(future: asyncio.Future[Op]) -> None:
    """A refusal is also an OpRejected event: nobody need await the future for it to count as seen."""
    if not future.cancelled():
        future.exception()


@dataclass
class Outbox:
    _entries: dict[str, Entry] = field(default_factory=dict)  # insertion order is the order they were made

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
