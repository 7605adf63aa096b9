"""GET /openapi.json (OpenAPI 3.1, built from the routes' own declarations) and GET /docs, a readable page of
it rendered on the server: no script from a CDN, nothing to install, works offline."""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.routes import schemas as s
from chalicelib.routes.api import OPERATIONS, Operation
from chalicelib.settings import get_settings

bp = Blueprint(__name__)

_ERRORS = {"400": "bad input (error.code says what)", "401": "no valid bearer token",
           "403": "not allowed, or over quota", "404": "not found, or another tenant's",
           "409": "conflicts with the current state (never with another tenant's data)",
           "413": "too large: the body (payload_too_large), or an upload (upload_too_large)",
           "429": "too many requests"}


def _operation(op: Operation) -> dict[str, Any]:
    params = [{"name": name, "in": "path", "required": True, "schema": s.ID}
              for name in re.findall(r"{(\w+)}", op.path)]
    params += [{"name": p.name, "in": "query", "required": False, "description": p.description,
                "schema": p.schema()} for p in op.query]
    success: dict[str, Any] = {"description": "OK"}
    if op.status != 204:
        success["content"] = {"application/json": {"schema": op.response or {"type": "object"}}}
    responses = {str(op.status): success}
    responses.update({code: {"description": text, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}} for code, text in _ERRORS.items()})
    operation: dict[str, Any] = {"operationId": op.name, "summary": op.summary, "tags": [op.tag],
                                 "parameters": params, "responses": responses}
    if op.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
    if not op.auth:
        operation["security"] = []
    return operation


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kalexo Teamwork API", "version": "1",
                 "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
                 "description": "Accounts, users, workspaces, members, usage and the event log. Every error is "
                                '{"error": {"code": ..., "message": ...}} (every code is listed in the '
                                "project's docs/errors.md). Authenticate with "
                                "`Authorization: Bearer <token>`. No answer discloses another tenant's data: "
                                "their resources answer 404, ids are chosen by the server, and emails are unique "
                                "within an account only. Failed authentications are limited per source address "
                                "(429 with Retry-After past the budget). A method a path does not have answers "
                                "405 with an `Allow` header (HEAD is answered wherever GET is); a path the API "
                                "does not have answers 404 `not_found` (from API Gateway, as do its own refusals: "
                                "413 over 10 MB, 429 throttled, 504 after 29 s)."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
                       "schemas": {"Error": s.ERROR}},
        "security": [{"bearer": []}],
        "paths": paths,
    }


@bp.route("/openapi.json", methods=["GET"], cors=True)
def openapi_json() -> Response:
    return Response(status_code=200, body=document(), headers={"Content-Type": "application/json"})


def _source_offer() -> str:
    """The AGPL asks a network service to offer its users the source of the version they use."""
    url = get_settings().source_url
    where = f"<a href='{html.escape(url, quote=True)}'>download it</a>" if url else "ask the operator for it"
    return (f"<p>Kalexo Teamwork is free software under the GNU Affero General Public License, version 3 or "
            f"later; you may have the source of this service: {where}.</p>")


@bp.route("/docs", methods=["GET"])
def docs() -> Response:
    rows = []
    for path, methods in document()["paths"].items():
        for method, op in methods.items():
            params = ", ".join(f"{p['name']} ({p['in']})" for p in op["parameters"]) or "none"
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            body_html = f"<pre>{html.escape(json.dumps(body, indent=1))}</pre>" if body else ""
            rows.append(f"<tr><td><b>{method.upper()}</b></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(op['summary'])}<br><small>parameters: {html.escape(params)}</small>"
                        f"{body_html}</td></tr>")
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Kalexo Teamwork API</title><style>"
        "body{font:15px system-ui;margin:2em;max-width:70em}td{vertical-align:top;padding:.4em;"
        "border-bottom:1px solid #ddd}pre{font-size:12px;background:#f6f6f6;padding:.5em}</style></head><body>"
        "<h1>Kalexo Teamwork API</h1><p>Machine-readable: <a href='openapi.json'>openapi.json</a>. "
        "Send <code>Authorization: Bearer &lt;token&gt;</code>. Errors are "
        "<code>{\"error\": {\"code\", \"message\"}}</code>.</p>" + _source_offer() + "<table>" + "".join(rows)
        + "</table></body></html>")
    return Response(status_code=200, body=page, headers={"Content-Type": "text/html; charset=utf-8"})
