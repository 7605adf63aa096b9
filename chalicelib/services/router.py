"""The message router: one command table from client `action` to handler; every reply goes out through the
ConnectionNotifier port, so the same code answers locally and on API Gateway.

The workspace actions (join, presence, chat, ops) register here as the router grows.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.domain.envelopes import (
    ClientMessage,
    ProtocolError,
    error_message,
    parse_client_message,
    server_message,
)
from chalicelib.domain.errors import ApiError
from chalicelib.domain.sync import OpError
from chalicelib.domain.token_bucket import TokenBuckets
from chalicelib.observability import metrics
from chalicelib.ports import ConnectionGone, ConnectionNotifier, ConnectionStore
from chalicelib.services.access import Actor
from chalicelib.services.sync import WorkspaceSync

OP_KINDS = ("chat", "item.create", "item.update", "item.delete")

Handler = Callable[[str, ClientMessage], bytes | None]


class MessageRouter:
    def __init__(self, notifier: ConnectionNotifier, connections: ConnectionStore,
                 actor_of: Callable[[str], Actor | None], sync: WorkspaceSync | None = None,
                 budgets: TokenBuckets | None = None) -> None:
        self._budgets = budgets
        self._notifier = notifier
        self._connections = connections
        self._actor_of = actor_of  # who is on a connection, as of now (a deleted user is None)
        self._sync = sync
        self._commands: dict[str, Handler] = {
            "ping": self._ping,
            "events.subscribe": self._subscribe_events,
            "events.unsubscribe": self._unsubscribe_events,
        }
        if sync is not None:
            self._commands.update({"join": self._join, "leave": self._leave, "history": self._history,
                                   "presence": self._presence, **{kind: self._submit for kind in OP_KINDS}})

    def handle(self, connection_id: str, raw: str | bytes | None) -> None:
        message: ClientMessage | None = None
        try:
            message = parse_client_message(raw)
            wait = self._budgets.take(connection_id) if self._budgets is not None else 0.0
            if wait:
                raise ProtocolError("rate_limited", f"too many messages; retry in {int(wait * 1000) + 1} ms",
                                    message.request_id)
            command = self._commands.get(message.action)
            if command is None:
                raise ProtocolError("unknown_action", f"unknown action {message.action!r}", message.request_id)
            reply = command(connection_id, message)
        except ProtocolError as error:
            reply = error_message(error)
        except (ApiError, OpError) as error:  # refusals of the services, answered in the protocol's shape
            request_id = message.request_id if message else None
            reply = error_message(ProtocolError(error.code, str(error), request_id))
        if reply is None:
            return
        try:
            self._notifier.send(connection_id, reply)
        except ConnectionGone:
            # The sender left before its answer (410): its row is dead, whatever $disconnect did.
            self._connections.delete(connection_id)

    def _ping(self, connection_id: str, message: ClientMessage) -> bytes:
        """Also the heartbeat: with a workspace it keeps this connection present there, and tells the
        client the latest sequence, so a gap is noticed even when no op arrives."""
        now = int(time.time() * 1000)
        workspace = message.payload.get("workspace")
        if self._sync is None or not isinstance(workspace, str) or not workspace:
            return server_message("pong", message.request_id, server_time=now)
        actor = self._actor(connection_id, message)
        self._sync.presence.heartbeat(connection_id, actor, workspace)
        return server_message("pong", message.request_id, server_time=now, workspace=workspace,
                              latest_seq=self._sync.latest(workspace))

    def _presence(self, connection_id: str, message: ClientMessage) -> bytes | None:
        assert self._sync is not None
        self._sync.presence.update(connection_id, self._actor(connection_id, message), self._workspace(message),
                                   message.payload)
        return None  # presence is fire-and-forget: no answer doubles its traffic; errors are still answered

    def _actor(self, connection_id: str, message: ClientMessage) -> Actor:
        actor = self._actor_of(connection_id)
        if actor is None:
            raise ProtocolError("not_authenticated", "this connection's user no longer exists", message.request_id)
        return actor

    def _subscribe_events(self, connection_id: str, message: ClientMessage) -> bytes:
        """Follow the event log live: platform admins every account (or one), account admins their own."""
        actor = self._actor(connection_id, message)
        account = message.payload.get("account_id")
        if account is not None and not isinstance(account, str):
            raise ProtocolError("bad_envelope", "`account_id` must be a string", message.request_id)
        if actor.is_platform_admin:
            scope = account or "*"
        elif actor.administers(actor.account_id) and account in (None, actor.account_id):
            scope = actor.account_id
        else:
            raise ProtocolError("forbidden", "account administrators only, for their own account",
                                message.request_id)
        self._connections.subscribe_events(connection_id, scope)
        return server_message("events.subscribed", message.request_id, scope=scope)

    def _unsubscribe_events(self, connection_id: str, message: ClientMessage) -> bytes:
        self._connections.unsubscribe_events(connection_id)
        return server_message("events.unsubscribed", message.request_id)

    # -- workspace sync -----------------------------------------------------------------------------------
    def _workspace(self, message: ClientMessage) -> str:
        workspace = message.payload.get("workspace")
        if not isinstance(workspace, str) or not workspace:
            raise ProtocolError("bad_envelope", "`workspace` (a workspace id) is required", message.request_id)
        return workspace

    def _sequence(self, message: ClientMessage, name: str, default: int | None) -> int | None:
        value = message.payload.get(name, default)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ProtocolError("bad_envelope", f"`{name}` must be a sequence number (an integer >= 0)",
                                message.request_id)
        return value

    def _join(self, connection_id: str, message: ClientMessage) -> bytes:
        assert self._sync is not None
        actor = self._actor(connection_id, message)
        welcome = self._sync.join(connection_id, actor, self._workspace(message),
                                  self._sequence(message, "since", None))
        return server_message("welcome", message.request_id, **welcome)

    def _leave(self, connection_id: str, message: ClientMessage) -> bytes:
        assert self._sync is not None
        self._sync.leave(connection_id, self._actor(connection_id, message), self._workspace(message))
        return server_message("left", message.request_id)

    def _submit(self, connection_id: str, message: ClientMessage) -> bytes:
        assert self._sync is not None
        actor = self._actor(connection_id, message)
        workspace = self._workspace(message)
        op = self._sync.submit(connection_id, actor, workspace, message.action, message.payload)
        metrics.add_metric(name="MessagesRouted", unit=MetricUnit.Count, value=1)
        return server_message("ack", message.request_id, workspace=workspace, seq=op.seq, op=op.to_dict())

    def _history(self, connection_id: str, message: ClientMessage) -> bytes:
        assert self._sync is not None
        page = self._sync.history(self._actor(connection_id, message), self._workspace(message),
                                  self._sequence(message, "after", 0) or 0,
                                  self._sequence(message, "limit", 100) or 100)
        return server_message("history", message.request_id, **page)
