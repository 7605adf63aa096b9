"""The websocket protocol's envelopes: JSON objects with an `action` and an optional client request `id`.

Parsing is strict and every refusal carries an error code, so clients can react instead of guessing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

# API Gateway refuses larger messages itself; the router checks again so the rule holds wherever it runs.
MAX_MESSAGE_BYTES = 128 * 1024


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class ClientMessage:
    action: str
    request_id: str | None
    payload: dict[str, Any] = field(default_factory=dict)


def parse_client_message(raw: str | bytes | None) -> ClientMessage:
    if raw is None or raw in {"", b""}:
        raise ProtocolError("empty_message", "the message has no body")
    size = len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw)
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError("message_too_large", f"messages are limited to {MAX_MESSAGE_BYTES} bytes")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError("bad_json", f"the message is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ProtocolError("bad_envelope", "the message must be a JSON object")
    request_id = data.get("id")
    if request_id is not None and not isinstance(request_id, (str, int)):
        raise ProtocolError("bad_envelope", "`id` must be a string or an integer")
    rid = None if request_id is None else str(request_id)
    action = data.get("action")
    if not isinstance(action, str) or not action:
        raise ProtocolError("bad_envelope", "the message needs a string `action`", rid)
    payload = {k: v for k, v in data.items() if k not in ("action", "id")}
    return ClientMessage(action=action, request_id=rid, payload=payload)


def server_message(action: str, request_id: str | None = None, **fields: Any) -> bytes:
    body: dict[str, Any] = {"action": action, **fields}
    if request_id is not None:
        body["id"] = request_id
    return json.dumps(body, separators=(",", ":"), default=str).encode("utf-8")


def error_message(error: ProtocolError) -> bytes:
    return server_message("error", error.request_id, error={"code": error.code, "message": error.message})
