"""The ops of a workspace's log and the shape rules every op must meet before the state is even consulted.

An op is what the router stores and sends: chat, or a change to one shared item. The limits here bound every
message that carries ops (an op fits a single 32 KB websocket frame with room to spare, so any history page
or welcome can always make progress) and are the ones `docs/protocol.md` states.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import strict_json

OP_KINDS = ("chat", "item.create", "item.update", "item.delete")
MAX_CHAT_CHARS = 4000
MAX_OP_BYTES = 20 * 1024  # an op's data, as JSON: an item's 16 KiB of fields, its id and kind, removals
MAX_FIELDS = 50  # fields of one item
MAX_FIELD_NAME = 64
SYSTEM = "system"  # the author of ops the server writes itself (documents)
# An update or delete may name the item's version it was made from: it is then refused (`conflict`) if another
# op changed the item since, instead of silently replacing that change. Checked against the state, never stored.
IF_VERSION = "if_version"

_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class OpError(ValueError):
    """An op or action refused, with the protocol's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Op:
    """One operation of a workspace's op log, at its sequence number."""
    seq: int
    kind: str  # chat, item.create, item.update, item.delete
    by: str  # user id, or SYSTEM
    at_ms: int
    data: dict[str, Any]
    op_id: str | None = None  # the author's idempotency key

    def to_dict(self) -> dict[str, Any]:
        body = {"seq": self.seq, "kind": self.kind, "by": self.by, "at_ms": self.at_ms, "data": self.data}
        if self.op_id is not None:
            body["op_id"] = self.op_id
        return body

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Op:
        return cls(int(raw["seq"]), str(raw["kind"]), str(raw["by"]), int(raw["at_ms"]), dict(raw["data"]),
                   raw.get("op_id"))


def valid_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


def op_id_of(payload: dict[str, Any]) -> str | None:
    op_id = payload.get("op_id")
    if op_id is not None and not valid_id(op_id):
        raise OpError("bad_op", "`op_id` must be 1 to 64 characters of A-Z a-z 0-9 _ . : -")
    return op_id


def shape(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The op's data as it will be stored, from a client message or a server call; OpError if malformed.
    Rules that depend on the workspace's state (does the item exist, how big would it get) come later."""
    if kind == "chat":
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHAT_CHARS:
            raise OpError("bad_op", f"chat needs `text`, 1 to {MAX_CHAT_CHARS} characters")
        data: dict[str, Any] = {"text": text}
    elif kind in ("item.create", "item.update", "item.delete"):
        item_id = payload.get("item_id")
        if not valid_id(item_id):
            raise OpError("bad_op", "`item_id` must be 1 to 64 characters of A-Z a-z 0-9 _ . : -")
        data = {"item_id": item_id}
        if kind != "item.delete":
            data["fields"] = _fields(payload.get("fields"), allow_empty=kind == "item.create")
        if kind != "item.create" and "if_version" in payload:  # a condition, checked and not stored (IF_VERSION)
            expected = payload["if_version"]
            if not isinstance(expected, int) or isinstance(expected, bool) or expected < 1:
                raise OpError("bad_op", "`if_version` must be the item's `version` (a positive integer)")
            data[IF_VERSION] = expected
        if kind == "item.create":
            item_kind = payload.get("kind")
            if not isinstance(item_kind, str) or not item_kind:
                raise OpError("bad_op", "`kind` (the item's kind) is required")
            data["kind"] = item_kind
    else:
        raise OpError("unknown_op", f"unknown op {kind!r}")
    try:
        size = strict_json.size(data)
    except ValueError as exc:
        raise OpError("bad_op", "values must be JSON that browsers read: no NaN or Infinity") from exc
    if size > MAX_OP_BYTES:
        raise OpError("op_too_large", f"an op's data is limited to {MAX_OP_BYTES} bytes of JSON; this is {size}")
    return data


def _fields(fields: Any, allow_empty: bool) -> dict[str, Any]:
    if not isinstance(fields, dict) or len(fields) > MAX_FIELDS or (not fields and not allow_empty):
        least = 0 if allow_empty else 1
        raise OpError("bad_op", f"`fields` must be an object with {least} to {MAX_FIELDS} entries")
    for name in fields:
        if not name or len(name) > MAX_FIELD_NAME:
            raise OpError("bad_op", f"field names are 1 to {MAX_FIELD_NAME} characters")
    return dict(fields)
