"""TransactWriteItems' `ClientRequestToken` in the emulator's DynamoDB, as DynamoDB documents it.

botocore gives every TransactWriteItems call a token of its own (the parameter is an idempotency token in the
API model) and sends the same token when it retries the call. DynamoDB answers a request whose token it has
seen complete within the last 10 minutes with success and changes nothing (a different request under the same
token is refused: IdempotentParameterMismatch). So a transaction that was applied but whose answer was lost (a
timeout, a 500 after the write) is not applied twice by the client's retry. moto ignores the token and would
apply the retry again: the op log's ops without an op id, which claim nothing (chalicelib/adapters/
dynamo_oplog.py), rely on the token for exactly this case, so the emulator keeps it too.

Tokens are kept in this process's memory: a retry that straddles a restart of the emulator is applied again.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from typing import Any

WINDOW_S = 600.0  # DynamoDB: "valid for 10 minutes after the first request that uses it is completed"
# token -> (completed at, a digest of the request without it, the answer), oldest first: expiry pops from the
# front and stops at the first live token, so it costs nothing per request however many tokens are held.
_seen: OrderedDict[str, tuple[float, str, Any]] = OrderedDict()
_lock = threading.Lock()


def _request(body: str) -> tuple[str | None, str]:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None, ""
    token = parsed.pop("ClientRequestToken", None) if isinstance(parsed, dict) else None
    digest = hashlib.sha256(json.dumps(parsed, sort_keys=True).encode()).hexdigest()
    return (str(token) if token else None), digest


def _mismatch() -> Any:
    body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                       "message": "the ClientRequestToken was used for another request"})
    return 400, {"Content-Type": "application/x-amz-json-1.0", "status": 400}, body


def answered(action: str, body: str) -> Any | None:
    """The answer to a retried transaction (its token seen, completed, within the window), else None."""
    if action != "TransactWriteItems":
        return None
    token, request = _request(body)
    if token is None:
        return None
    now = time.monotonic()
    with _lock:
        while _seen and now - next(iter(_seen.values()))[0] > WINDOW_S:
            _seen.popitem(last=False)
        seen = _seen.get(token)
    if seen is None:
        return None
    return seen[2] if seen[1] == request else _mismatch()


def completed(action: str, body: str, result: Any) -> None:
    """Remember a transaction that was applied (a cancelled one changed nothing: its retry is checked again)."""
    if action != "TransactWriteItems" or int(result[0]) >= 300:
        return
    token, request = _request(body)
    if token is not None:
        with _lock:
            _seen[token] = (time.monotonic(), request, result)
            _seen.move_to_end(token)
