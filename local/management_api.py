"""API Gateway's @connections management API (POST, GET, DELETE /{stage}/@connections/{id}) over HTTP,
answering like execute-api: IAM-signed requests only, 410 GoneException for unknown or closed connections,
413 over 128 KB, so boto3's apigatewaymanagementapi client and Chalice's WebsocketAPI work unchanged."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from local.ws_gateway import LiveConnection, WebsocketGateway


def _error(status: int, error_type: str, message: str | None) -> web.Response:
    return web.json_response({"message": message}, status=status, headers={"x-amzn-ErrorType": error_type})


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"


class ManagementApi:
    def __init__(self, gateway: WebsocketGateway) -> None:
        self._gateway = gateway

    def add_routes(self, app: web.Application) -> None:
        # Only under the stage, as execute-api serves it: https://{api}.execute-api.{region}.amazonaws.com/{stage}
        path = f"/{self._gateway.api.stage}" + "/@connections/{connection_id}"
        app.router.add_post(path, self.post)
        app.router.add_get(path, self.get)
        app.router.add_delete(path, self.delete)

    def _live(self, request: web.Request) -> tuple[LiveConnection | None, web.Response | None]:
        if not request.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
            return None, _error(403, "ForbiddenException", "Missing Authentication Token")
        live = self._gateway.live.get(request.match_info["connection_id"])
        if live is None or live.ws.closed:
            return None, _error(410, "GoneException", None)
        return live, None

    async def post(self, request: web.Request) -> web.Response:
        live, error = self._live(request)
        if live is None:
            assert error is not None
            return error
        data = await request.read()
        if len(data) > self._gateway.limits.max_message_bytes:
            return _error(413, "PayloadTooLargeException", "Message too long")
        try:
            await self._gateway.send(live, data)
        except ConnectionError:
            return _error(410, "GoneException", None)
        return web.Response(status=200)

    async def get(self, request: web.Request) -> web.Response:
        live, error = self._live(request)
        if live is None:
            assert error is not None
            return error
        # The wire names are lower camel case (botocore's locationName), as execute-api sends them.
        body: dict[str, Any] = {
            "connectedAt": _iso(live.info.connected_at_ms / 1000),
            "identity": {"sourceIp": live.info.source_ip, "userAgent": live.info.user_agent},
            "lastActiveAt": _iso(live.last_active_wall),
        }
        return web.json_response(body)

    async def delete(self, request: web.Request) -> web.Response:
        live, error = self._live(request)
        if live is None:
            assert error is not None
            return error
        await self._gateway.close(live, 1000, "Connection deleted by the backend")
        return web.Response(status=204)
