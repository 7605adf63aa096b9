"""API Gateway websocket event shapes ($connect, messages, $disconnect) as the Lambda proxy sends them."""

from __future__ import annotations

import base64
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from multidict import MultiMapping


def new_connection_id() -> str:
    # API Gateway ids look like 'L0SM9cOFvHcCIhw=': 16 characters of base64. URL-safe here so the id can
    # travel in a management API path without escaping surprises.
    return base64.urlsafe_b64encode(os.urandom(11)).decode()


@dataclass
class ConnectionInfo:
    connection_id: str
    source_ip: str
    user_agent: str
    connected_at_ms: int = field(default_factory=lambda: int(time.time() * 1000))


@dataclass(frozen=True)
class ApiInfo:
    api_id: str
    stage: str
    domain_name: str


def _request_time(epoch_ms: int) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(epoch_ms / 1000))


def _context(api: ApiInfo, conn: ConnectionInfo, route_key: str, event_type: str) -> dict[str, Any]:
    now_ms = int(time.time() * 1000)
    request_id = uuid.uuid4().hex[:16]
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": _request_time(now_ms),
        "messageDirection": "IN",
        "stage": api.stage,
        "connectedAt": conn.connected_at_ms,
        "requestTimeEpoch": now_ms,
        "identity": {"sourceIp": conn.source_ip, "userAgent": conn.user_agent},
        "requestId": request_id,
        "domainName": api.domain_name,
        "connectionId": conn.connection_id,
        "apiId": api.api_id,
    }


def _headers(headers: MultiMapping[str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers.items():
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def connect_event(api: ApiInfo, conn: ConnectionInfo, headers: MultiMapping[str],
                  query: MultiMapping[str]) -> dict[str, Any]:
    single_h, multi_h = _headers(headers)
    single_q, multi_q = _headers(query)
    return {
        "headers": single_h,
        "multiValueHeaders": multi_h,
        "queryStringParameters": single_q or None,
        "multiValueQueryStringParameters": multi_q or None,
        "requestContext": _context(api, conn, "$connect", "CONNECT"),
        "isBase64Encoded": False,
    }


def message_event(api: ApiInfo, conn: ConnectionInfo, route_key: str, data: str | bytes) -> dict[str, Any]:
    context = _context(api, conn, route_key, "MESSAGE")
    context["messageId"] = uuid.uuid4().hex[:16]
    if isinstance(data, bytes):
        return {"requestContext": context, "body": base64.b64encode(data).decode(), "isBase64Encoded": True}
    return {"requestContext": context, "body": data, "isBase64Encoded": False}


def disconnect_event(api: ApiInfo, conn: ConnectionInfo, status_code: int, reason: str,
                     at_ms: int | None = None) -> dict[str, Any]:
    """`at_ms`: when the connection ended, if not now (one the gateway lost in a restart)."""
    context = _context(api, conn, "$disconnect", "DISCONNECT")
    if at_ms is not None:
        context["requestTimeEpoch"], context["requestTime"] = at_ms, _request_time(at_ms)
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    # API Gateway sends a fixed set of headers on $disconnect, not the client's original ones.
    headers = {"Host": api.domain_name, "x-api-key": "", "X-Forwarded-For": conn.source_ip, "x-restapi": ""}
    return {"headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "requestContext": context, "isBase64Encoded": False}
