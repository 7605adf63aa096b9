"""A member who only watches stays a member: five minutes of joined silence (heartbeats only, as the protocol
says), in a stack whose stale bound is 5 s, so the watcher lives through sixty sweeps. Every chat reaches it
live, it stays in everyone's online list, and nobody is ever told it went offline."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.api_client import Api
from tests.e2e.stack import LocalStack, start_stack, stop_stack
from tests.e2e.sync_client import SyncClient, whole_log

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
WATCH_S, EVERY_S = 300, 5


@pytest.fixture(scope="module")
def quiet_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """API Gateway's own idle (10 min) and duration (2 h) limits, and a short stale bound (5 s, heartbeat 1 s)."""
    state: Path = tmp_path_factory.mktemp("watcher")
    running = start_stack(state, "--workers", "1", settings={"KALEXO_PRESENCE_STALE_SECONDS": "5"})
    try:
        yield running
    finally:
        stop_stack(running)


def test_a_member_who_only_watches_stays_online_and_gets_every_chat_live(quiet_stack):
    stack = quiet_stack
    alice = Api(stack, stack.token("alice"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": "Watched"}, status=201)["workspace_id"]
    for user in ("bob", "vera"):
        alice.ok("PUT", f"/admin/workspaces/{workspace}/members/{user}", {"role": "viewer"})
    watcher = SyncClient(stack.ws, stack.token("bob"), workspace)
    chatter = SyncClient(stack.ws, stack.token("alice"), workspace)
    assert watcher.connect()["heartbeat_ms"] == 1000
    watcher_connection = {p["connection"] for p in chatter.connect()["presence"] if p["user"] == "bob"}
    assert len(watcher_connection) == 1
    done, errors = threading.Event(), []

    def watch() -> None:
        try:
            while not done.is_set():
                watcher.poll(0.5)  # receives, and heartbeats every heartbeat_ms: nothing else
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=watch)
    thread.start()
    sent: list[int] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < WATCH_S:
            sent.append(chatter.write({"action": "chat", "text": f"tick {len(sent)}"})["seq"])
            chatter.poll(EVERY_S)  # the chatter heartbeats too: its heartbeats are what sweep the stale
            if len(sent) % 6 == 0:  # every half minute, someone joins and looks who is online
                looker = SyncClient(stack.ws, stack.token("vera"), workspace)
                look = looker.connect()
                looker.close()
                assert "bob" in look["online"], look["presence"]
            assert not errors, errors
            # the tick before the last reached the watcher as a live op (not found later by a heartbeat)
            assert sent[-1] in {seq for seq, _ in watcher.live}, f"tick {len(sent) - 1} not delivered live"
    finally:
        done.set()
        thread.join(timeout=30)
    assert not errors, errors
    assert len(sent) >= WATCH_S // EVERY_S - 2
    offline = [p for p in chatter.presence_seen if p["connection"] in watcher_connection
               and p["presence"]["status"] == "offline"]
    assert offline == []  # never announced as gone
    assert watcher.state.view() == chatter.state.view()
    assert [o["seq"] for o in whole_log(chatter)] == list(range(1, watcher.state.seq + 1))
    watcher.close()
    chatter.close()
