"""The websocket API: $connect authenticates, $default hands every message to the router, $disconnect
forgets the connection. Replies go out through the management API, never as a handler's return value.

The decorated handlers live in app.py, one line each: Chalice does not wrap websocket handlers registered
on a Blueprint (its websocket_api is unset at decoration time), so Lambda would call them with the raw
(event, context) and fail. The local runtime found this; keep them in app.py.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from chalice.app import Chalice, Response, WebsocketEvent

from chalicelib.adapters.notifier import endpoint_from_event
from chalicelib.container import get_container
from chalicelib.domain.errors import ApiError
from chalicelib.observability import logger


class ConnectRequest(NamedTuple):  # not a dataclass: cheaper to create at import (routes/api.py says why)
    """What a websocket $connect event carries: connection, token, source address and workspace."""
    connection_id: str
    token: str | None
    source_ip: str
    workspace_id: str | None

    @classmethod
    def from_event(cls, event: WebsocketEvent) -> ConnectRequest:
        raw = event.to_dict()
        query = raw.get("queryStringParameters") or {}
        identity = raw.get("requestContext", {}).get("identity", {})
        return cls(event.connection_id, query.get("token"), str(identity.get("sourceIp", "")),
                   query.get("workspace") or None)


def management_endpoint(event: WebsocketEvent) -> str:
    """The settings' endpoint where one is configured (workers need it too), else the event's own API."""
    settings = get_container().settings
    context = event.to_dict()["requestContext"]
    return settings.websocket_endpoint or endpoint_from_event(context["apiId"], context["stage"], settings.region)


def configure_websocket_api(app: Chalice) -> None:
    """Point app.websocket_api at the configured endpoint so it works outside websocket handlers as well
    (Chalice only configures it from an incoming websocket event; chalice issues 1357 and 1991)."""
    container = get_container()
    app.websocket_api.session = container.clients.chalice_session()
    endpoint = container.settings.websocket_endpoint
    if endpoint:
        parts = urlsplit(endpoint)
        app.websocket_api.configure(parts.netloc, parts.path.strip("/"))


def connect(event: WebsocketEvent) -> Response:
    request = ConnectRequest.from_event(event)
    try:
        actor = get_container().connections.connect(request.connection_id, request.token, request.source_ip,
                                                    request.workspace_id)
    except ApiError as exc:
        logger.info("websocket connect refused", extra={"code": exc.code, "source_ip": request.source_ip})
        # 429 too_many_requests past the address's budget of failed logins, with Retry-After (and its message
        # says when to retry too).
        retry_after = getattr(exc, "retry_after", None)
        return Response(status_code=exc.status, body={"error": {"code": exc.code, "message": exc.message}},
                        headers={"Retry-After": str(retry_after)} if retry_after is not None else None)
    # Debug: the connection is in the event log already (ws.connected), and an info line would import Powertools
    # at every $connect cold start (chalicelib/observability.py).
    logger.debug("websocket connected", extra={"user_id": actor.user_id, "workspace_id": request.workspace_id})
    return Response(status_code=200, body="")


def message(event: WebsocketEvent) -> None:
    get_container().router(management_endpoint(event)).handle(event.connection_id, event.body)


def disconnect(event: WebsocketEvent) -> None:
    context = event.to_dict()["requestContext"]
    at = context.get("requestTimeEpoch")  # when the gateway saw it end (ms), not when this function runs
    get_container().disconnections.disconnect(event.connection_id, context.get("disconnectStatusCode"),
                                              at / 1000 if isinstance(at, int | float) else None)
