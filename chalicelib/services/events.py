"""Recording what happens, and letting administrators read it back within their scope."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.domain.envelopes import server_message
from chalicelib.domain.errors import BadRequest, Forbidden
from chalicelib.domain.events import EVENT_TYPES, Event, EventQuery
from chalicelib.domain.paging import Page
from chalicelib.observability import logger
from chalicelib.port_types import ConnectionGone
from chalicelib.services.access import AccessService, Actor

if TYPE_CHECKING:
    from chalicelib.ports import ConnectionNotifier, ConnectionStore, EventStore

MAX_RANGE_MS = 400 * 86400 * 1000


SECONDS_LOOK_LIKE = 10**11  # a time below this, in milliseconds, was almost surely sent in seconds


class EventRecorder:
    """Appends to the log, then pushes the event to the administrators following it live."""

    def __init__(self, log: EventStore, connections: ConnectionStore | None = None,
                 notifier: ConnectionNotifier | None = None,
                 may_follow: Callable[[str, str], bool] | None = None) -> None:
        self._log = log
        self._connections = connections
        self._notifier = notifier
        # Checked at every push, not only at subscribe: a demoted admin stops receiving at once.
        self._may_follow = may_follow or (lambda connection_id, scope: True)

    def record(self, event: Event) -> None:
        """Never fails the action being recorded: a lost audit line is logged loudly instead."""
        try:
            self._log.append(event)
            self._push(event)
        except Exception:
            logger.exception("event not recorded", extra={"event": event.to_dict()})

    def _push(self, event: Event) -> None:
        if self._connections is None or self._notifier is None:
            return
        scopes = ["*", event.account_id] if event.account_id else ["*"]
        message = server_message("event", event=event.to_dict())
        for scope in scopes:
            for connection_id in self._connections.event_subscribers(scope):
                if not self._may_follow(connection_id, scope):
                    self._connections.unsubscribe_events(connection_id)
                    continue
                try:
                    self._notifier.send(connection_id, message)
                except ConnectionGone:
                    self._connections.gone(connection_id)  # stops following, unless still connecting


class EventQueries:
    def __init__(self, log: EventStore, access: AccessService) -> None:
        self._log = log
        self._access = access

    def query(self, actor: Actor, filters: dict[str, Any], limit: int,
              start: dict[str, Any] | None) -> Page[Event]:
        now_ms = int(time.time() * 1000)
        for name in ("since_ms", "until_ms"):
            given = filters.get(name)
            if given is not None and 0 < int(given) < SECONDS_LOOK_LIKE:  # 1973 in milliseconds, 5138 in seconds
                raise BadRequest(f"{name} is in epoch milliseconds; {given} looks like seconds (multiply by 1000)",
                                 code="bad_range")
        until = min(int(filters.get("until_ms") or now_ms), now_ms + 86400 * 1000)  # nothing is in the future
        since = int(filters.get("since_ms") or until - 7 * 86400 * 1000)
        if since > until or until - since > MAX_RANGE_MS:
            raise BadRequest("since_ms must be before until_ms, at most 400 days apart (both are epoch "
                             "milliseconds, not seconds)", code="bad_range")
        type_ = filters.get("type")
        if type_ and type_ not in EVENT_TYPES and not (type_.endswith(".") and
                                                      any(t.startswith(type_) for t in EVENT_TYPES)):
            raise BadRequest(f"unknown event type {type_!r}", code="bad_event_type")
        account_id = filters.get("account_id")
        workspace_id = filters.get("workspace_id")
        if not actor.is_platform_admin:
            if account_id and account_id != actor.account_id:
                self._access.require_account_admin(actor, account_id)
            account_id = actor.account_id
            if not actor.administers(account_id):
                raise Forbidden("account administrators only")
        if workspace_id:
            workspace = self._access.workspace(actor, workspace_id).workspace
            account_id = workspace.account_id
        if filters.get("user_id"):
            # Events are found by user across accounts and filtered by account after: another tenant's user id
            # would answer an empty page with a cursor into that tenant's events.
            self._access.require_user_in_scope(actor, str(filters["user_id"]))
        query = EventQuery(since_ms=since, until_ms=until, account_id=account_id, workspace_id=workspace_id,
                           user_id=filters.get("user_id"), type=type_)
        return self._log.query(query, limit, start)
