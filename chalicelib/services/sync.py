"""Real-time workspace sync: joining (or resuming), submitting ops and chat, reading history.

Every op takes the workspace's next sequence number, is stored in the op log, and only then acknowledged
and fanned out, so anything acknowledged survives. Clients apply ops in sequence order; a gap (a sequence
they did not see) is filled from history.
"""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.domain.envelopes import server_message
from chalicelib.domain.sync import Op, WorkspaceState, validate
from chalicelib.domain.tenancy import WorkspaceRole
from chalicelib.ports import ConnectionStore
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.fanout import Fanout
from chalicelib.services.presence import PresenceService

PAGE = 200  # ops per history page (a websocket message stays well under 128 KB for ordinary ops)


SNAPSHOT_EVERY = 200  # ops between snapshots: a join replays at most this many ops on top of one


class OpLog(Protocol):
    def append(self, workspace_id: str, kind: str, by: str, data: dict[str, Any]) -> Op: ...

    def latest(self, workspace_id: str) -> int: ...

    def heads(self, workspace_id: str) -> tuple[int, int]: ...

    def mark_snapshot(self, workspace_id: str, seq: int) -> None: ...

    def after(self, workspace_id: str, after_seq: int, limit: int) -> list[Op]: ...


class Snapshots(Protocol):
    def put(self, workspace_id: str, seq: int, snapshot: dict[str, Any]) -> None: ...

    def get(self, workspace_id: str, seq: int) -> dict[str, Any]: ...

    def at_or_before(self, workspace_id: str, seq: int) -> int: ...


class WorkspaceHistory:
    """The workspace's state at any point: the newest snapshot at or before it, plus the log after it."""

    def __init__(self, oplog: OpLog, snapshots: Snapshots) -> None:
        self._oplog = oplog
        self._snapshots = snapshots

    def current(self, workspace_id: str, snapshot_seq: int | None = None) -> WorkspaceState:
        """The latest snapshot plus the ops after it (fewer than SNAPSHOT_EVERY): O(state), not O(history).
        A caller that has just read the counter item passes its snapshot_seq instead of reading it again."""
        if snapshot_seq is None:
            _, snapshot_seq = self._oplog.heads(workspace_id)
        return self._replay(workspace_id, snapshot_seq, None)

    def at(self, workspace_id: str, seq: int) -> WorkspaceState:
        """The workspace as it was after op `seq`."""
        return self._replay(workspace_id, self._snapshots.at_or_before(workspace_id, seq), seq)

    def snapshot(self, workspace_id: str, seq: int) -> None:
        """Store the state as of `seq` and point joins at it."""
        self._snapshots.put(workspace_id, seq, self.at(workspace_id, seq).to_snapshot())
        self._oplog.mark_snapshot(workspace_id, seq)

    def _replay(self, workspace_id: str, snapshot_seq: int, until: int | None) -> WorkspaceState:
        state = (WorkspaceState.from_snapshot(self._snapshots.get(workspace_id, snapshot_seq)) if snapshot_seq
                 else WorkspaceState())
        while until is None or state.seq < until:
            ops = self._oplog.after(workspace_id, state.seq, 1000)
            for op in ops:
                if until is not None and op.seq > until:
                    return state
                state.apply(op)
            if len(ops) < 1000:
                return state
        return state


class WorkspaceSync:
    def __init__(self, access: AccessService, oplog: OpLog, connections: ConnectionStore, fanout: Fanout,
                 presence: PresenceService, history: WorkspaceHistory) -> None:
        self._access = access
        self._oplog = oplog
        self._history = history
        self._connections = connections
        self._fanout = fanout
        self.presence = presence

    def join(self, connection_id: str, actor: Actor, workspace_id: str, since: int | None) -> dict[str, Any]:
        """Bind the connection to the workspace and say where it stands: the whole state for a fresh join,
        or the ops after `since` (first page; `more` says whether history has the rest) for a resume."""
        access = self._access.workspace(actor, workspace_id)
        self._connections.bind(connection_id, actor.user_id, workspace_id)
        self._connections.touch(connection_id, {"status": "active"})
        self.presence.announce(workspace_id, connection_id, actor.user_id, {"status": "active"})
        latest, snapshot_seq = self._oplog.heads(workspace_id)
        present = self.presence.who(workspace_id)
        welcome: dict[str, Any] = {"workspace": workspace_id, "role": access.role.value, "latest_seq": latest,
                                   "online": sorted({p["user"] for p in present}), "presence": present}
        if since is None:
            welcome["state"] = self._history.current(workspace_id, snapshot_seq).view()
        else:
            ops = self._oplog.after(workspace_id, since, PAGE)
            welcome.update(ops=[o.to_dict() for o in ops], more=bool(ops) and ops[-1].seq < latest)
        return welcome

    def leave(self, connection_id: str, actor: Actor, workspace_id: str) -> None:
        self._connections.bind(connection_id, actor.user_id, None)
        self.presence.announce(workspace_id, connection_id, actor.user_id, {"status": "offline"})

    def submit(self, connection_id: str, actor: Actor, workspace_id: str, kind: str, data: dict[str, Any]) -> Op:
        need = WorkspaceRole.VIEWER if kind == "chat" else WorkspaceRole.EDITOR
        self._access.workspace(actor, workspace_id, need)
        op = self._oplog.append(workspace_id, kind, actor.user_id, validate(kind, data))
        others = [c for c in self._connections.in_workspace(workspace_id) if c != connection_id]
        self._fanout.send(others, server_message("op", workspace=workspace_id, op=op.to_dict()))
        if op.seq % SNAPSHOT_EVERY == 0:  # after the ack and the fan-out: it costs the writer, not readers
            self._history.snapshot(workspace_id, op.seq)
        return op

    def latest(self, workspace_id: str) -> int:
        return self._oplog.latest(workspace_id)

    def history(self, actor: Actor, workspace_id: str, after: int, limit: int) -> dict[str, Any]:
        self._access.workspace(actor, workspace_id)
        ops = self._oplog.after(workspace_id, after, max(1, min(limit, PAGE)))
        latest = self._oplog.latest(workspace_id)
        return {"workspace": workspace_id, "ops": [o.to_dict() for o in ops], "latest_seq": latest,
                "more": bool(ops) and ops[-1].seq < latest}
