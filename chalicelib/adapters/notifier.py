"""ConnectionNotifier over API Gateway's @connections management API."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Protocol

from chalicelib.port_types import ConnectionGone

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient


class Poster(Protocol):
    def post(self, connection_id: str, data: bytes) -> None: ...


class ManagementApiNotifier:
    """Sends through `poster` when given (the fan-out's fast path, connection_poster.py), else the client."""

    def __init__(self, client: ApiGatewayManagementApiClient, poster: Poster | None = None) -> None:
        self._client = client
        self._poster = poster

    def send(self, connection_id: str, data: bytes) -> None:
        if self._poster is not None:
            self._poster.post(connection_id, data)
            return
        try:
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except self._client.exceptions.GoneException as exc:
            raise ConnectionGone(connection_id) from exc

    def close(self, connection_id: str) -> None:
        # Already closed is the outcome the caller wanted.
        with contextlib.suppress(self._client.exceptions.GoneException):
            self._client.delete_connection(ConnectionId=connection_id)


def endpoint_from_event(api_id: str, stage: str, region: str) -> str:
    """The management endpoint API Gateway serves for a websocket API (what Chalice derives itself)."""
    return f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}"
