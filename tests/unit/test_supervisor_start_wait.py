"""A start waits for the gateway as long as a busy machine needs, not a fixed minute: an outside tester's restart
at load 20 on two cores took 75 s, was given up at 60 s and took the whole stack down with it. The wait still
ends at once when a child dies, and says while it waits that it is waiting."""

from __future__ import annotations

import socket

import pytest

from local import supervisor
from local.__main__ import main as local_main
from local.config import RuntimeConfig


class ChildDied(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_wait_goes_on_past_a_minute_by_default_and_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    assert RuntimeConfig(state_dir="").start_timeout_s >= 300
    said: list[str] = []
    monkeypatch.setattr(supervisor, "log", lambda who, text: said.append(text))
    monkeypatch.setattr(supervisor, "SAY_EVERY_S", 0.0)  # what a slow start says every 30 s
    looks = [0]

    def check() -> None:
        looks[0] += 1
        if looks[0] > 3:  # the gateway dies while it is awaited: the wait ends at once, with the child's error
            raise ChildDied("gateway exited with 1")

    port = _free_port()
    with pytest.raises(ChildDied):
        supervisor._wait_http(f"http://127.0.0.1:{port}/health", 600, check)
    assert any("still waiting" in text and "--start-timeout" in text for text in said), said


def test_a_short_timeout_still_gives_up_with_the_url_named() -> None:
    port = _free_port()
    with pytest.raises(RuntimeError, match=f"127.0.0.1:{port}/health did not come up"):
        supervisor._wait_http(f"http://127.0.0.1:{port}/health", 0.3, lambda: None)


def test_the_option_is_offered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        local_main(["run", "--help"])
    assert "--start-timeout" in capsys.readouterr().out
