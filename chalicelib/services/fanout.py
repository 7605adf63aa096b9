"""Delivering one message to many connections: in parallel through a bounded pool and the one shared
management client. A 410 takes that dead connection out of its workspace (connection_store.gone); any other
failure is logged and does not stop delivery to the others.

The pool's threads live as long as the process (a warm Lambda instance keeps them between invocations):
starting 16 threads for every message cost more than a few of its posts. A delivery made from inside a
delivery (a departure announced because a post found a connection gone) runs in the calling thread, so the
shared pool never waits on itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.envelopes import server_message
from chalicelib.domain.ops import Op
from chalicelib.observability import add_count, logger
from chalicelib.port_types import ConnectionGone

if TYPE_CHECKING:
    from chalicelib.ports import ConnectionNotifier, ConnectionStore

_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()
_delivering = threading.local()


def _mark_delivery_thread() -> None:
    _delivering.active = True


def _shared_pool(size: int) -> ThreadPoolExecutor:
    with _pools_lock:
        pool = _pools.get(size)
        if pool is None:
            pool = _pools[size] = ThreadPoolExecutor(max_workers=size, thread_name_prefix="fanout",
                                                     initializer=_mark_delivery_thread)
        return pool


@dataclass(frozen=True)
class Delivery:
    """What became of one fan-out: delivered, gone, failed and queued connections."""
    delivered: int
    gone: int
    failed: int
    queued: int = 0


class Overflow(Protocol):
    def queue(self, connection_ids: list[str], data: bytes) -> None: ...


class Fanout:
    def __init__(self, notifier: ConnectionNotifier, connections: ConnectionStore, pool_size: int = 16,
                 overflow: Overflow | None = None, inline_max: int = 250) -> None:
        self._notifier = notifier
        self._connections = connections
        self._pool_size = pool_size
        # Past `inline_max` connections the rest go to the overflow (fanout_overflow.py), so one invocation's
        # work stays bounded however large the workspace.
        self._overflow = overflow
        self._inline_max = inline_max
        # Told about each connection found dead and taken out of its workspace (presence announces departures).
        self.on_gone: Callable[[dict[str, Any]], None] | None = None

    def send(self, connection_ids: list[str], data: bytes) -> Delivery:
        if not connection_ids:
            return Delivery(0, 0, 0)
        add_count("FanoutSize", len(connection_ids))
        queued = 0
        if self._overflow is not None and len(connection_ids) > self._inline_max:
            rest = connection_ids[self._inline_max:]
            self._overflow.queue(rest, data)
            connection_ids, queued = connection_ids[:self._inline_max], len(rest)

        def one(connection_id: str) -> str:
            try:
                self._notifier.send(connection_id, data)
            except ConnectionGone:
                row = self._connections.gone(connection_id)  # out of its workspace, unless still connecting
                if row is not None and self.on_gone is not None:
                    self.on_gone({**row, "connection_id": connection_id})
                return "gone"
            except Exception as exc:  # one bad connection must not cost the others their message
                logger.warning("fan-out send failed", extra={"connection_id": connection_id, "error": repr(exc)})
                return "failed"
            return "delivered"

        if getattr(_delivering, "active", False) or len(connection_ids) == 1:
            outcomes = [one(connection_id) for connection_id in connection_ids]
        else:
            outcomes = list(_shared_pool(self._pool_size).map(one, connection_ids))
        return Delivery(outcomes.count("delivered"), outcomes.count("gone"), outcomes.count("failed"), queued)


class OpPublisher:
    """An op, once stored, to every connection in its workspace (but the one it came from, which gets an ack)."""

    def __init__(self, fanout: Fanout, connections: ConnectionStore) -> None:
        self._fanout = fanout
        self._connections = connections

    def __call__(self, workspace_id: str, op: Op, exclude: str | None = None,
                 report: dict[str, Any] | None = None) -> Delivery:
        """`report`: a document's change of status, sent with the op that logs it (`subject`, `progress`,
        `final`, as a `progress` message has them) rather than as a message of its own."""
        return self.to(self._connections.in_workspace(workspace_id), workspace_id, op, exclude, report)

    def to(self, connections: list[str], workspace_id: str, op: Op, exclude: str | None = None,
           report: dict[str, Any] | None = None) -> Delivery:
        recipients = [c for c in connections if c != exclude]
        return self._fanout.send(recipients, server_message("op", workspace=workspace_id, op=op.to_dict(),
                                                            **(report or {})))
