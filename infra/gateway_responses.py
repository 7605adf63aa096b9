"""API Gateway's own answers, in the API's one error shape {"error": {"code": ..., "message": ...}}.

API Gateway answers some REST requests without invoking the function: a path or method the API does not have
(403 `{"message": "Missing Authentication Token"}`, or with an `Authorization` header a message that quotes
it), a body over its 10 MB limit, throttling, a function that timed out or crashed. Its gateway responses, one
per kind on the REST API Chalice made, give those answers the API's shape and a status that says what happened:
an unknown path is 404 `not_found` (the change AWS's own guide makes for it).

`make deploy` sets them after `chalice deploy` (Chalice has no setting for them, and its update of the API
imports a whole new definition) and deploys the stage again only when one changed. The local REST server
answers unknown paths from the same table (local/rest_server.py), so a client meets one behaviour.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The routes answer CORS with "*" (cors=True): without it a web page could not read these errors either.
CORS = {"gatewayresponse.header.Access-Control-Allow-Origin": "'*'"}
# API Gateway's own message, quoted and escaped for JSON (never for the kinds that could quote a token).
GATEWAY_MESSAGE = "$context.error.messageString"
UNKNOWN_PATH = "this API has no such path, or not with this method; its operations are listed at /openapi.json"


@dataclass(frozen=True)
class GatewayAnswer:
    status: int | None  # None: the status API Gateway chose (the DEFAULT_4XX and DEFAULT_5XX kinds)
    code: str
    message: str | None  # None: API Gateway's own message
    retry_after: int | None = None

    def template(self) -> str:
        """The mapping template: static JSON, but for API Gateway's message (no `$` or `#` of our own: VTL)."""
        message = GATEWAY_MESSAGE if self.message is None else json.dumps(self.message)
        return '{"error":{"code":' + json.dumps(self.code) + ',"message":' + message + "}}"  # compact, as the app's

    def body(self) -> bytes:
        """What a client receives (the local server sends this)."""
        return json.dumps({"error": {"code": self.code, "message": self.message}}, separators=(",", ":")).encode()

    def wanted(self) -> dict[str, Any]:
        parameters = dict(CORS)
        if self.retry_after is not None:
            parameters["gatewayresponse.header.Retry-After"] = f"'{self.retry_after}'"
        wanted: dict[str, Any] = {"responseParameters": parameters,
                                  "responseTemplates": {"application/json": self.template()}}
        if self.status is not None:
            wanted["statusCode"] = str(self.status)
        return wanted


NOT_FOUND = GatewayAnswer(404, "not_found", UNKNOWN_PATH)
ANSWERS: dict[str, GatewayAnswer] = {
    "MISSING_AUTHENTICATION_TOKEN": NOT_FOUND,
    # With an Authorization header that is not a SigV4 signature, API Gateway reads the request for an unknown
    # path as a bad signature. No method here uses IAM signatures, so this kind means an unknown path too.
    "INVALID_SIGNATURE": NOT_FOUND,
    "REQUEST_TOO_LARGE": GatewayAnswer(413, "payload_too_large",
                                       "the request is larger than API Gateway accepts (10 MB)"),
    "THROTTLED": GatewayAnswer(429, "too_many_requests", "too many requests to this API; retry in a second",
                               retry_after=1),
    "INTEGRATION_TIMEOUT": GatewayAnswer(504, "timeout", "no answer within API Gateway's 29 seconds; the request "
                                                         "may have been carried out, so read before retrying"),
    "DEFAULT_4XX": GatewayAnswer(None, "bad_request", None),
    "DEFAULT_5XX": GatewayAnswer(None, "internal_server_error", None),
}


def _current(gateway: Any, rest_api_id: str, kind: str) -> dict[str, Any]:
    try:
        answer: dict[str, Any] = gateway.get_gateway_response(restApiId=rest_api_id, responseType=kind)
    except gateway.exceptions.NotFoundException:  # an emulator lists only the kinds that were set
        return {}
    return answer


def _differs(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Only what is set is compared: AWS may report a status for a kind set without one (DEFAULT_4XX)."""
    return bool(current.get("defaultResponse", True)) or any(current.get(k) != v for k, v in wanted.items())


def apply(gateway: Any, rest_api_id: str, stage: str, say: Callable[[str], None]) -> int:
    """Sets the kinds that differ from ANSWERS, then deploys the stage if any did. Returns how many changed."""
    changed = 0
    for kind, answer in ANSWERS.items():
        wanted = answer.wanted()
        if not _differs(_current(gateway, rest_api_id, kind), wanted):
            continue
        gateway.put_gateway_response(restApiId=rest_api_id, responseType=kind, **wanted)
        changed += 1
    if changed:
        gateway.create_deployment(restApiId=rest_api_id, stageName=stage,
                                  description="gateway responses in the API's error shape")
        say(f"  {changed} of API Gateway's own answers set in the API's error shape; stage {stage} deployed")
    else:
        say(f"  API Gateway's own answers: in the API's error shape ({len(ANSWERS)} kinds)")
    return changed
