"""A workspace's shared state: its live items, as the ops of its log leave them.

The log is a serialized history. Every op is checked against the state just before its sequence number (the
writer stores op N only if op N-1 is the last one it applied), so the log only ever holds ops that were valid
where they stand, and applying them is simple and the same everywhere:

- `item.create` makes a new item with the op's kind and fields (refused while an item of that id is live;
  after a delete, the id starts over with nothing of the old item);
- `item.update` sets the named fields; a null value removes the field (refused unless the item is live);
- `item.delete` removes the item (refused unless it is live);
- `chat` changes no item.

Apply is total and deterministic anyway (an update of an absent item does nothing, a create replaces), so any
log, even one written before these checks, gives every reader the same state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain import strict_json
from chalicelib.domain.ops import MAX_FIELDS, SYSTEM, Op, OpError

CLIENT_KINDS = frozenset({"note", "task"})
SERVER_KINDS = frozenset({"document", "placement"})  # written by the server; members may move placements
RESTORABLE_KINDS = CLIENT_KINDS  # what a restore puts back: documents are facts, not edits
RESERVED_PREFIXES = ("doc:", "place:")
MAX_ITEM_BYTES = 16 * 1024  # an item's fields, as JSON
MAX_LIVE_ITEMS = 10_000
PLACEMENT_FIELDS = frozenset({"x", "y"})
AUTHOR_FIELD = "by"  # a note's or task's author: set by the server from who created it, never by a client


# Who last edited or resolved an item: a member's op that sets one of these (to any value but null) stores its
# author's user id there, so that "resolved by bob" is as true as the note's author. Null clears it, as any field.
SIGNED_FIELDS = ("edited_by", "resolved_by")


def attributed(kind: str, data: dict[str, Any], by: str) -> dict[str, Any]:
    """`data` (shaped by ops.shape) as stored: a member's new note or task carries its author in its `by` field,
    whatever the client sent there, so that no member can show a note as another's; and a member's op that sets
    a field of SIGNED_FIELDS sets it to that member."""
    if by == SYSTEM or kind not in ("item.create", "item.update"):
        return data
    fields = data["fields"]
    signed = {name: by for name in SIGNED_FIELDS if fields.get(name) is not None}
    if kind == "item.create":
        if data["kind"] not in CLIENT_KINDS:
            return data  # refused by the check: members create notes and tasks only
        return {**data, "fields": {**fields, **signed, AUTHOR_FIELD: by}}
    return {**data, "fields": {**fields, **signed}} if signed else data


@dataclass
class Item:
    """One item of a workspace's replicated state: its kind, fields, and the op that last changed it."""
    item_id: str
    kind: str
    fields: dict[str, Any]
    created_seq: int
    version: int  # the sequence of the last op that changed it

    def view(self) -> dict[str, Any]:
        return {"item_id": self.item_id, "kind": self.kind, "fields": dict(self.fields), "version": self.version}


def _same_version(item: Item, if_version: int | None) -> None:
    """The writer's `if_version` (ops.IF_VERSION) is the item's version, or the change is refused."""
    if if_version is None or if_version == item.version:
        return
    if if_version > item.version:  # no state a client has seen holds it: not a race, a mistake
        raise OpError("bad_op", f"item {item.item_id!r} has never been at version {if_version}: it is at "
                                f"version {item.version}")
    raise OpError("conflict", f"item {item.item_id!r} changed since version {if_version}: it is at version "
                              f"{item.version} now; read it, then send your change again")


@dataclass
class WorkspaceState:
    """A workspace's replicated state as of one sequence number."""
    seq: int = 0
    items: dict[str, Item] = field(default_factory=dict)

    # -- the checks that depend on the state --------------------------------------------------------------
    def check(self, kind: str, data: dict[str, Any], by: str, if_version: int | None = None) -> None:
        """Raise OpError unless `data` (already shaped by ops.shape) may be the next op; `if_version`: the
        item's version the writer saw (ops.IF_VERSION)."""
        if kind == "chat":
            return
        system = by == SYSTEM
        item_id = data["item_id"]
        item = self.items.get(item_id)
        if kind == "item.create":
            self._check_create(item_id, data["kind"], item, system)
            fields = {k: v for k, v in data["fields"].items() if v is not None}
        elif item is None:  # whatever `if_version` says: the item is gone, not changed
            raise OpError("item_not_found", f"no live item {item_id!r} (deleted, or never created)")
        elif kind == "item.delete":
            if not system and item.kind in SERVER_KINDS:
                raise OpError("forbidden", f"{item.kind} items are removed with their document")
            _same_version(item, if_version)
            return
        else:
            self._check_update(item, data["fields"], system)  # a change that could never apply is refused as such
            _same_version(item, if_version)
            fields = merged(item.fields, data["fields"])
        if len(fields) > MAX_FIELDS:
            raise OpError("item_too_large", f"an item has at most {MAX_FIELDS} fields")
        size = strict_json.size(fields)
        if size > MAX_ITEM_BYTES:
            raise OpError("item_too_large", f"an item's fields are limited to {MAX_ITEM_BYTES} bytes of JSON; "
                                            f"this change would make them {size}")

    def _check_create(self, item_id: str, item_kind: str, item: Item | None, system: bool) -> None:
        if not system:
            if item_kind not in CLIENT_KINDS:
                raise OpError("bad_op", f"`kind` must be one of {', '.join(sorted(CLIENT_KINDS))}")
            if item_id.startswith(RESERVED_PREFIXES):
                raise OpError("bad_op", f"item ids starting with {' or '.join(RESERVED_PREFIXES)} are the server's")
        if item is not None:
            raise OpError("item_exists", f"item {item_id!r} exists; update it, or delete it first")
        if len(self.items) >= MAX_LIVE_ITEMS:
            raise OpError("workspace_full", f"a workspace holds at most {MAX_LIVE_ITEMS} items")

    @staticmethod
    def _check_update(item: Item, fields: dict[str, Any], system: bool) -> None:
        if system:
            return
        if AUTHOR_FIELD in fields and item.kind in CLIENT_KINDS:  # a restore creates such an item again
            raise OpError("bad_op", f"`{AUTHOR_FIELD}` is the item's author, set when it was created")
        if item.kind == "document":
            raise OpError("forbidden", "documents are updated by the server as they are processed")
        if item.kind == "placement":
            moves = set(fields) <= PLACEMENT_FIELDS and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in fields.values())
            if not moves:
                raise OpError("bad_op", "a placement's `x` and `y` (numbers) are all that members change")

    # -- applying ------------------------------------------------------------------------------------------
    def apply(self, op: Op) -> None:
        """Ops come in sequence order; one at or below the state's sequence was applied already."""
        if op.seq <= self.seq:
            return
        self.seq = op.seq
        item_id = op.data.get("item_id", "")
        item = self.items.get(item_id)
        if op.kind == "item.create":
            fields = {k: v for k, v in op.data["fields"].items() if v is not None}
            self.items[item_id] = Item(item_id, op.data["kind"], fields, op.seq, op.seq)
        elif op.kind == "item.update" and item is not None:
            item.fields = merged(item.fields, op.data["fields"])
            item.version = op.seq
        elif op.kind == "item.delete":
            self.items.pop(item_id, None)

    # -- reading -------------------------------------------------------------------------------------------
    def view(self) -> dict[str, Any]:
        return {"seq": self.seq, "items": [self.items[i].view() for i in sorted(self.items)]}

    def page(self, after_item: str | None, budget_bytes: int) -> tuple[list[dict[str, Any]], str | None]:
        """Items in id order after `after_item`, as many as fit in `budget_bytes` of JSON (at least one);
        the second value is the id to continue after, or None at the end."""
        ids = sorted(i for i in self.items if after_item is None or i > after_item)
        page: list[dict[str, Any]] = []
        used = 0
        for item_id in ids:
            view = self.items[item_id].view()
            cost = strict_json.size(view) + 1
            if page and used + cost > budget_bytes:
                return page, page[-1]["item_id"]
            page.append(view)
            used += cost
        return page, None

    def to_snapshot(self) -> dict[str, Any]:
        return {"v": 2, "seq": self.seq, "items": {
            i.item_id: {"kind": i.kind, "fields": i.fields, "created_seq": i.created_seq, "version": i.version}
            for i in self.items.values()}}

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> WorkspaceState:
        state = cls(seq=int(data["seq"]))
        for item_id, raw in data["items"].items():
            if data.get("v") == 2:
                state.items[item_id] = Item(item_id, raw["kind"], dict(raw["fields"]), int(raw["created_seq"]),
                                            int(raw["version"]))
            elif raw.get("deleted_seq") is None:  # version 1 kept tombstones and each field's sequence
                fields = {k: v for k, (_, v) in raw["fields"].items() if v is not None}
                version = max([int(raw["created_seq"]), *(int(s) for s, _ in raw["fields"].values())])
                state.items[item_id] = Item(item_id, raw["kind"], fields, int(raw["created_seq"]), version)
        return state


def merged(fields: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`fields` with `changes` applied: a null value removes its field."""
    out = dict(fields)
    for name, value in changes.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def changes_to(current: WorkspaceState, target: WorkspaceState,
               kinds: frozenset[str] = RESTORABLE_KINDS) -> list[tuple[str, dict[str, Any]]]:
    """The ops (kind, data) that turn `current`'s items of `kinds` into exactly `target`'s: what a restore
    appends. Items whose kind or author (`by`) changed in between are other items: deleted and created again,
    whole, so an author is only ever written with the fields that are the author's."""
    now = {i.item_id: i for i in current.items.values() if i.kind in kinds}
    then = {i.item_id: i for i in target.items.values() if i.kind in kinds}
    ops: list[tuple[str, dict[str, Any]]] = []
    for item_id in sorted(now):
        if item_id not in then or not _same_item(now[item_id], then[item_id]):
            ops.append(("item.delete", {"item_id": item_id}))
    for item_id in sorted(then):
        past = then[item_id]
        present = now.get(item_id)
        if present is None or not _same_item(present, past):
            ops.append(("item.create", {"item_id": item_id, "kind": past.kind, "fields": dict(past.fields)}))
            continue
        changed: dict[str, Any] = {k: v for k, v in past.fields.items() if present.fields.get(k, _ABSENT) != v}
        changed.update({k: None for k in present.fields if k not in past.fields})
        if changed:
            ops.append(("item.update", {"item_id": item_id, "fields": changed}))
    return ops


_ABSENT = object()


def _same_item(present: Item, past: Item) -> bool:
    return present.kind == past.kind and present.fields.get(AUTHOR_FIELD) == past.fields.get(AUTHOR_FIELD)
