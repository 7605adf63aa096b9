"""The message router: one command table from client `action` to handler; every reply goes out through the
ConnectionNotifier port, so the same code answers locally and on API Gateway.

The workspace actions (join, presence, chat, ops) register here as the router grows.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib.domain.envelopes import (
    ClientMessage,
    ProtocolError,
    error_message,
    parse_client_message,
    server_message,
)
from chalicelib.ports import ConnectionGone, ConnectionNotifier, ConnectionStore

Handler = Callable[[str, ClientMessage], bytes]


class MessageRouter:
    def __init__(self, notifier: ConnectionNotifier, connections: ConnectionStore) -> None:
        self._notifier = notifier
        self._connections = connections
        self._commands: dict[str, Handler] = {"ping": self._ping}

    def handle(self, connection_id: str, raw: str | bytes | None) -> None:
        try:
            message = parse_client_message(raw)
            command = self._commands.get(message.action)
            if command is None:
                raise ProtocolError("unknown_action", f"unknown action {message.action!r}", message.request_id)
            reply = command(connection_id, message)
        except ProtocolError as error:
            reply = error_message(error)
        try:
            self._notifier.send(connection_id, reply)
        except ConnectionGone:
            # The sender left before its answer (410): its row is dead, whatever $disconnect did.
            self._connections.delete(connection_id)

    def _ping(self, connection_id: str, message: ClientMessage) -> bytes:
        return server_message("pong", message.request_id, server_time=int(time.time() * 1000))
