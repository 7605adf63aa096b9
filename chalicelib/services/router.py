"""The message router: one command table from client `action` to handler; every reply goes out through the
ConnectionNotifier port, so the same code answers locally and on API Gateway.

Every message gets an answer or, for presence, an answer only when refused: a failure nobody foresaw is
answered `internal_error` with the message's `id` (and logged), never with silence.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.domain.envelopes import (
    MAX_MESSAGE_BYTES,
    ClientMessage,
    ProtocolError,
    RequestId,
    error_message,
    parse_client_message,
    server_message,
)
from chalicelib.domain.errors import ApiError
from chalicelib.domain.ops import OP_KINDS, OpError, op_id_of, valid_id
from chalicelib.domain.token_bucket import TokenBuckets
from chalicelib.observability import add_count, logger
from chalicelib.port_types import ConnectionGone
from chalicelib.services.access import Actor
from chalicelib.services.sync import WorkspaceSync

if TYPE_CHECKING:
    from chalicelib.ports import ConnectionNotifier, ConnectionStore

Handler = Callable[[str, ClientMessage], bytes | None]


class RateLimited(ProtocolError):
    """Over the connection's message budget: answered with `retry_after_ms`, when the next message will pass."""

    def __init__(self, retry_after_ms: int, request_id: RequestId | None) -> None:
        super().__init__("rate_limited", f"too many messages; retry in {retry_after_ms} ms", request_id)
        self.retry_after_ms = retry_after_ms


class MessageRouter:
    def __init__(self, notifier: ConnectionNotifier, connections: ConnectionStore,
                 actor_of: Callable[[str], Actor | None], sync: WorkspaceSync | None = None,
                 budgets: TokenBuckets | None = None, account_exists: Callable[[str], bool] | None = None) -> None:
        self._budgets = budgets
        self._account_exists = account_exists
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
                                   "state": self._state, "presence": self._presence,
                                   "presence.list": self._presence_list, **{kind: self._submit for kind in OP_KINDS}})

    def handle(self, connection_id: str, raw: str | bytes | None) -> None:
        message: ClientMessage | None = None
        try:
            message = parse_client_message(raw)
            wait = self._budgets.take(connection_id) if self._budgets is not None else 0.0
            if wait:
                raise RateLimited(int(wait * 1000) + 1, message.request_id)
            command = self._commands.get(message.action)
            if command is None:
                raise ProtocolError("unknown_action", f"unknown action {message.action!r}", message.request_id)
            reply = command(connection_id, message)
        except RateLimited as error:  # the delay as a number too: clients should not parse it out of prose
            reply = server_message("error", error.request_id, error={
                "code": error.code, "message": error.message, "retry_after_ms": error.retry_after_ms})
        except ProtocolError as error:
            reply = error_message(error)
        except (ApiError, OpError) as error:  # refusals of the services, answered in the protocol's shape
            request_id = message.request_id if message else None
            reply = error_message(ProtocolError(error.code, str(error), request_id))
        except Exception:
            logger.exception("message failed", extra={"connection_id": connection_id,
                                                      "action": message.action if message else None})
            reply = error_message(ProtocolError("internal_error", "the message could not be handled; send it "
                                                "again (an op with the same op_id is applied once)",
                                                message.request_id if message else None))
        if reply is None:
            return
        if len(reply) > MAX_MESSAGE_BYTES:  # every reply is paged below this; never let one vanish at the gateway
            logger.error("reply over the message limit", extra={"bytes": len(reply), "action": message and
                                                                message.action})
            reply = error_message(ProtocolError("internal_error", "the answer was too large to send",
                                                message.request_id if message else None))
        try:
            self._notifier.send(connection_id, reply)
        except ConnectionGone:
            # The sender left before its answer (410): out of its workspace, whatever $disconnect did.
            self._connections.gone(connection_id)

    def _ping(self, connection_id: str, message: ClientMessage) -> bytes:
        """Also the heartbeat: with a workspace it keeps this connection in it (or puts it back after a sweep),
        and tells the client the latest sequence, so a gap is noticed even when no op arrives."""
        now = int(time.time() * 1000)
        workspace = message.payload.get("workspace")
        if self._sync is None or workspace is None:
            return server_message("pong", message.request_id, server_time=now)
        workspace = self._workspace(message)
        beat = self._sync.presence.heartbeat(connection_id, self._actor(connection_id, message), workspace)
        return server_message("pong", message.request_id, server_time=now, workspace=workspace,
                              latest_seq=self._sync.latest(workspace), rejoined=beat.rejoined, role=beat.role.value)

    def _presence(self, connection_id: str, message: ClientMessage) -> bytes | None:
        assert self._sync is not None
        self._sync.presence.update(connection_id, self._actor(connection_id, message), self._workspace(message),
                                   message.payload)
        return None  # presence is fire-and-forget: no answer doubles its traffic; errors are still answered

    def _presence_list(self, connection_id: str, message: ClientMessage) -> bytes:
        """The rest of who is present, after a welcome whose `presence_more` was true."""
        assert self._sync is not None
        workspace = self._workspace(message)
        self._sync.presence.heartbeat(connection_id, self._actor(connection_id, message), workspace)
        after = message.payload.get("after")
        if after is not None and not isinstance(after, str):
            raise ProtocolError("bad_envelope", "`after` must be a connection id", message.request_id)
        return server_message("presence.list", message.request_id, workspace=workspace,
                              **self._sync.presence_page(workspace, after))

    def _actor(self, connection_id: str, message: ClientMessage) -> Actor:
        actor = self._actor_of(connection_id)
        if actor is None:
            raise ProtocolError("not_authenticated", "this connection's user no longer exists", message.request_id)
        return actor

    def _subscribe_events(self, connection_id: str, message: ClientMessage) -> bytes:
        """Follow the event log live: platform admins every account (or one), account admins their own."""
        actor = self._actor(connection_id, message)
        # A filter it does not take (`type`, say) is refused, not ignored: the follower would wait for a filtered
        # stream and get every event of its scope.
        unknown = sorted(set(message.payload) - {"account_id"})
        if unknown:
            raise ProtocolError("bad_envelope", f"events.subscribe takes only `account_id`, not {', '.join(unknown)}"
                                f": every event of the scope is sent, so filter on receipt", message.request_id)
        account = message.payload.get("account_id")
        if account is not None and not (isinstance(account, str) and account):
            raise ProtocolError("bad_envelope", "`account_id` must be an account's id, or left out (your own "
                                "account; every account, for a platform admin)", message.request_id)
        if actor.is_platform_admin:
            scope = account or "*"
            if account and (len(account) > 64 or (self._account_exists and not self._account_exists(account))):
                raise ProtocolError("not_found", "no such account", message.request_id)  # as REST answers
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
        # `connection`: which of the presence entries is the joiner's own (its announcements are not echoed)
        return server_message("welcome", message.request_id, connection=connection_id, **welcome)

    def _leave(self, connection_id: str, message: ClientMessage) -> bytes:
        assert self._sync is not None
        self._sync.leave(connection_id, self._actor(connection_id, message), self._workspace(message))
        return server_message("left", message.request_id, workspace=self._workspace(message))

    def _submit(self, connection_id: str, message: ClientMessage) -> bytes:
        assert self._sync is not None
        actor = self._actor(connection_id, message)
        workspace = self._workspace(message)
        appended = self._sync.submit(connection_id, actor, workspace, message.action, message.payload,
                                     op_id_of(message.payload))
        add_count("MessagesRouted")
        if not appended.duplicate:
            self._connections.count_routed(connection_id)  # usage: metered at $disconnect
        extra = {"duplicate": True} if appended.duplicate else {}
        return server_message("ack", message.request_id, workspace=workspace, seq=appended.op.seq,
                              op=appended.op.to_dict(), **extra)

    def _history(self, connection_id: str, message: ClientMessage) -> bytes:
        assert self._sync is not None
        # Any integer: one outside 1..200 is taken as the nearest (docs/protocol.md), a negative one too.
        limit = message.payload.get("limit", 100)
        if limit is None:
            limit = 100
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise ProtocolError("bad_envelope", "`limit` must be an integer (1 to 200; others are taken as the "
                                "nearest)", message.request_id)
        page = self._sync.history(self._actor(connection_id, message), self._workspace(message),
                                  self._sequence(message, "after", 0) or 0, limit)
        return server_message("history", message.request_id, **page)

    def _state(self, connection_id: str, message: ClientMessage) -> bytes:
        """The next page of a welcome's state: `seq` and `after` (its `next`) from the page before."""
        assert self._sync is not None
        seq = self._sequence(message, "seq", None)
        after = message.payload.get("after")
        if seq is None or not valid_id(after):
            raise ProtocolError("bad_envelope", "`state` needs `seq` and `after` from the page before",
                                message.request_id)
        page = self._sync.state_page(self._actor(connection_id, message), self._workspace(message), seq, after)
        return server_message("state", message.request_id, **page)
