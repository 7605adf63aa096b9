"""The first invocation of a cold start, for `bench.cold_start`: one representative event per function kind, handed
to the function's Lambda handler in the fresh interpreter after its import (and build), with every HTTP request
answered in-process.

The app builds much of what a function needs on first use (services, clients, PyJWT, fastjsonschema), so
import + build alone would flatter it: this is the part a user waits for before the first answer as well.

`TRANSPORT` runs inside the sample: it replaces urllib3's `HTTPConnectionPool.urlopen`, which both botocore and
the fan-out's signed poster send through, with a tiny DynamoDB that answers from the request's key: the user,
the connection and the membership the events name exist; queries find nothing; writes succeed. So each request
goes through botocore's whole client pipeline (serialise, sign, parse) and the app's whole path, minus the
network. The bare app's route reads one item through the same stub.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt

CONFIG = Path(__file__).resolve().parent.parent / ".chalice" / "config.json"
# The Lambda function each kind runs as: its own settings in .chalice/config.json apply to its samples, as on
# Lambda (the websocket functions' KALEXO_SERVES keeps app.py from registering the REST blueprints).
FUNCTION_OF_KIND = {"REST API (admin, documents)": "api_handler", "websocket $default": "websocket_message",
                    "websocket $connect": "websocket_connect", "maintenance schedule": "purge_expired_events",
                    "ingest (uploads queue)": "ingest_uploads", "tiling worker": "tile_pages"}


def function_env(kind: str, stage: str = "dev") -> dict[str, str]:
    """The per-function environment variables the kind's function is deployed with (none for the bare app)."""
    functions = json.loads(CONFIG.read_text())["stages"][stage]["lambda_functions"]
    own: dict[str, str] = functions.get(FUNCTION_OF_KIND.get(kind, ""), {}).get("environment_variables", {})
    return dict(own)


SECRET = "bench-signing-secret-of-32-bytes-or-more"  # KALEXO_JWT_SECRET in the samples' environment
USER, ACCOUNT, WORKSPACE, CONNECTION = "u_bench", "acc_bench", "w_bench", "c_bench"

TRANSPORT = f"""
import io, json, urllib3.connectionpool, urllib3.response

ROWS = {{
    "USER#{USER}": {{"user_id": "{USER}", "account_id": "{ACCOUNT}", "email": "b@example.com", "name": "B",
                   "role": "member", "created_at": 0}},
    "CONN#{CONNECTION}": {{"connection_id": "{CONNECTION}", "user_id": "{USER}", "workspace_id": "{WORKSPACE}",
                         "member_of": "{WORKSPACE}"}},
    "WORKSPACE#{WORKSPACE}": {{"workspace_id": "{WORKSPACE}", "account_id": "{ACCOUNT}", "name": "W",
                             "created_at": 0, "settings_json": "{{}}"}},
}}
MEMBER = {{"workspace_id": "{WORKSPACE}", "user_id": "{USER}", "account_id": "{ACCOUNT}", "role": "owner",
          "added_at": 0}}


def _typed(row):
    return {{k: ({{"N": str(v)}} if isinstance(v, int) else {{"S": v}}) for k, v in row.items()}}


def _answer(target, body):
    operation = target.rsplit(".", 1)[-1]
    request = json.loads(body or b"{{}}")
    if operation == "GetItem":
        key = {{k: next(iter(v.values())) for k, v in request.get("Key", {{}}).items()}}
        row = MEMBER if str(key.get("sk", "")).startswith("MEMBER#") else ROWS.get(str(key.get("pk", "")))
        return {{"Item": _typed({{**key, **row}})}} if row else {{}}
    if operation == "Query":
        return {{"Items": [], "Count": 0, "ScannedCount": 0}}
    if operation == "UpdateItem":  # the row as it is now (a heartbeat asks for ALL_NEW), or a counter
        key = {{k: next(iter(v.values())) for k, v in request.get("Key", {{}}).items()}}
        row = ROWS.get(str(key.get("pk", ""))) if request.get("ReturnValues") == "ALL_NEW" else None
        return {{"Attributes": _typed({{**key, **row}}) if row else {{"n": {{"N": "1"}}}}}}
    return {{}}


def _urlopen(self, method, url, body=None, headers=None, **kwargs):
    target = dict(headers or {{}}).get("X-Amz-Target", "")
    target = target.decode() if isinstance(target, bytes) else target
    payload = json.dumps(_answer(target, body)).encode() if target else b""
    return urllib3.response.HTTPResponse(body=io.BytesIO(payload), status=200, preload_content=False, headers={{
        "Content-Type": "application/x-amz-json-1.0", "Content-Length": str(len(payload))}})


urllib3.connectionpool.HTTPConnectionPool.urlopen = _urlopen
"""


def token() -> str:
    now = int(time.time())
    claims = {"iss": "kalexo", "sub": USER, "acc": ACCOUNT, "roles": [], "iat": now - 60, "exp": now + 3600,
              "jti": uuid.uuid4().hex}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def _context() -> dict[str, Any]:
    return {"requestId": "r-1", "apiId": "a1b2c3d4e5", "stage": "api", "identity": {"sourceIp": "192.0.2.1"},
            "domainName": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "connectionId": CONNECTION}


def _rest(path: str, resource: str, params: dict[str, str], bearer: str | None) -> dict[str, Any]:
    headers = {"host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "accept": "application/json",
               **({"authorization": f"Bearer {bearer}"} if bearer else {})}
    return {"resource": resource, "path": path, "httpMethod": "GET", "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()}, "queryStringParameters": None,
            "multiValueQueryStringParameters": None, "pathParameters": params or None, "stageVariables": None,
            "body": None, "isBase64Encoded": False,
            "requestContext": {**_context(), "resourcePath": resource, "httpMethod": "GET", "path": f"/api{path}"}}


def _websocket(route: str, event_type: str, body: str | None = None,
               query: dict[str, str] | None = None) -> dict[str, Any]:
    return {"requestContext": {**_context(), "routeKey": route, "eventType": event_type},
            "body": body, "isBase64Encoded": False, "queryStringParameters": query}


def events() -> dict[str, tuple[str, dict[str, Any]]]:
    """Per kind: the handler's name in its module (as Chalice packages it) and the first event it gets."""
    bearer = token()
    documents = f"/workspaces/{WORKSPACE}/documents"
    return {
        "bare chalice + boto3": ("app", _rest("/", "/", {}, None)),
        # A member lists a workspace's documents: token verified, user and membership read, rate counted.
        "REST API (admin, documents)": ("app", _rest(documents, "/workspaces/{workspace_id}/documents",
                                                     {"workspace_id": WORKSPACE}, bearer)),
        # A heartbeat in a workspace: connection, user and membership read, row touched, latest sequence.
        "websocket $default": ("ws_message", _websocket("$default", "MESSAGE", json.dumps(
            {"action": "ping", "id": "1", "workspace": WORKSPACE}))),
        # A member connects with a token to a workspace.
        "websocket $connect": ("ws_connect", _websocket("$connect", "CONNECT", None,
                                                        {"token": bearer, "workspace": WORKSPACE})),
    }
