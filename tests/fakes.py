"""In-memory twins of the project's ports, for unit tests."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from chalicelib.domain.events import Event
from chalicelib.domain.sync import Op
from chalicelib.domain.tenancy import Account, Membership, User, Workspace
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
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, str] = {}
        self.stale_after_s = 90

    def put(self, connection_id: str, user_id: str, workspace_id: str | None,
            attributes: Mapping[str, str]) -> None:
        self.rows[connection_id] = {"user_id": user_id, "workspace_id": workspace_id or "-",
                                    "connected_at": int(time.time()), **attributes}

    def get(self, connection_id: str) -> dict[str, Any] | None:
        return self.rows.get(connection_id)

    def delete(self, connection_id: str) -> None:
        self.rows.pop(connection_id, None)
        self.subscriptions.pop(connection_id, None)

    def of_user(self, user_id: str, workspace_id: str | None = None) -> list[str]:
        return [c for c, r in self.rows.items()
                if r["user_id"] == user_id and (workspace_id is None or r["workspace_id"] == workspace_id)]

    def online_users(self, workspace_id: str) -> set[str]:
        return {r["user_id"] for r in self.present(workspace_id)}

    def bind(self, connection_id: str, user_id: str, workspace_id: str | None) -> None:
        self.rows[connection_id]["workspace_id"] = workspace_id or "-"

    def in_workspace(self, workspace_id: str) -> list[str]:
        return [c for c, r in self.rows.items() if r["workspace_id"] == workspace_id]

    def members(self, workspace_id: str) -> list[dict[str, Any]]:
        return [{"connection_id": c, **r} for c, r in self.rows.items() if r["workspace_id"] == workspace_id]

    def present(self, workspace_id: str) -> list[dict[str, Any]]:
        cutoff = time.time() - self.stale_after_s
        return [r for r in self.members(workspace_id) if r.get("last_seen", r["connected_at"]) > cutoff]

    def stale(self, workspace_id: str) -> list[dict[str, Any]]:
        fresh = {r["connection_id"] for r in self.present(workspace_id)}
        return [r for r in self.members(workspace_id) if r["connection_id"] not in fresh]

    def touch(self, connection_id: str, presence: dict[str, Any] | None = None) -> bool:
        if connection_id not in self.rows:
            return False
        self.rows[connection_id]["last_seen"] = time.time()
        if presence is not None:
            self.rows[connection_id]["presence"] = json.dumps(presence)
        return True

    def subscribe_events(self, connection_id: str, scope: str) -> None:
        self.subscriptions[connection_id] = scope

    def unsubscribe_events(self, connection_id: str) -> None:
        self.subscriptions.pop(connection_id, None)

    def event_subscribers(self, scope: str) -> list[str]:
        return [c for c, s in self.subscriptions.items() if s == scope]


class InMemoryUploadLog:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], tuple[int, str]] = {}
        self.bytes_by_account: dict[str, int] = {}

    def record(self, bucket: str, key: str, version_id: str, size: int, etag: str,
               account_id: str | None = None) -> bool:
        if (bucket, key, version_id) in self.items:
            return False
        self.items[(bucket, key, version_id)] = (size, etag)
        if account_id:
            self.bytes_by_account[account_id] = self.bytes_by_account.get(account_id, 0) + size
        return True


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
    def __init__(self) -> None:
        self.ops: dict[str, list[Op]] = {}
        self.snapshot_seq: dict[str, int] = {}

    def append(self, workspace_id: str, kind: str, by: str, data: dict[str, Any]) -> Op:
        log = self.ops.setdefault(workspace_id, [])
        op = Op(len(log) + 1, kind, by, 0, data)
        log.append(op)
        return op

    def latest(self, workspace_id: str) -> int:
        return len(self.ops.get(workspace_id, []))

    def heads(self, workspace_id: str) -> tuple[int, int]:
        return self.latest(workspace_id), self.snapshot_seq.get(workspace_id, 0)

    def mark_snapshot(self, workspace_id: str, seq: int) -> None:
        self.snapshot_seq[workspace_id] = max(seq, self.snapshot_seq.get(workspace_id, 0))

    def after(self, workspace_id: str, after_seq: int, limit: int) -> list[Op]:
        return [o for o in self.ops.get(workspace_id, []) if o.seq > after_seq][:limit]


class InMemorySnapshots:
    def __init__(self) -> None:
        self.stored: dict[tuple[str, int], dict[str, Any]] = {}

    def put(self, workspace_id: str, seq: int, snapshot: dict[str, Any]) -> None:
        self.stored[(workspace_id, seq)] = json.loads(json.dumps(snapshot))  # as it would come back from S3

    def get(self, workspace_id: str, seq: int) -> dict[str, Any]:
        return self.stored[(workspace_id, seq)]

    def at_or_before(self, workspace_id: str, seq: int) -> int:
        return max([s for w, s in self.stored if w == workspace_id and s <= seq], default=0)
