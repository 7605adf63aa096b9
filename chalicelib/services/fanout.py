"""Delivering one message to many connections: in parallel through a bounded pool and the one shared
management client. A 410 removes that dead connection's row; any other failure is logged and does not stop
delivery to the others."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalicelib.observability import logger
from chalicelib.ports import ConnectionGone, ConnectionNotifier, ConnectionStore


@dataclass(frozen=True)
class Delivery:
    delivered: int
    gone: int
    failed: int


class Fanout:
    def __init__(self, notifier: ConnectionNotifier, connections: ConnectionStore, pool_size: int = 16) -> None:
        self._notifier = notifier
        self._connections = connections
        self._pool_size = pool_size
        # Told about each connection found dead, after its row is removed (presence announces departures).
        self.on_gone: Callable[[dict[str, Any]], None] | None = None

    def send(self, connection_ids: list[str], data: bytes) -> Delivery:
        if not connection_ids:
            return Delivery(0, 0, 0)

        def one(connection_id: str) -> str:
            try:
                self._notifier.send(connection_id, data)
            except ConnectionGone:
                row = self._connections.get(connection_id)
                self._connections.delete(connection_id)
                if row is not None and self.on_gone is not None:
                    self.on_gone({**row, "connection_id": connection_id})
                return "gone"
            except Exception as exc:  # one bad connection must not cost the others their message
                logger.warning("fan-out send failed", extra={"connection_id": connection_id, "error": repr(exc)})
                return "failed"
            return "delivered"

        with ThreadPoolExecutor(max_workers=min(self._pool_size, len(connection_ids))) as pool:
            outcomes = list(pool.map(one, connection_ids))
        return Delivery(outcomes.count("delivered"), outcomes.count("gone"), outcomes.count("failed"))
