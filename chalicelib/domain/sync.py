"""The workspace's shared state and the ops that change it.

Every op carries the workspace sequence number the router assigned; state is the ops applied in sequence
order. A field's value is the one written by the highest sequence (so concurrent updates of one field
resolve the same way everywhere), a delete is a tombstone that later updates do not revive (only a later
create does, as a new incarnation: how a restore brings back a deleted item), and applying an op twice
changes nothing. Any client that applies the same ops ends with the same state as the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ITEM_KINDS = frozenset({"note", "task", "placement"})  # placement: where a document sits on the landscape
MAX_FIELDS = 50
MAX_CHAT_CHARS = 4000


class OpError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Op:
    seq: int
    kind: str  # chat, item.create, item.update, item.delete
    by: str  # user id
    at_ms: int
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "by": self.by, "at_ms": self.at_ms, "data": self.data}


def validate(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The op's data as stored, or OpError with a code the client can act on."""
    if kind == "chat":
        text = data.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHAT_CHARS:
            raise OpError("bad_op", f"chat needs `text`, 1 to {MAX_CHAT_CHARS} characters")
        return {"text": text}
    item_id = data.get("item_id")
    if not isinstance(item_id, str) or not 1 <= len(item_id) <= 64:
        raise OpError("bad_op", "items need an `item_id` string of 1 to 64 characters")
    if kind == "item.delete":
        return {"item_id": item_id}
    fields = data.get("fields")
    if not isinstance(fields, dict) or not fields or len(fields) > MAX_FIELDS:
        raise OpError("bad_op", f"`fields` must be an object with 1 to {MAX_FIELDS} entries")
    if kind == "item.create":
        item_kind = data.get("kind")
        if item_kind not in ITEM_KINDS:
            raise OpError("bad_op", f"`kind` must be one of {', '.join(sorted(ITEM_KINDS))}")
        return {"item_id": item_id, "kind": item_kind, "fields": fields}
    if kind == "item.update":
        return {"item_id": item_id, "fields": fields}
    raise OpError("unknown_op", f"unknown op {kind!r}")


@dataclass
class Item:
    item_id: str
    kind: str
    created_seq: int
    fields: dict[str, tuple[int, Any]] = field(default_factory=dict)  # name -> (seq written, value)
    deleted_seq: int | None = None

    def view(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "kind": self.kind, "fields": {k: v for k, (_, v) in self.fields.items()},
                "version": max([self.created_seq, *(s for s, _ in self.fields.values())])}


@dataclass
class WorkspaceState:
    seq: int = 0
    items: dict[str, Item] = field(default_factory=dict)

    def apply(self, op: Op) -> None:
        """Ops arrive in sequence order; an op at or below the state's sequence was applied already."""
        if op.seq <= self.seq:
            return
        self.seq = op.seq
        item_id = op.data.get("item_id", "")
        item = self.items.get(item_id)
        if op.kind == "item.create":
            if item is None or item.deleted_seq is not None:  # new, or a new incarnation of a deleted item
                item = self.items[item_id] = Item(item_id, op.data["kind"], op.seq)
            self._write(item, op)
        elif op.kind == "item.update" and item is not None:
            self._write(item, op)
        elif op.kind == "item.delete" and item is not None and item.deleted_seq is None:
            item.deleted_seq = op.seq

    @staticmethod
    def _write(item: Item, op: Op) -> None:
        if item.deleted_seq is not None:
            return  # a tombstone is final: updates racing a delete do not revive the item
        for name, value in op.data["fields"].items():
            if name not in item.fields or item.fields[name][0] < op.seq:
                item.fields[name] = (op.seq, value)

    def view(self) -> dict[str, Any]:
        live = [i.view() for i in self.items.values() if i.deleted_seq is None]
        return {"seq": self.seq, "items": sorted(live, key=lambda i: i["item_id"])}

    def to_snapshot(self) -> dict[str, Any]:
        """Everything later ops need: per-field sequences and tombstones, not just the visible view."""
        return {"seq": self.seq, "items": {i.item_id: {"kind": i.kind, "created_seq": i.created_seq,
                                                       "fields": {k: [s, v] for k, (s, v) in i.fields.items()},
                                                       "deleted_seq": i.deleted_seq}
                                           for i in self.items.values()}}

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> WorkspaceState:
        state = cls(seq=int(data["seq"]))
        for item_id, raw in data["items"].items():
            state.items[item_id] = Item(item_id, raw["kind"], int(raw["created_seq"]),
                                        {k: (int(s), v) for k, (s, v) in raw["fields"].items()},
                                        raw.get("deleted_seq"))
        return state


def changes_to(current: WorkspaceState, target: WorkspaceState) -> list[tuple[str, dict[str, Any]]]:
    """The ops (kind, data) that turn `current` into `target`: what a restore appends to the log."""
    live_now = {i.item_id: i for i in current.items.values() if i.deleted_seq is None}
    live_then = {i.item_id: i for i in target.items.values() if i.deleted_seq is None}
    ops: list[tuple[str, dict[str, Any]]] = []
    for item_id in sorted(set(live_now) - set(live_then)):
        ops.append(("item.delete", {"item_id": item_id}))
    for item_id in sorted(live_then):
        then = {k: v for k, (_, v) in live_then[item_id].fields.items()}
        if item_id not in live_now:
            ops.append(("item.create", {"item_id": item_id, "kind": live_then[item_id].kind, "fields": then}))
            continue
        now = {k: v for k, (_, v) in live_now[item_id].fields.items()}
        changed = {k: v for k, v in then.items() if now.get(k, _ABSENT) != v}
        changed.update({k: None for k in now if k not in then})  # fields the past did not have
        if changed:
            ops.append(("item.update", {"item_id": item_id, "fields": changed}))
    return ops


_ABSENT = object()
