"""Workspace recovery from snapshots plus the op log (the "transaction log for workspace recovery"):
administrators view a workspace as it was after a sequence or at a time, and restore it.

A restore appends ordinary ops (by the administrator) that turn today's notes and tasks into exactly the
past ones (domain/sync.py changes_to): the log stays append-only, nothing is rewritten, the restore itself
can be undone the same way, and every connected client converges through the ops it already understands.
Documents and their placements are not restored: they follow the files, which a restore does not touch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import BadRequest, Conflict
from chalicelib.domain.events import Event
from chalicelib.domain.ops import Op, OpError
from chalicelib.domain.sync import changes_to
from chalicelib.domain.tenancy import Workspace, WorkspaceRole
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.workspace_log import WorkspaceLog

if TYPE_CHECKING:
    from chalicelib.ports import EventSink

Publish = Callable[[str, Op], object]


ROUNDS = 10  # a restore works its changes out again this often while members change the same items


def _interrupted(appended: list[int], why: str) -> Conflict:
    return Conflict(f"the restore stopped after {len(appended)} ops ({why}); restore again to finish it (it starts "
                    "from the present)", code="restore_interrupted")


class RecoveryService:
    def __init__(self, access: AccessService, log: WorkspaceLog, publish: Publish | None, events: EventSink) -> None:
        self._access = access
        self._log = log
        self._publish = publish  # to the workspace's connected members, where the websocket endpoint is known
        self._events = events

    def resolve(self, workspace_id: str, seq: int | None, at_ms: int | None) -> int:
        latest = self._log.latest(workspace_id)
        if seq is not None:
            if seq > latest:
                raise BadRequest(f"the workspace's latest sequence is {latest}", code="bad_sequence")
            return seq
        if at_ms is None:
            return latest
        found, after = 0, 0  # the last op at or before the time (a walk: recovery is rare)
        while True:
            ops = self._log.after(workspace_id, after, 1000)
            for op in ops:
                if op.at_ms > at_ms:
                    return found
                found = op.seq
            if len(ops) < 1000:
                return found
            after = ops[-1].seq

    @staticmethod
    def _check_time(workspace: Workspace, at_ms: int | None) -> None:
        """A time before the workspace existed is almost always seconds given for milliseconds; restoring to it
        would delete every note and task without a word. Sequence 0 is the way to ask for the empty state."""
        if at_ms is not None and at_ms < workspace.created_at * 1000:
            raise BadRequest(f"at_ms {at_ms} is before the workspace was created ({workspace.created_at * 1000} ms "
                             "since the epoch): at_ms counts milliseconds; to go back to the empty workspace, "
                             "name seq 0", code="before_workspace")

    def view(self, actor: Actor, workspace_id: str, seq: int | None, at_ms: int | None) -> dict[str, Any]:
        access = self._access.workspace(actor, workspace_id, need=WorkspaceRole.OWNER)
        if seq is not None and at_ms is not None:  # two answers to one question: neither is guessed
            raise BadRequest("name seq or at_ms, not both", code="bad_query")
        self._check_time(access.workspace, at_ms)
        target = self.resolve(workspace_id, seq, at_ms)
        return {"workspace": workspace_id, **self._log.at(workspace_id, target).view()}

    def restore(self, actor: Actor, workspace_id: str, seq: int | None, at_ms: int | None) -> dict[str, Any]:
        access = self._access.workspace(actor, workspace_id, need=WorkspaceRole.OWNER)
        if (seq is None) == (at_ms is None):
            raise BadRequest("name the sequence (seq) or the time (at_ms) to restore to, one of them",
                             code="bad_restore")
        self._check_time(access.workspace, at_ms)
        target = self.resolve(workspace_id, seq, at_ms)
        grant = self._access.write_grant(actor, access, WorkspaceRole.OWNER)
        past = self._log.at(workspace_id, target)
        appended: list[int] = []
        # Each op is checked against the state it follows. A member writing meanwhile can make one refused
        # (the item it targets changed); the rest are then worked out again from the new present, so the
        # result is still exactly the past.
        account = access.workspace.account_id
        for _ in range(ROUNDS):
            changes = changes_to(self._log.current(workspace_id), past)
            if not changes:
                break
            for kind, data in changes:
                try:
                    op = self._log.append(workspace_id, kind, actor.user_id, data, grant=grant, restoring=True).op
                except OpError as refused:
                    if refused.code in ("item_exists", "item_not_found"):
                        break
                    if refused.code == "access_changed":  # demoted meanwhile: the answer a fresh request gets
                        self._access.workspace(actor, workspace_id, need=WorkspaceRole.OWNER)
                    self._restored(actor, account, workspace_id, target, appended, refused.code)
                    raise _interrupted(appended, f"{refused.code}: {refused}") from refused
                appended.append(op.seq)
                if self._publish is not None:
                    self._publish(workspace_id, op)
        else:
            if changes_to(self._log.current(workspace_id), past):  # members kept changing what it put back
                self._restored(actor, account, workspace_id, target, appended, "busy")
                raise _interrupted(appended, f"members changed the same items through {ROUNDS} rounds")
        self._restored(actor, access.workspace.account_id, workspace_id, target, appended)
        return {"workspace": workspace_id, "restored_to": target, "from_seq": appended[0] - 1 if appended else
                self._log.latest(workspace_id), "ops": appended}

    def _restored(self, actor: Actor, account_id: str, workspace_id: str, target: int, appended: list[int],
                  interrupted: str | None = None) -> None:
        detail: dict[str, Any] = {"to_seq": target, "ops": len(appended)}
        if interrupted:
            detail["interrupted"] = interrupted
        self._events.record(Event("workspace.restored", account_id, workspace_id, actor_id=actor.user_id,
                                  detail=detail))
