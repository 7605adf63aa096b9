"""Real-time workspace sync: joining (or resuming), submitting ops and chat, reading history and state.

Every op is stored in the log (services/workspace_log.py) before its sender's `ack` and before anyone else
sees it, so anything acknowledged survives and every reader sees a prefix of the log. Every answer fits in one
API Gateway message: state, history and presence come in pages bounded by size (docs/protocol.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.domain import strict_json
from chalicelib.domain.errors import ApiError
from chalicelib.domain.ops import OpError
from chalicelib.domain.tenancy import WorkspaceRole
from chalicelib.log_ports import AudienceChanged
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.audience import Audiences
from chalicelib.services.fanout import OpPublisher
from chalicelib.services.presence import PresenceService
from chalicelib.services.workspace_log import Appended, WorkspaceLog

if TYPE_CHECKING:
    from chalicelib.ports import ConnectionStore

HISTORY_MAX_OPS = 200
# Byte budgets for the parts of one reply; together well under API Gateway's 128 KB per message.
STATE_PAGE_BYTES = 48 * 1024
OPS_PAGE_BYTES = 48 * 1024
PRESENCE_PAGE_BYTES = 16 * 1024
PAGE_BYTES = 96 * 1024  # a reply that is nothing but one page


def fit(entries: list[dict[str, Any]], budget: int) -> list[dict[str, Any]]:
    """The longest prefix of `entries` within `budget` bytes of JSON, and never empty if `entries` is not
    (each op and item is bounded far below any budget)."""
    used = 0
    for count, entry in enumerate(entries):
        used += strict_json.size(entry) + 1
        if count and used > budget:
            return entries[:count]
    return entries


class WorkspaceSync:
    def __init__(self, access: AccessService, fresh_access: AccessService, log: WorkspaceLog,
                 connections: ConnectionStore, publish: OpPublisher, presence: PresenceService,
                 audiences: Audiences) -> None:
        self._access = access  # cached: the first check of a write (its grant is checked as it is stored)
        self._fresh = fresh_access  # uncached: joins, reads of the log and state, and any refused write's answer
        self._log = log
        self._connections = connections
        self._publish = publish
        self._audiences = audiences
        self.presence = presence

    def join(self, connection_id: str, actor: Actor, workspace_id: str, since: int | None) -> dict[str, Any]:
        """Bind the connection to the workspace, then say where it stands: the state (first page) for a
        fresh join, or the ops after `since` (first page) for a resume. Binding first means every op stored
        after this point is also sent live; ops stored before are in the state (or the resumed pages)."""
        access = self._fresh.workspace(actor, workspace_id)
        before = self._connections.bind(connection_id, actor.user_id, workspace_id)
        if before is None:
            raise OpError("not_connected", "this connection is closing")
        self._log.note_audience_change(workspace_id)  # after the bind: writers that read who is in it must read again
        if before not in ("-", workspace_id):  # it moved: the workspace it was in must stop sending to it too
            self._log.note_audience_change(before)
            self.presence.announce(before, connection_id, actor.user_id, {"status": "offline"})
        self._connections.touch(connection_id, workspace_id, {"status": "active"})
        self.presence.announce(workspace_id, connection_id, actor.user_id, {"status": "active"})
        welcome: dict[str, Any] = {"workspace": workspace_id, "role": access.role.value,
                                   "heartbeat_ms": self.presence.heartbeat_ms, **self.presence_page(workspace_id)}
        if before not in ("-", workspace_id):
            welcome["left"] = before  # one workspace a connection: the one it was in stops sending to it
        latest = self._log.latest(workspace_id) if since is not None else None
        if since is not None and latest is not None and since <= latest:
            ops = self._ops_page(workspace_id, since, HISTORY_MAX_OPS, OPS_PAGE_BYTES)
            latest = max(latest, ops[-1]["seq"] if ops else 0)  # ops stored since the count are in the page
            welcome.update(latest_seq=latest, ops=ops, more=bool(ops) and ops[-1]["seq"] < latest)
            return welcome
        seq, items, next_item = self._log.page_of_state(workspace_id, None, None, STATE_PAGE_BYTES)
        if since is not None:
            welcome["reset"] = True  # the client is ahead of the log: its copy is not this workspace's any more
        welcome.update(latest_seq=seq, state={"seq": seq, "items": items, "more": next_item is not None,
                                              "next": next_item})
        return welcome

    def state_page(self, actor: Actor, workspace_id: str, seq: int, after_item: str | None) -> dict[str, Any]:
        """The next page of the state a welcome started (as of its `seq`, whatever happened since)."""
        self._fresh.workspace(actor, workspace_id)  # items' contents: not a moment after a removal
        if seq > self._log.latest(workspace_id):
            raise OpError("bad_sequence", "that sequence is not in this workspace's log")
        at, items, next_item = self._log.page_of_state(workspace_id, seq, after_item, PAGE_BYTES)
        return {"workspace": workspace_id, "seq": at, "items": items, "more": next_item is not None,
                "next": next_item}

    def presence_page(self, workspace_id: str, after: str | None = None) -> dict[str, Any]:
        present = [p for p in self.presence.who(workspace_id) if after is None or p["connection"] > after]
        page = fit(present, PRESENCE_PAGE_BYTES)
        more = len(page) < len(present)
        return {"online": sorted({p["user"] for p in page}), "presence": page, "presence_more": more,
                "presence_next": page[-1]["connection"] if more else None}

    def leave(self, connection_id: str, actor: Actor, workspace_id: str) -> None:
        if self._connections.unbind(connection_id, workspace_id) is not None:
            self._log.note_audience_change(workspace_id)  # after the unbind: no op stored after `left` reaches it
            self.presence.announce(workspace_id, connection_id, actor.user_id, {"status": "offline"})
        elif self._is_member(actor, workspace_id):
            # Nothing to take out: perhaps this is the leave sent again after its count failed (the client got
            # an error), so count again; a count changes nothing but a re-read of who is in the workspace.
            self._log.note_audience_change(workspace_id)

    def _is_member(self, actor: Actor, workspace_id: str) -> bool:
        try:
            self._access.workspace(actor, workspace_id)
        except ApiError:
            return False
        return True

    def submit(self, connection_id: str, actor: Actor, workspace_id: str, kind: str, payload: dict[str, Any],
               op_id: str | None) -> Appended:
        need = WorkspaceRole.VIEWER if kind == "chat" else WorkspaceRole.EDITOR
        access = self._access.workspace(actor, workspace_id, need)
        grant = self._access.write_grant(actor, access, need)
        for _ in range(10):
            audience = self._audiences.of(workspace_id)
            try:
                appended = self._log.append(workspace_id, kind, actor.user_id, payload, op_id, grant,
                                            audience.version)
                break
            except AudienceChanged:
                self._audiences.forget(workspace_id)  # someone joined since: read who is there again
            except OpError:
                # Say exactly what changed, from the source of truth (`access_changed`); and a refusal read from
                # the state (`conflict` naming a version, `item_exists`...) tells of the workspace: only to who
                # is a member now (the cached membership may lag a removal by seconds, as an outside client found).
                self._fresh.workspace(actor, workspace_id, need)
                raise
        else:
            raise OpError("busy", "who is in this workspace keeps changing (joins, leaves); send it again "
                                  "(same op_id)")
        # A resend is sent to the others again too: if the first attempt died before its fan-out, this
        # repairs it, and clients ignore a sequence they have.
        self._publish.to(audience.connections, workspace_id, appended.op, exclude=connection_id)
        return appended

    def latest(self, workspace_id: str) -> int:
        return self._log.latest(workspace_id)

    def history(self, actor: Actor, workspace_id: str, after: int, limit: int) -> dict[str, Any]:
        self._fresh.workspace(actor, workspace_id)  # the log's contents: not a moment after a removal
        ops = self._ops_page(workspace_id, after, max(1, min(limit, HISTORY_MAX_OPS)), PAGE_BYTES)
        latest = self._log.latest(workspace_id)  # read after the page: never below its last op
        return {"workspace": workspace_id, "ops": ops, "latest_seq": latest,
                "more": bool(ops) and ops[-1]["seq"] < latest}

    def _ops_page(self, workspace_id: str, after: int, limit: int, budget: int) -> list[dict[str, Any]]:
        return fit([op.to_dict() for op in self._log.after(workspace_id, after, limit)], budget)
