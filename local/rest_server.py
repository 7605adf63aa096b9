"""The REST API locally: Chalice's own local server, answering methods no route declares the way API
Gateway does (403 "Missing Authentication Token"), not with http.server's 501, sending 304s without content,
and quiet about clients that hang up early."""

from __future__ import annotations

import json
import sys
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LocalChalice, LocalDevServer, ThreadedHTTPServer


class ApiGatewayRequestHandler(ChaliceRequestHandler):
    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code != 501:  # 501: a method http.server has no do_<METHOD> for (TRACE, CONNECT, ...)
            super().send_error(code, message, explain)
            return
        body = json.dumps({"message": "Missing Authentication Token"}).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", "MissingAuthenticationTokenException")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
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
