"""Issue 14's finding on request bodies, on every REST operation that takes one, through the real local stack:
JSON nested 30,000 deep (60 KB, once a RecursionError and a 500), and bodies holding NaN or Infinity (once
stored, and written back as JSON no browser can parse). Each is answered 400 `bad_json` with a message,
by a caller who may use the route, and changes nothing: no event recorded, and a cheap read of the resource
is the same after as before.

The operations are named here, not only read from the OpenAPI document, so that each is a test of its own;
`test_every_operation_with_a_body_is_covered` fails when the live document gains one this list lacks."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from tests.e2e.api_client import SAMPLE_PATH, assert_error, operations, sample_body

pytestmark = pytest.mark.e2e

BODY_OPERATIONS = (
    ("POST", "/admin/accounts"),
    ("PATCH", "/admin/accounts/{account_id}"),
    ("POST", "/admin/accounts/{account_id}/users"),
    ("PATCH", "/admin/users/{user_id}"),
    ("POST", "/admin/users/{user_id}/tokens"),
    ("POST", "/admin/accounts/{account_id}/workspaces"),
    ("PATCH", "/admin/workspaces/{workspace_id}"),
    ("POST", "/admin/workspaces/{workspace_id}/restore"),
    ("PUT", "/admin/workspaces/{workspace_id}/members/{user_id}"),
    ("POST", "/workspaces/{workspace_id}/documents/{document_id}/reprocess"),
    ("POST", "/workspaces/{workspace_id}/reprocess"),
    ("POST", "/workspaces/{workspace_id}/uploads"),
    ("POST", "/workspaces/{workspace_id}/documents/{document_id}/upload/status"),
    ("POST", "/workspaces/{workspace_id}/documents/{document_id}/upload/complete"),
    ("POST", "/workspaces/{workspace_id}/documents/{document_id}/upload/abort"),
)
DEPTH = 30_000
# Events only workers record, later and on their own (an earlier test's upload being tiled): not this request's.
BACKGROUND_EVENTS = ("upload.received", "upload.refused", "document.analysed", "document.ready", "document.failed")


def concrete(template: str) -> str:
    return template.format(**SAMPLE_PATH)


def caller(path: str) -> str:
    """A user the route lets in: the platform admin for the admin API (creating accounts is theirs alone),
    alice, owner of ws-demo and administrator of acc-demo, for its documents."""
    return "admin" if path.startswith("/admin/") else "alice"


@pytest.fixture(scope="module")
def live_operations(stack) -> dict[tuple[str, str], dict[str, Any]]:
    """(method, concrete path) -> the operation as the stack's OpenAPI document describes it."""
    return {(method, path): op for method, path, op in operations(stack)}


def test_every_operation_with_a_body_is_covered(live_operations):
    with_body = {key for key, op in live_operations.items() if "requestBody" in op}
    assert with_body == {(method, concrete(path)) for method, path in BODY_OPERATIONS}


def send(stack, method: str, path: str, user: str, text: str | None = None, **query: Any) -> requests.Response:
    """One request with a raw body, sent again when the caller's per-minute budget says to come back later
    (the shared stack allows 150 requests a minute per user, and these tests send more)."""
    headers = {"Authorization": f"Bearer {stack.token(user)}", "Content-Type": "application/json"}
    deadline = time.monotonic() + 120
    while True:
        response = requests.request(method, stack.rest + path, data=text, params=query or None, headers=headers,
                                    timeout=30)
        if response.status_code != 429 or time.monotonic() > deadline:
            return response
        time.sleep(max(1, int(response.headers.get("Retry-After", "1"))))


def with_constant(op: dict[str, Any], constant: str) -> str:
    """The operation's sample body with `constant` (NaN, Infinity) where a number belongs, or inside a free-form
    object (workspace settings, reprocess options), so that only the constant makes the body wrong."""
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    properties: dict[str, Any] = schema.get("properties", {})
    body: dict[str, Any] = dict(sample_body(op) or {})
    marker = "__not_a_number__"
    numeric = [name for name, p in properties.items() if p.get("type") in ("number", "integer")]
    objects = [name for name, p in properties.items() if p.get("type") == "object"]
    if numeric:
        body[numeric[0]] = marker
    elif objects:
        body[objects[0]] = {"zoom": marker}
    else:
        body[next(iter(properties))] = marker
    text = json.dumps(body).replace(f'"{marker}"', constant)
    assert constant in text
    return text


def readable_state(stack, path: str, user: str, live: dict[tuple[str, str], dict[str, Any]]) -> Any:
    """A cheap read of what the route would change: the GET of its path or the nearest path above it that has
    one (a user's tokens: the user; a restore: the workspace); None where the API has no such read."""
    while path and ("GET", path) not in live:
        path = path.rsplit("/", 1)[0]
    if not path:
        return None
    response = send(stack, "GET", path, user)  # a 404 counts too: the sample document is still not there
    assert response.status_code in (200, 404), (path, response.status_code, response.text)
    return path, response.status_code, response.json()


def events_by(stack, user: str, since_ms: int) -> list[dict[str, Any]]:
    """Events `user` caused since `since_ms`, as they can read them (their own account, or all for admin)."""
    response = send(stack, "GET", "/admin/events", user, since_ms=since_ms, limit=100)
    assert response.status_code == 200, response.text
    return [e for e in response.json()["items"]
            if e["actor_id"] == user and e["type"] not in BACKGROUND_EVENTS]


CASES = {
    "deep": ("[" * DEPTH + "]" * DEPTH, "nested deeper than"),
    "nan": ("NaN", "NaN"),
    "infinity": ("Infinity", "Infinity"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize(("method", "template"), BODY_OPERATIONS, ids=[f"{m} {p}" for m, p in BODY_OPERATIONS])
def test_bad_json_is_refused_with_400_and_changes_nothing(stack, live_operations, method, template, case):
    path = concrete(template)
    op = live_operations[(method, path)]
    user = caller(path)
    payload, said = CASES[case]
    text = payload if case == "deep" else with_constant(op, payload)
    if case == "deep":
        assert len(text.encode()) == 2 * DEPTH  # 60 KB, under the 64 KB body limit: the parser sees it whole
    before = readable_state(stack, path, user, live_operations)
    since_ms = int(time.time() * 1000) - 1
    response = send(stack, method, path, user, text)
    assert assert_error(response, 400) == "bad_json", (method, path, case)
    message = response.json()["error"]["message"]
    assert said in message, message
    assert readable_state(stack, path, user, live_operations) == before
    assert events_by(stack, user, since_ms) == []


def test_the_same_body_with_a_number_is_accepted_and_seen_as_a_change(stack, live_operations):
    """The constant is what the API refuses, not the body around it: with 600 in its place the request
    succeeds, and the event check above sees it (so its silence for refused bodies means something)."""
    path = concrete("/admin/users/{user_id}/tokens")
    since_ms = int(time.time() * 1000) - 1
    response = send(stack, "POST", path, caller(path), with_constant(live_operations[("POST", path)], "600"))
    assert response.status_code == 201, response.text
    assert [e["type"] for e in events_by(stack, caller(path), since_ms)] == ["user.token_issued"]
