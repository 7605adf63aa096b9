"""A small REST client for the end-to-end tests, and example values for every route of the live API."""

from __future__ import annotations

import re
import time
from typing import Any

import jsonschema
import requests

from tests.e2e.stack import LocalStack

SAMPLE_PATH = {"account_id": "acc-demo", "user_id": "bob", "workspace_id": "ws-demo",
               "document_id": "doc-0000000000000000", "page": "0"}
SAMPLE_FIELDS: dict[str, Any] = {"name": "Sample", "email": "sample@example.test", "plan": "free",
                                 "role": "viewer", "ttl_seconds": 600, "settings": {}, "filename": "plan.pdf",
                                 "size": 1000, "content_type": "application/pdf", "upload_token": "not-a-token"}


class Api:
    def __init__(self, stack: LocalStack, token: str | None) -> None:
        self.base = stack.rest
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body: Any = None, **query: Any) -> requests.Response:
        return requests.request(method, self.base + path, json=body, params=query or None,
                                headers=self.headers, timeout=15)

    def ok(self, method: str, path: str, body: Any = None, status: int = 200, **query: Any) -> Any:
        """The answer's JSON, after checking its status and that it is what the live OpenAPI document
        describes for it (a client written from that document must be able to rely on it)."""
        response = self.call(method, path, body, **query)
        waited = 0
        # A polite client: a 429 says when to come back (tests of the limit itself expect 429 or use call()).
        while response.status_code == 429 and status != 429 and waited < 120:
            pause = max(1, int(response.headers.get("Retry-After", "1")))
            time.sleep(pause)
            waited += pause
            response = self.call(method, path, body, **query)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        answer = response.json() if response.content else None
        schema = response_schema(self.base, method, path, status)
        if schema is not None and answer is not None:
            errors = sorted(str(e.message) for e in jsonschema.Draft202012Validator(schema).iter_errors(answer))
            assert not errors, (method, path, "answer differs from the OpenAPI document", errors[:5])
        return answer


_OPERATIONS: dict[str, list[tuple[re.Pattern[str], str, dict[str, Any]]]] = {}


def response_schema(base: str, method: str, path: str, status: int) -> dict[str, Any] | None:
    """The live OpenAPI document's schema of `status`'s JSON answer to `method path`, if it gives one."""
    if base not in _OPERATIONS:
        document = requests.get(f"{base}/openapi.json", timeout=10).json()
        found = [(re.compile(re.sub(r"{\w+}", "[^/]+", template)), name.upper(), op, template.count("{"))
                 for template, methods in document["paths"].items() for name, op in methods.items()]
        _OPERATIONS[base] = [(pattern, name, op) for pattern, name, op, _ in sorted(found, key=lambda f: f[3])]
    for pattern, name, op in _OPERATIONS[base]:  # the most specific template (fewest parameters) first
        if name == method and pattern.fullmatch(path.partition("?")[0]):
            content = op.get("responses", {}).get(str(status), {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            return schema if isinstance(schema, dict) else None
    return None


def operations(stack: LocalStack) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, concrete path, operation) for every operation of the live OpenAPI document."""
    document = requests.get(f"{stack.rest}/openapi.json", timeout=10).json()
    found = []
    for template, methods in document["paths"].items():
        path = re.sub(r"{(\w+)}", lambda m: SAMPLE_PATH[m.group(1)], template)
        for method, op in methods.items():
            found.append((method.upper(), path, op))
    return found


def sample_body(op: dict[str, Any]) -> dict[str, Any] | None:
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    role_enum = schema.get("properties", {}).get("role", {}).get("enum", [])
    body = {name: SAMPLE_FIELDS[name] for name in schema.get("required", [])}
    if "role" in body and "viewer" not in role_enum:
        body["role"] = "member"
    return body


def assert_error(response: requests.Response, *statuses: int) -> str:
    assert response.status_code in statuses, (response.request.method, response.url, response.status_code,
                                              response.text)
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return str(body["error"]["code"])


def wait_until(check: Any, what: str, timeout: float = 120) -> Any:
    """The first truthy answer of `check`, asked every half second; a generous ceiling, never a fixed sleep
    standing in for an event."""
    import pytest

    deadline = time.time() + timeout
    while time.time() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"timed out waiting for {what} ({timeout} s)")
