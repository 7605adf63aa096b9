"""Opening and closing websocket connections: who may connect, to which workspace, and the row that says
they did. Connection time is metered per account for usage and billing. Failed logins count against the
source address's budget, as at the REST API, and they and refused workspaces are recorded collapsed
(services/auth_failures.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.domain.errors import ApiError, TooManyRequests
from chalicelib.domain.events import Event
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.auth_failures import AuthFailures

if TYPE_CHECKING:
    from chalicelib.ports import ConnectionStore, EventSink, UsageMeter


class ConnectionService:
    def __init__(self, access: AccessService, store: ConnectionStore, events: EventSink,
                 usage: UsageMeter, on_departure: Callable[[str, str, str], None] | None = None,
                 failures: AuthFailures | None = None,
                 note_audience_change: Callable[[str], None] | None = None) -> None:
        self._access = access
        self._failures = failures or AuthFailures(None, events)
        self._store = store
        self._events = events
        self._usage = usage
        self._on_departure = on_departure  # (workspace, connection, user): tell the workspace they left
        # A connection opened in a workspace is in its audience from the connect on, as a join's is.
        self._note_audience_change = note_audience_change

    def connect(self, connection_id: str, token: str | None, source_ip: str, workspace_id: str | None) -> Actor:
        """Verify who is connecting and, when a workspace is named, that they belong to it; an ApiError
        refuses the upgrade with its status (429 for an address past its budget of failed logins)."""
        try:
            actor = self._access.authenticate(token)
        except ApiError as exc:
            if exc.status != 401:
                raise
            refusal = self._failures.refuse(exc, source_ip, "websocket", workspace_id=workspace_id or "")
            if refusal.retry_after is not None:
                raise TooManyRequests(refusal.message, retry_after=refusal.retry_after) from exc  # nothing recorded
            raise
        try:
            if workspace_id:
                self._access.workspace(actor, workspace_id)
        except ApiError as exc:
            # Collapsed like failed logins: a client retrying a workspace it may not join costs a few events.
            self._failures.workspace_refused(exc, actor.user_id, workspace_id or "", source_ip, "websocket",
                                             actor.account_id)
            raise
        self._store.put(connection_id, actor.user_id, workspace_id,
                        {"account_id": actor.account_id, "source_ip": source_ip})
        if workspace_id and self._note_audience_change is not None:
            try:
                self._note_audience_change(workspace_id)  # after the bind: writers read who is in it again
            except Exception:
                self._store.delete(connection_id)  # the upgrade fails, and no $disconnect will come for it
                raise
        self._events.record(Event("ws.connected", actor.account_id, workspace_id or "", actor.user_id,
                                  actor.user_id, {"connection_id": connection_id}))
        return actor

    def disconnect(self, connection_id: str, status_code: int | None, at: float | None = None) -> None:
        """`at`: when the connection ended (the $disconnect event's time), metered up to then."""
        row = self._store.delete(connection_id)  # as deleted: where it was, what it routed, up to the last op
        if row is None:
            return  # already reaped (a repeated $disconnect, or the row's TTL)
        ended = min(time.time(), at) if at is not None else time.time()
        seconds = max(0, int(ended) - int(row.get("connected_at", ended)))
        self._usage.add(str(row.get("account_id", "")), {"connection_seconds": seconds,
                                                         "messages_routed": int(row.get("routed", 0))})
        workspace = str(row.get("workspace_id", ""))
        if self._on_departure is not None and workspace not in ("", "-"):
            self._on_departure(workspace, connection_id, str(row.get("user_id", "")))
        self._events.record(Event("ws.disconnected", str(row.get("account_id", "")),
                                  "" if workspace == "-" else workspace, str(row.get("user_id", "")),
                                  detail={"connection_id": connection_id, "seconds": seconds,
                                          "status_code": status_code}))
