"""The REST API locally: Chalice's own local server, answering paths and methods no route declares the way the
deployed API Gateway does with the gateway responses `make deploy` sets (404 `not_found` in the API's error
shape, infra/gateway_responses.py), not with Chalice's imitation of API Gateway's defaults (403, quoting an
Authorization header) or http.server's 501; sending 304s without content, and quiet about clients that hang up
early."""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    LocalGatewayException,
    ThreadedHTTPServer,
)

from infra.gateway_responses import NOT_FOUND


class UnknownPath(LocalGatewayException):
    CODE = 404


class ApiGatewayLocalGateway(LocalGateway):
    """Chalice's gateway, but a path no route matches is UnknownPath, not its ForbiddenError, whose message
    quotes the Authorization header (and which fails outright on a non-ASCII one)."""

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        try:
            return super()._generate_lambda_event(method, path, headers, body)
        except ValueError as no_route:  # Chalice's route matcher's "no such route"
            raise UnknownPath({}, b"") from no_route


class ApiGatewayRequestHandler(ChaliceRequestHandler):
    def __init__(self, request: Any, client_address: Any, server: Any, app_object: Chalice, config: Config) -> None:
        self.local_gateway = ApiGatewayLocalGateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code != 501:  # 501: a method http.server has no do_<METHOD> for (TRACE, CONNECT, ...)
            super().send_error(code, message, explain)
            return
        self._send_unknown_path()

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, UnknownPath):
            self._send_unknown_path()
            return
        super()._send_error_response(error)

    def _send_unknown_path(self) -> None:
        body = NOT_FOUND.body()
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_http_response(self, code: int, headers: Any, body: str | bytes | None) -> None:
        if code != 304:
            super()._send_http_response(code, headers, body)
            return
        # A 304 has no content, and a Content-Length only if it is the 200's (RFC 9110 8.6): Chalice's server
        # would send `Content-Length: 0`, which a cache refreshing its stored headers could take as the image's.
        self.send_response(304)
        self._send_headers({k: v for k, v in headers.items() if k.lower() != "content-length"})


class QuietThreadedHTTPServer(ThreadedHTTPServer):
    """A client that hangs up before its answer is written (a health probe that timed out while the stack
    started, a browser tab closed) is normal: no traceback for it. Anything else is still reported. Many clients
    connect at once (a team opening the app, twenty uploads in parallel): socketserver's backlog of 5 would reset
    them, where API Gateway takes them all."""

    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def create_rest_server(app: Chalice, config: Config, host: str, port: int) -> LocalDevServer:
    # What chalice.local.create_local_server does, with the handler above.
    app.__class__ = type("CustomLocalChalice", (LocalChalice, app.__class__), {})
    return LocalDevServer(app, config, host, port, handler_cls=ApiGatewayRequestHandler,
                         server_cls=QuietThreadedHTTPServer)
