"""The message router: one command table from client `action` to handler; every reply goes out through the
ConnectionNotifier port, so the same code answers locally and on API Gateway.

The workspace actions (join, presence, chat, ops) register here as the router grows.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from chalicelib.domain.envelopes import (
    ClientMessage,
    ProtocolError,
    error_message,
    parse_client_message,
    server_message,
)
from chalicelib.ports import ConnectionGone, ConnectionNotifier

Handler = Callable[[str, ClientMessage], bytes]


class MessageRouter:
    def __init__(self, notifier: ConnectionNotifier) -> None:
        self._notifier = notifier
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
        # A sender that left before its answer has nothing to deliver to.
        with contextlib.suppress(ConnectionGone):
            self._notifier.send(connection_id, reply)

    def _ping(self, connection_id: str, message: ClientMessage) -> bytes:
        return server_message("pong", message.request_id, server_time=int(time.time() * 1000))
