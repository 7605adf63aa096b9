"""The workspace's data as the protocol sends it (ops and items), and the typed events a client emits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DOCUMENT_PREFIX = "doc:"
PLACEMENT_PREFIX = "place:"


@dataclass(frozen=True, slots=True)
class Op:
    """One stored op: `seq` is its place in the workspace's log (1, 2, 3, ... without gaps)."""

    seq: int
    kind: str  # chat, item.create, item.update, item.delete
    by: str  # the author's user id, or "system"
    at_ms: int
    data: Mapping[str, Any]
    op_id: str | None = None

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> Op:
        return cls(seq=int(raw["seq"]), kind=str(raw["kind"]), by=str(raw.get("by", "")),
                   at_ms=int(raw.get("at_ms", 0)), data=dict(raw.get("data") or {}), op_id=raw.get("op_id"))

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seq": self.seq, "kind": self.kind, "by": self.by, "at_ms": self.at_ms,
                               "data": dict(self.data)}
        if self.op_id is not None:
            out["op_id"] = self.op_id
        return out

    @property
    def item_id(self) -> str | None:
        value = self.data.get("item_id")
        return value if isinstance(value, str) else None

    @property
    def text(self) -> str | None:
        """A chat op's text."""
        value = self.data.get("text") if self.kind == "chat" else None
        return value if isinstance(value, str) else None


@dataclass(slots=True)
class Item:
    """A live item of the shared state; `version` is the sequence of the last op that changed it."""

    item_id: str
    kind: str
    fields: dict[str, Any]
    version: int

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> Item:
        return cls(item_id=str(raw["item_id"]), kind=str(raw["kind"]), fields=dict(raw.get("fields") or {}),
                   version=int(raw.get("version", 0)))

    def to_wire(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "kind": self.kind, "fields": dict(self.fields), "version": self.version}


@dataclass(frozen=True, slots=True)
class PresenceEntry:
    connection: str
    user: str
    presence: Mapping[str, Any]


# Events, in the order the client makes them. Subscribe with WorkspaceClient.events() or on_event=.

@dataclass(frozen=True, slots=True)
class Connected:
    """A websocket is open (attempt 0 is the first connect, then each reconnect counts up)."""

    attempt: int


@dataclass(frozen=True, slots=True)
class ConnectFailed:
    """A connect attempt failed (refused upgrade, network, timeout). Before the first sync the client gives up
    after its connect deadline or attempts (start() raises Failed); after it, it keeps trying with backoff."""

    attempt: int
    reason: str


@dataclass(frozen=True, slots=True)
class Disconnected:
    reason: str
    code: int | None = None


@dataclass(frozen=True, slots=True)
class Synced:
    """A welcome was handled: the replica holds the server's state as of `applied`. `fresh` when it was loaded
    from a state (a first join, or after a reset), `reset` when the server's log was reset (the replica, chat
    included, was discarded)."""

    workspace: str
    applied: int
    role: str
    fresh: bool
    reset: bool


@dataclass(frozen=True, slots=True)
class OpApplied:
    """An op applied to the replica, strictly in sequence order; `own` when this client sent it."""

    op: Op
    own: bool


@dataclass(frozen=True, slots=True)
class OpRejected:
    """An op of this client's that the server refused: it was not stored and will not be sent again."""

    op_id: str
    action: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    connection: str
    user: str
    presence: Mapping[str, Any]

    @property
    def offline(self) -> bool:
        return self.presence.get("status") == "offline"


@dataclass(frozen=True, slots=True)
class DocumentChanged:
    """An op changed a document's item (`doc:<id>`): `item` is the item after it, None once removed."""

    document_id: str
    item: Item | None
    op: Op

    @property
    def status(self) -> str | None:
        value = self.item.fields.get("status") if self.item else None
        return value if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Progress:
    """Live processing progress of a document (not in the log): analysing, tiling, ready or failed."""

    document_id: str
    status: str
    final: bool
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def pages_done(self) -> int | None:
        value = self.detail.get("pages_done")
        return value if isinstance(value, int) else None

    @property
    def page_count(self) -> int | None:
        value = self.detail.get("page_count")
        return value if isinstance(value, int) else None


@dataclass(frozen=True, slots=True)
class Closed:
    """The client stopped: by close() (error None), or because the server refused it for good."""

    error: BaseException | None


Event = (Connected | ConnectFailed | Disconnected | Synced | OpApplied | OpRejected | PresenceChanged
         | DocumentChanged | Progress | Closed)
