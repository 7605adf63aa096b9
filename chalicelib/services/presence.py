"""Who is in a workspace, and where they are looking: presence lives on the connection rows, refreshed by
heartbeats, never in the op log.

`$disconnect` is best effort, so a connection not heard from for KALEXO_PRESENCE_STALE_SECONDS (90 s by
default; clients beat every 30 s) is gone: whoever beats
next in that workspace sweeps such rows away and tells the others. A client that vanishes drops out within
the stale bound plus one heartbeat interval of anyone else.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.domain.envelopes import server_message
from chalicelib.domain.sync import OpError
from chalicelib.ports import ConnectionStore
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.fanout import Fanout

STATUSES = frozenset({"active", "away", "busy"})
BOX = ("x", "y", "w", "h")
POINT = ("x", "y")


def validate_presence(payload: dict[str, Any]) -> dict[str, Any]:
    presence: dict[str, Any] = {"status": payload.get("status", "active")}
    if presence["status"] not in STATUSES:
        raise OpError("bad_presence", f"status must be one of {', '.join(sorted(STATUSES))}")
    for name, keys in (("viewport", BOX), ("cursor", POINT)):
        value = payload.get(name)
        if value is None:
            continue
        if not isinstance(value, dict) or set(value) != set(keys) or not all(
                isinstance(value[k], (int, float)) and not isinstance(value[k], bool) for k in keys):
            raise OpError("bad_presence", f"{name} must be {{{', '.join(keys)}}} numbers")
        presence[name] = value
    return presence


class PresenceService:
    def __init__(self, access: AccessService, connections: ConnectionStore, fanout: Fanout) -> None:
        self._access = access
        self._connections = connections
        self._fanout = fanout
        fanout.on_gone = self._gone  # a delivery that found a dead connection is a departure too

    def update(self, connection_id: str, actor: Actor, workspace_id: str, payload: dict[str, Any]) -> None:
        self._access.workspace(actor, workspace_id)
        presence = validate_presence(payload)
        if self._connections.touch(connection_id, presence):
            self.announce(workspace_id, connection_id, actor.user_id, presence)
        self.sweep(workspace_id)

    def heartbeat(self, connection_id: str, actor: Actor, workspace_id: str) -> None:
        self._access.workspace(actor, workspace_id)
        self._connections.touch(connection_id)
        self.sweep(workspace_id)

    def announce(self, workspace_id: str, connection_id: str, user_id: str, presence: dict[str, Any]) -> None:
        others = [c for c in self._connections.in_workspace(workspace_id) if c != connection_id]
        self._fanout.send(others, server_message("presence", workspace=workspace_id, connection=connection_id,
                                                 user=user_id, presence=presence))

    def who(self, workspace_id: str) -> list[dict[str, Any]]:
        return [{"connection": r["connection_id"], "user": r["user_id"],
                 "presence": json.loads(r["presence"]) if r.get("presence") else {"status": "active"}}
                for r in self._connections.present(workspace_id)]

    def _gone(self, row: dict[str, Any]) -> None:
        workspace = str(row.get("workspace_id", ""))
        if workspace not in ("", "-"):
            self.announce(workspace, str(row["connection_id"]), str(row.get("user_id", "")), {"status": "offline"})

    def sweep(self, workspace_id: str) -> int:
        """Remove the workspace's stale connections and tell the rest they went offline."""
        stale = self._connections.stale(workspace_id)
        for row in stale:
            self._connections.delete(row["connection_id"])
            self.announce(workspace_id, row["connection_id"], row["user_id"], {"status": "offline"})
        return len(stale)
