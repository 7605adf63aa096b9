"""Pagination cursors: DynamoDB's LastEvaluatedKey, serialised and signed together with the query it belongs
to (route, filters, caller), so a client can hand it back but cannot forge one, nor replay it on another
query, another tenant's partition or another user's session."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from chalicelib.domain.errors import BadRequest


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"cursor:" + secret.encode()).digest()

    def _sign(self, payload: bytes, scope: str) -> bytes:
        return hmac.new(self._key, scope.encode() + b"\n" + payload, hashlib.sha256).digest()[:16]

    def encode(self, key: dict[str, Any] | None, scope: str) -> str | None:
        if not key:
            return None
        payload = base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":"), sort_keys=True).encode())
        signature = self._sign(payload, scope)
        return (payload + b"." + base64.urlsafe_b64encode(signature)).decode().replace("=", "")

    def decode(self, cursor: str | None, scope: str) -> dict[str, Any] | None:
        if not cursor:
            return None
        try:
            payload_text, signature_text = cursor.split(".")
            payload = _unpad(payload_text)
            signature = base64.urlsafe_b64decode(_unpad(signature_text))
            expected = self._sign(payload, scope)
            if not hmac.compare_digest(signature, expected):
                raise ValueError("signature")
            key = json.loads(base64.urlsafe_b64decode(payload))
        except (ValueError, TypeError) as exc:
            raise BadRequest("the cursor is not one this API issued to you for this list", code="bad_cursor") from exc
        if not isinstance(key, dict):
            raise BadRequest("the cursor is not one this API issued to you for this list", code="bad_cursor")
        return key


def _unpad(text: str) -> bytes:
    return (text + "=" * (-len(text) % 4)).encode()
