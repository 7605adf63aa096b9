"""Who is in a workspace, and where they are looking: presence lives on the connection rows, refreshed by
heartbeats, never in the op log.

Clients beat every `heartbeat_ms` (the welcome says how often: a fifth of KALEXO_PRESENCE_STALE_SECONDS, 90 s
by default), whether or not anything else arrives. `$disconnect` is best effort, so a connection not heard
from for the stale bound has vanished: the next heartbeat of anyone in that workspace sweeps it out and tells
the others. A vanished client is announced offline within the stale bound plus one heartbeat interval.

Sweeps, 410s and leaves take a connection out of its workspace; they never delete its row, which still says
who is on the connection: a connection that is in fact alive (a laptop that slept) is put back by its next
heartbeat, and a 410 meant for a connection still connecting (a quick reconnect) changes nothing.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.domain.envelopes import server_message
from chalicelib.domain.ops import OpError
from chalicelib.domain.tenancy import WorkspaceRole
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.fanout import Fanout

if TYPE_CHECKING:
    from chalicelib.ports import ConnectionStore

STATUSES = frozenset({"active", "away", "busy"})
BOX = ("x", "y", "w", "h")
POINT = ("x", "y")
HEARTBEATS_PER_STALE = 5  # a connection is stale after missing four heartbeats in a row


def validate_presence(payload: dict[str, Any]) -> dict[str, Any]:
    presence: dict[str, Any] = {"status": payload.get("status", "active")}
    if presence["status"] not in STATUSES:
        raise OpError("bad_presence", f"status must be one of {', '.join(sorted(STATUSES))}")
    for name, keys in (("viewport", BOX), ("cursor", POINT)):
        value = payload.get(name)
        if value is None:
            continue
        if not isinstance(value, dict) or set(value) != set(keys) or not all(_finite(value[k]) for k in keys):
            raise OpError("bad_presence", f"{name} must be {{{', '.join(keys)}}}, finite numbers")
        presence[name] = value
    return presence


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and abs(value) < 1e15


@dataclass(frozen=True)
class Heartbeat:
    rejoined: bool  # a sweep had taken the connection out, and the heartbeat put it back
    role: WorkspaceRole  # the member's role now: an owner may have changed it since the join


class PresenceService:
    def __init__(self, access: AccessService, connections: ConnectionStore, fanout: Fanout,
                 stale_after_s: int = 90, note_audience_change: Callable[[str], None] | None = None) -> None:
        self._access = access  # uncached: a heartbeat re-checks membership, so a removed member goes
        self._connections = connections
        self._fanout = fanout
        self._stale_after = stale_after_s
        # A connection put back, or swept out, changes who the workspace's ops go to (services/audience.py).
        self._note_audience_change = note_audience_change
        fanout.on_gone = self._gone  # a delivery that found a dead connection is a departure too

    @property
    def heartbeat_ms(self) -> int:
        return max(1000, self._stale_after * 1000 // HEARTBEATS_PER_STALE)

    def update(self, connection_id: str, actor: Actor, workspace_id: str, payload: dict[str, Any]) -> None:
        presence = validate_presence(payload)
        if not self._connections.touch(connection_id, workspace_id, presence):
            raise OpError("not_joined", "join the workspace before sending presence")
        self.announce(workspace_id, connection_id, actor.user_id, presence)

    def heartbeat(self, connection_id: str, actor: Actor, workspace_id: str) -> Heartbeat:
        """Keep the connection in the workspace, or put it back when a sweep took it out while it was in fact
        alive (a laptop asleep past the stale bound). A connection that left, or never joined, is not joined by
        a heartbeat (not_joined). Refuses (not_found) a removed member; says the role of one still there."""
        role = self._access.workspace(actor, workspace_id).role
        rejoined = False
        if not self._connections.touch(connection_id, workspace_id):
            row = self._connections.get(connection_id)
            if row is None or row.get("swept_from") != workspace_id:
                raise OpError("not_joined", "this connection has not joined that workspace: join it")
            before = self._connections.bind(connection_id, actor.user_id, workspace_id)
            if before is None:
                raise OpError("not_connected", "this connection is closing")
            if self._note_audience_change is not None:
                self._note_audience_change(workspace_id)
                if before not in ("-", workspace_id):  # it joined another meanwhile: that one stops sending to it
                    self._note_audience_change(before)
            self._connections.touch(connection_id, workspace_id, {"status": "active"})
            self.announce(workspace_id, connection_id, actor.user_id, {"status": "active"})
            rejoined = True
        self.sweep(workspace_id)
        return Heartbeat(rejoined, role)

    def announce(self, workspace_id: str, connection_id: str, user_id: str, presence: dict[str, Any]) -> None:
        others = [c for c in self._connections.in_workspace(workspace_id) if c != connection_id]
        self._fanout.send(others, server_message("presence", workspace=workspace_id, connection=connection_id,
                                                 user=user_id, presence=presence))

    def who(self, workspace_id: str) -> list[dict[str, Any]]:
        rows = sorted(self._connections.present(workspace_id), key=lambda r: str(r["connection_id"]))
        return [{"connection": r["connection_id"], "user": r["user_id"],
                 "presence": json.loads(r["presence"]) if r.get("presence") else {"status": "active"}}
                for r in rows]

    def _gone(self, row: dict[str, Any]) -> None:
        self.announce(str(row["workspace_id"]), str(row["connection_id"]), str(row.get("user_id", "")),
                      {"status": "offline"})

    def sweep(self, workspace_id: str) -> int:
        """Take the workspace's stale connections out of it and tell the rest they went offline."""
        cutoff = int(time.time()) - self._stale_after + 1  # stale: last seen at or before now - bound
        gone = [row for row in self._connections.stale(workspace_id)
                if self._connections.unbind(row["connection_id"], workspace_id, stale_before=cutoff) is not None]
        if gone and self._note_audience_change is not None:
            # Before the announcements (each a query and a post to everyone): ops stored from now on are not
            # sent to the connections swept out.
            self._note_audience_change(workspace_id)
        for row in gone:
            self.announce(workspace_id, row["connection_id"], row["user_id"], {"status": "offline"})
        return len(gone)
