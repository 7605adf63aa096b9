"""The fan-out's signed poster against a small HTTP server standing in for the management API: SigV4-signed
POSTs to /@connections/{id} with the raw bytes, 410 as ConnectionGone, retries on throttling and server
errors, other refusals raised."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.credentials import Credentials

from chalicelib.adapters.connection_poster import ManagementApiError, SignedConnectionPoster
from chalicelib.ports import ConnectionGone


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    answers: list[int] = []
    seen: list[tuple[str, bytes, str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Api.seen.append((self.path, body, self.headers.get("Authorization", "")))
        status = Api.answers.pop(0) if Api.answers else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def poster() -> Iterator[SignedConnectionPoster]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Api.answers, Api.seen = [], []
    yield SignedConnectionPoster(f"http://127.0.0.1:{server.server_address[1]}/api",
                                 Credentials("AKIDEXAMPLE", "secret"), "eu-west-1", None)
    server.shutdown()


def test_posts_the_bytes_signed_for_execute_api(poster):
    poster.post("Abc=", b'{"action":"chat"}')
    path, body, authorization = Api.seen[0]
    assert path == "/api/@connections/Abc%3D" and body == b'{"action":"chat"}'
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/execute-api/aws4_request" in authorization


def test_gone_connections_and_refusals(poster):
    Api.answers = [410]
    with pytest.raises(ConnectionGone) as gone:
        poster.post("c1", b"x")
    assert gone.value.connection_id == "c1"
    Api.answers = [403]
    with pytest.raises(ManagementApiError, match="403"):
        poster.post("c2", b"x")
    assert len(Api.seen) == 2  # neither is retried


def test_throttling_and_server_errors_are_retried(poster):
    Api.answers = [429, 503]
    poster.post("c3", b"x")
    assert len(Api.seen) == 3
    Api.answers = [500, 500, 500, 500]
    with pytest.raises(ManagementApiError, match="500"):
        poster.post("c4", b"x")
