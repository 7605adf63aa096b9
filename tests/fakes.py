"""In-memory twins of the project's ports, for unit tests."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from chalicelib.domain.events import Event
from chalicelib.domain.ops import Op
from chalicelib.domain.tenancy import Account, Membership, User, Workspace
from chalicelib.log_ports import AudienceChanged, DuplicateOp, GrantRevoked, LogDiverged, SeqTaken
from chalicelib.ports import ConnectionGone


class FakeNotifier:
    def __init__(self, gone: set[str] | None = None) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.closed: list[str] = []
        self.gone = gone or set()

    def send(self, connection_id: str, data: bytes) -> None:
        if connection_id in self.gone:
            raise ConnectionGone(connection_id)
        self.sent.append((connection_id, data))

    def close(self, connection_id: str) -> None:
        self.closed.append(connection_id)


class InMemoryConnectionStore:
    """The ConnectionStore port's twin. Rows go only with delete ($disconnect); leaving a workspace, a sweep
    and a 410 move a row to the lobby ("-"), as the DynamoDB store does."""

    CONNECT_GRACE_S = 30

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, str] = {}
        self.stale_after_s = 90

    def put(self, connection_id: str, user_id: str, workspace_id: str | None,
            attributes: Mapping[str, str]) -> None:
        now = int(time.time())
        self.rows[connection_id] = {"user_id": user_id, "workspace_id": workspace_id or "-",
                                    "connected_at": now, "last_seen": now, **attributes}

    def get(self, connection_id: str) -> dict[str, Any] | None:
        return self.rows.get(connection_id)

    def delete(self, connection_id: str) -> dict[str, Any] | None:
        row = self.rows.pop(connection_id, None)
        self.subscriptions.pop(connection_id, None)
        return None if row is None else {"connection_id": connection_id, **row}

    def of_user(self, user_id: str, workspace_id: str | None = None) -> list[str]:
        return [c for c, r in self.rows.items()
                if r["user_id"] == user_id and (workspace_id is None or r["workspace_id"] == workspace_id)]

    def online_users(self, workspace_id: str) -> set[str]:
        return {r["user_id"] for r in self.present(workspace_id)}

    def bind(self, connection_id: str, user_id: str, workspace_id: str | None) -> str | None:
        row = self.rows.get(connection_id)
        if row is None:
            return None
        before = str(row.get("workspace_id") or "-")
        row.update(workspace_id=workspace_id or "-", last_seen=int(time.time()), opened=True)
        row.pop("swept_from", None)
        return before

    def unbind(self, connection_id: str, workspace_id: str, stale_before: int | None = None) -> dict[str, Any] | None:
        row = self.rows.get(connection_id)
        if row is None or row["workspace_id"] != workspace_id or (
                stale_before is not None and row["last_seen"] >= stale_before):
            return None
        old = {"connection_id": connection_id, **row}
        row["workspace_id"] = "-"
        row.pop("presence", None)
        row.pop("swept_from", None)
        if stale_before is not None:
            row["swept_from"] = workspace_id
        return old

    def gone(self, connection_id: str) -> dict[str, Any] | None:
        row = self.rows.get(connection_id)
        if row is not None and not row.get("opened") and row["connected_at"] > time.time() - self.CONNECT_GRACE_S:
            return None  # still connecting
        self.subscriptions.pop(connection_id, None)
        if row is None or row["workspace_id"] == "-":
            return None
        return self.unbind(connection_id, row["workspace_id"])

    def in_workspace(self, workspace_id: str) -> list[str]:
        return [c for c, r in self.rows.items() if r["workspace_id"] == workspace_id]

    def members(self, workspace_id: str) -> list[dict[str, Any]]:
        return [{"connection_id": c, **r} for c, r in self.rows.items() if r["workspace_id"] == workspace_id]

    def present(self, workspace_id: str) -> list[dict[str, Any]]:
        cutoff = time.time() - self.stale_after_s
        return [r for r in self.members(workspace_id) if r["last_seen"] > cutoff]

    def stale(self, workspace_id: str) -> list[dict[str, Any]]:
        fresh = {r["connection_id"] for r in self.present(workspace_id)}
        return [r for r in self.members(workspace_id) if r["connection_id"] not in fresh]

    def count_routed(self, connection_id: str) -> None:
        row = self.rows.get(connection_id)
        if row is not None:
            row["routed"] = row.get("routed", 0) + 1

    def touch(self, connection_id: str, workspace_id: str, presence: dict[str, Any] | None = None) -> bool:
        row = self.rows.get(connection_id)
        if row is None or row["workspace_id"] != workspace_id:
            return False
        row["last_seen"] = int(time.time())
        if presence is not None:
            row["presence"] = json.dumps(presence)
        return True

    def subscribe_events(self, connection_id: str, scope: str) -> None:
        self.subscriptions[connection_id] = scope
        if connection_id in self.rows:
            self.rows[connection_id]["opened"] = True

    def unsubscribe_events(self, connection_id: str) -> None:
        self.subscriptions.pop(connection_id, None)

    def event_subscribers(self, scope: str) -> list[str]:
        return [c for c, s in self.subscriptions.items() if s == scope]


class InMemoryTenancy:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.accounts: dict[str, Account] = {}
        self.workspaces: dict[str, Workspace] = {}
        self.memberships: dict[tuple[str, str], Membership] = {}

    def user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    def account(self, account_id: str) -> Account | None:
        return self.accounts.get(account_id)

    def workspace(self, workspace_id: str) -> Workspace | None:
        return self.workspaces.get(workspace_id)

    def membership(self, workspace_id: str, user_id: str) -> Membership | None:
        return self.memberships.get((workspace_id, user_id))


class RecordingEvents:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def record(self, event: Event) -> None:
        self.events.append(event)

    def types(self) -> list[str]:
        return [e.type for e in self.events]


class InMemoryUsage:
    def __init__(self) -> None:
        self.counters: dict[str, dict[str, int]] = {}

    def add(self, account_id: str, counters: dict[str, int], at: float | None = None) -> None:
        totals = self.counters.setdefault(account_id, {})
        for name, value in counters.items():
            totals[name] = totals.get(name, 0) + value


class InMemoryOpLog:
    """The OpLog port's twin, no stronger than the DynamoDB adapter: `append` stores op N only if N is free,
    N-1 is stored, the claim is new and the grant holds, all at once; deciding which N to write (the read
    before) is the caller's, exactly as with DynamoDB, so the same races are possible."""

    def __init__(self, tenancy: Any = None) -> None:
        self.ops: dict[str, dict[int, Op]] = {}
        self.claims: dict[tuple[str, str], int] = {}
        self.snapshots_at: dict[str, int] = {}
        self.tenancy = tenancy  # for grants (InMemoryTenancy); None: grants are not checked
        self.fail_next: list[Exception] = []  # raised by the next appends, before anything is stored
        self.joins: dict[str, int] = {}
        self.lost = 0  # appends refused because their sequence was taken (a cancelled transaction on DynamoDB)

    def append(self, workspace_id: str, op: Op, claim: str | None, grant: Any, audience: int | None = None) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)
        log = self.ops.setdefault(workspace_id, {})
        if claim is not None and (workspace_id, claim) in self.claims:
            raise DuplicateOp(self.claims[(workspace_id, claim)])
        if grant is not None and self.tenancy is not None and not _grant_holds(self.tenancy, grant):
            raise GrantRevoked()
        if audience is not None and audience != self.joins.get(workspace_id, 0):
            raise AudienceChanged()
        if op.seq in log:
            self.lost += 1
            raise SeqTaken(log[op.seq])
        if op.seq > 1 and op.seq - 1 not in log:
            raise LogDiverged()
        log[op.seq] = op
        if claim is not None:
            self.claims[(workspace_id, claim)] = op.seq

    def after(self, workspace_id: str, after_seq: int, limit: int) -> list[Op]:
        log = self.ops.get(workspace_id, {})
        return [log[s] for s in sorted(log) if s > after_seq][:limit]

    def get(self, workspace_id: str, seq: int) -> Op | None:
        return self.ops.get(workspace_id, {}).get(seq)

    def claimed(self, workspace_id: str, claim: str) -> int | None:
        return self.claims.get((workspace_id, claim))

    def latest(self, workspace_id: str) -> int:
        return max(self.ops.get(workspace_id, {}), default=0)

    def snapshot_seq(self, workspace_id: str) -> int:
        return self.snapshots_at.get(workspace_id, 0)

    def audience(self, workspace_id: str) -> int:
        return self.joins.get(workspace_id, 0)

    def note_audience_change(self, workspace_id: str) -> None:
        self.joins[workspace_id] = self.joins.get(workspace_id, 0) + 1

    def mark_snapshot(self, workspace_id: str, seq: int) -> None:
        self.snapshots_at[workspace_id] = max(seq, self.snapshots_at.get(workspace_id, 0))

    def all(self, workspace_id: str) -> list[Op]:
        log = self.ops.get(workspace_id, {})
        return [log[s] for s in sorted(log)]


def _grant_holds(tenancy: Any, grant: Any) -> bool:
    if grant.via == "member":
        membership = tenancy.membership(grant.workspace_id, grant.user_id)
        return membership is not None and membership.role in grant.roles
    user = tenancy.user(grant.user_id)
    if user is None:
        return False
    if grant.via == "account_admin":
        return user.role.value == "platform_admin" or (user.role.value == "account_admin"
                                                       and user.account_id == grant.account_id)
    return bool(user.role.value == "platform_admin")


class InMemorySnapshots:
    def __init__(self) -> None:
        self.stored: dict[tuple[str, int], dict[str, Any]] = {}

    def put(self, workspace_id: str, seq: int, snapshot: dict[str, Any]) -> None:
        self.stored[(workspace_id, seq)] = json.loads(json.dumps(snapshot))  # as it would come back from S3

    def get(self, workspace_id: str, seq: int) -> dict[str, Any]:
        return self.stored[(workspace_id, seq)]

    def at_or_before(self, workspace_id: str, seq: int) -> int:
        return max([s for w, s in self.stored if w == workspace_id and s <= seq], default=0)
