"""Strict JSON both ways, as the protocol asks (docs/protocol.md, "Messages"), and the client's own limits."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import Any

from kalexo_client.errors import LocalRefusal

# API Gateway limits a frame to 32 KB and closes a connection that sends a message over 128 KB (1009). A client
# that sent such an op would be closed, reconnect, send it again and be closed again for ever: refuse it here.
MAX_MESSAGE_BYTES = 32 * 1024
OP_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


TOKEN_IN_URL = re.compile(r"(token=)[^&\s'\"]+")


def redact(text: str) -> str:
    """The text with every `token=...` query value hidden: URLs end up in error messages and logs."""
    return TOKEN_IN_URL.sub(r"\1<redacted>", text)


class MessageTooLarge(LocalRefusal):
    """A message this client will not send: over the gateway's 32 KB frame (code `op_too_large`)."""

    def __init__(self, message: str) -> None:
        super().__init__("op_too_large", message)


class BadValue(LocalRefusal):
    """A message this client will not send: a value JSON cannot carry (NaN, Infinity; code `bad_value`)."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_value", message)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} twice in one object")
        out[key] = value
    return out


def loads(text: str | bytes) -> Any:
    """Parse one message strictly: no NaN or Infinity, no key twice (the server never sends either)."""
    return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_refuse_duplicates)


def dumps(message: Mapping[str, Any]) -> str:
    """Compact JSON, UTF-8 as itself, refusing NaN and Infinity and anything past the frame limit."""
    try:
        text = json.dumps(message, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except ValueError as exc:  # NaN or Infinity; TypeError (not JSON at all) stays the caller's bug
        raise BadValue(str(exc)) from exc
    size = len(text.encode())
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"message of {size} bytes: the gateway takes at most {MAX_MESSAGE_BYTES} per frame")
    return text


def compact_size(value: Any) -> int:
    """Bytes of compact JSON in UTF-8: how the server measures an op's data and an item's fields."""
    return len(json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode())


def new_op_id() -> str:
    """An op id unique among this user's ops in a workspace (a UUID, in the allowed characters)."""
    return f"py-{uuid.uuid4().hex}"


def check_op_id(op_id: str) -> str:
    if not OP_ID.match(op_id):
        raise ValueError(f"op_id must be 1 to 64 characters of A-Z a-z 0-9 _ . : - (got {op_id!r})")
    return op_id


def op_message(body: Mapping[str, Any], workspace: str, op_id: str | None, if_version: int | None) -> dict[str, Any]:
    """An op as sent: its op id (given and checked, or new) is its request id too; `if_version` only if given."""
    op_id = check_op_id(op_id) if op_id is not None else new_op_id()
    condition = {} if if_version is None else {"if_version": if_version}
    return {**body, **condition, "workspace": workspace, "op_id": op_id, "id": op_id}
