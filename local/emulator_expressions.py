"""DynamoDB's refusal of expression values and names that no expression of the request uses.

DynamoDB answers `ValidationException: Value provided in ExpressionAttributeValues unused in expressions: keys:
{:now}` (and the same for ExpressionAttributeNames) to a request that defines a placeholder none of its
expressions names. moto 5.2 accepts such a request, so code that passes everywhere locally could fail on its
first call on AWS (a filter dropped from a query while its value stayed, say). The emulator refuses them as
DynamoDB does: per request, or per part of a TransactWriteItems (each part has its own placeholders).
"""

from __future__ import annotations

import json
import re
from typing import Any

_EXPRESSIONS = ("KeyConditionExpression", "FilterExpression", "ProjectionExpression", "UpdateExpression",
                "ConditionExpression")
_PLACEHOLDER = re.compile(r"[:#][A-Za-z0-9_]+")
_ACTIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "TransactWriteItems",
                      "TransactGetItems"})


def refusal(action: str, body: str) -> tuple[int, dict[str, Any], str] | None:
    """DynamoDB's answer to a request with an unused placeholder, or None when every one is used."""
    if action not in _ACTIONS:
        return None
    try:
        request = json.loads(body) if body else {}
    except ValueError:
        return None  # moto answers a body that is not JSON itself
    parts: list[dict[str, Any]] = [request]
    if action in ("TransactWriteItems", "TransactGetItems"):
        parts = [next(iter(item.values())) for item in request.get("TransactItems", []) if isinstance(item, dict)
                 and item]
    for part in parts:
        message = _unused(part) if isinstance(part, dict) else None
        if message is not None:
            return 400, {"Content-Type": "application/x-amz-json-1.0", "status": 400}, json.dumps(
                {"__type": "com.amazon.coral.validate#ValidationException", "message": message})
    return None


def _unused(part: dict[str, Any]) -> str | None:
    used = {token for name in _EXPRESSIONS for token in _PLACEHOLDER.findall(str(part.get(name) or ""))}
    for field in ("ExpressionAttributeValues", "ExpressionAttributeNames"):
        unused = sorted(set(part.get(field) or {}) - used)
        if unused:
            kind = "Value" if field == "ExpressionAttributeValues" else "Name"
            return f"{kind} provided in {field} unused in expressions: keys: {{{', '.join(unused)}}}"
    return None
