"""The websocket protocol's envelopes: JSON objects with an `action` and an optional client request `id`.

Parsing is strict (domain/strict_json.py: no NaN or Infinity, bounded nesting) and every refusal carries an
error code, so clients can react instead of guessing. The `id` comes back exactly as it was sent: a string
stays a string and a number a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain import strict_json

# API Gateway refuses larger messages itself; the router checks again so the rule holds wherever it runs.
MAX_MESSAGE_BYTES = 128 * 1024
MAX_ID_CHARS = 64
MAX_SAFE_INTEGER = 2**53 - 1  # what a browser's JSON.parse keeps exactly

RequestId = str | int


class ProtocolError(Exception):
    def __init__(self, code: str, message: str, request_id: RequestId | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True)
class ClientMessage:
    """A parsed client message: its action, optional request id, and the rest of its fields."""
    action: str
    request_id: RequestId | None
    payload: dict[str, Any] = field(default_factory=dict)


def parse_client_message(raw: str | bytes | None) -> ClientMessage:
    if raw is None or raw in {"", b""}:
        raise ProtocolError("empty_message", "the message has no body")
    size = len(raw.encode("utf-8")) if isinstance(raw, str) else len(raw)
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError("message_too_large", f"messages are limited to {MAX_MESSAGE_BYTES} bytes")
    try:
        data = strict_json.loads(raw)
    except strict_json.JsonRefused as exc:
        raise ProtocolError("bad_json", f"the message is not JSON this service accepts: {exc}") from exc
    if not isinstance(data, dict):
        raise ProtocolError("bad_envelope", "the message must be a JSON object")
    request_id = data.get("id")
    if request_id is not None and not _valid_id(request_id):
        raise ProtocolError("bad_envelope", f"`id` must be a string of 1 to {MAX_ID_CHARS} characters or an "
                                            f"integer of at most {MAX_SAFE_INTEGER} in size")
    action = data.get("action")
    if not isinstance(action, str) or not action:
        raise ProtocolError("bad_envelope", "the message needs a string `action`", request_id)
    payload = {k: v for k, v in data.items() if k not in ("action", "id")}
    return ClientMessage(action=action, request_id=request_id, payload=payload)


def _valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) <= MAX_SAFE_INTEGER
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS


def server_message(action: str, request_id: RequestId | None = None, **fields: Any) -> bytes:
    body: dict[str, Any] = {"action": action, **fields}
    if request_id is not None:
        body["id"] = request_id
    return strict_json.dumps(body).encode("utf-8")


def error_message(error: ProtocolError) -> bytes:
    return server_message("error", error.request_id, error={"code": error.code, "message": error.message})
