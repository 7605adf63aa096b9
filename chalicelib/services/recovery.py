"""Workspace recovery from snapshots plus the op log (the "transaction log for workspace recovery"):
administrators view a workspace as it was after a sequence or at a time, and restore it.

A restore appends ordinary ops (by the administrator) that turn today's state into the past one: the log
stays append-only, nothing is rewritten, the restore itself can be undone the same way, and every
connected client converges through the ops it already understands.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.envelopes import server_message
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.events import Event
from chalicelib.domain.sync import changes_to
from chalicelib.domain.tenancy import WorkspaceRole
from chalicelib.ports import ConnectionStore, EventSink
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.fanout import Fanout
from chalicelib.services.sync import OpLog, WorkspaceHistory


class RecoveryService:
    def __init__(self, access: AccessService, history: WorkspaceHistory, oplog: OpLog,
                 connections: ConnectionStore, fanout: Fanout | None, events: EventSink) -> None:
        self._access = access
        self._history = history
        self._oplog = oplog
        self._connections = connections
        self._fanout = fanout
        self._events = events

    def resolve(self, workspace_id: str, seq: int | None, at_ms: int | None) -> int:
        latest = self._oplog.latest(workspace_id)
        if seq is not None:
            if seq > latest:
                raise BadRequest(f"the workspace's latest sequence is {latest}", code="bad_sequence")
            return seq
        if at_ms is None:
            return latest
        found, after = 0, 0  # the last op at or before the time (a walk: recovery is rare)
        while True:
            ops = self._oplog.after(workspace_id, after, 1000)
            for op in ops:
                if op.at_ms > at_ms:
                    return found
                found = op.seq
            if len(ops) < 1000:
                return found
            after = ops[-1].seq

    def view(self, actor: Actor, workspace_id: str, seq: int | None, at_ms: int | None) -> dict[str, Any]:
        self._access.workspace(actor, workspace_id, need=WorkspaceRole.OWNER)
        target = self.resolve(workspace_id, seq, at_ms)
        return {"workspace": workspace_id, **self._history.at(workspace_id, target).view()}

    def restore(self, actor: Actor, workspace_id: str, seq: int | None, at_ms: int | None) -> dict[str, Any]:
        workspace = self._access.workspace(actor, workspace_id, need=WorkspaceRole.OWNER).workspace
        if seq is None and at_ms is None:
            raise BadRequest("name the sequence or the time to restore to", code="bad_restore")
        target = self.resolve(workspace_id, seq, at_ms)
        latest = self._oplog.latest(workspace_id)
        changes = changes_to(self._history.at(workspace_id, latest), self._history.at(workspace_id, target))
        appended = []
        for kind, data in changes:
            op = self._oplog.append(workspace_id, kind, actor.user_id, data)
            appended.append(op.seq)
            if self._fanout is not None:
                self._fanout.send(self._connections.in_workspace(workspace_id),
                                  server_message("op", workspace=workspace_id, op=op.to_dict()))
        self._events.record(Event("workspace.restored", workspace.account_id, workspace_id, actor_id=actor.user_id,
                                  detail={"to_seq": target, "from_seq": latest, "ops": len(appended)}))
        return {"workspace": workspace_id, "restored_to": target, "from_seq": latest, "ops": appended}
