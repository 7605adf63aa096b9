"""The event log: what happened on the network, by whom, where. Kept for a retention period, then deleted."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.tenancy import new_id

# The kinds of events the system records; admins filter by these (or by their prefix, e.g. "membership.").
EVENT_TYPES = (
    "auth.failed", "ws.connected", "ws.refused", "ws.disconnected",
    "account.created", "account.updated", "account.deleted",
    "user.created", "user.updated", "user.deleted", "user.token_issued",
    "workspace.created", "workspace.updated", "workspace.deleted", "workspace.restored",
    "membership.added", "membership.changed", "membership.removed",
    "upload.granted", "upload.received", "upload.refused",
    "document.analysed", "document.ready", "document.failed", "document.reprocess", "document.removed",
)


@dataclass(frozen=True)
class Event:
    """One entry of the event log: what happened, in which account and workspace, by whom."""
    type: str
    account_id: str = ""
    workspace_id: str = ""
    user_id: str = ""  # whom it is about
    actor_id: str = ""  # who did it
    detail: dict[str, Any] = field(default_factory=dict)
    at_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    event_id: str = field(default_factory=lambda: new_id("evt"))

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "type": self.type, "at_ms": self.at_ms,
                "at": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.at_ms / 1000)) + "Z",
                "account_id": self.account_id, "workspace_id": self.workspace_id, "user_id": self.user_id,
                "actor_id": self.actor_id, "detail": self.detail}


@dataclass(frozen=True)
class EventQuery:
    """Newest first, within [since_ms, until_ms]; at most one of workspace_id / user_id narrows the index."""

    since_ms: int
    until_ms: int
    account_id: str | None = None  # None: every account (platform admins only)
    workspace_id: str | None = None
    user_id: str | None = None
    type: str | None = None  # exact type, or a prefix ending in "."
