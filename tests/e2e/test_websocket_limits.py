"""API Gateway's websocket limits, idle timeout and maximum connection duration, on a stack of their own whose
limits are seconds (3 s idle, 8 s per connection) so they can be watched happen; the shared stack keeps AWS's
own (10 min, 2 h) so that no other test's connection is closed under it on a slow machine."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.stack import LocalStack, start_stack, stop_stack

pytestmark = pytest.mark.e2e
IDLE_TIMEOUT_S = 3.0
MAX_CONNECTION_S = 8.0


@pytest.fixture(scope="module")
def short_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    state: Path = tmp_path_factory.mktemp("limits")
    running = start_stack(state, "--workers", "1", "--idle-timeout", str(IDLE_TIMEOUT_S),
                          "--max-connection", str(MAX_CONNECTION_S))
    try:
        yield running
    finally:
        stop_stack(running)


def ping(ws) -> dict:
    ws.send(json.dumps({"action": "ping", "id": "r1"}))
    return json.loads(ws.recv(timeout=60))


def test_idle_connections_are_closed_with_1001(short_stack):
    with connect(f"{short_stack.ws}/?token={short_stack.token('alice')}") as ws:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=IDLE_TIMEOUT_S + 60)  # a generous ceiling: a loaded machine runs the watchdog late
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert closed.value.rcvd.reason == "Idle timeout reached"
        assert time.monotonic() - started >= IDLE_TIMEOUT_S - 0.5  # never before the idle timeout


def test_busy_connections_still_end_at_the_maximum_duration(short_stack):
    with connect(f"{short_stack.ws}/?token={short_stack.token('alice')}") as ws:
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() - started < MAX_CONNECTION_S + 60:
                ping(ws)
                time.sleep(IDLE_TIMEOUT_S / 3)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
        assert "Maximum" in closed.value.rcvd.reason
        assert time.monotonic() - started >= MAX_CONNECTION_S - 0.5

