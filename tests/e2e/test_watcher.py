"""A member who only watches stays a member: five minutes of joined silence (heartbeats only, as the protocol
says), in a stack whose stale bound is 5 s, so the watcher lives through sixty sweeps. Every chat reaches it
live, it stays in everyone's online list, and nobody is ever told it went offline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kalexo_client import Event, PresenceChanged, WorkspaceClient

from tests.e2e.api_client import Api
from tests.e2e.stack import LocalStack, start_stack, stop_stack
from tests.e2e.wire_record import WireRecord

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
WATCH_S, EVERY_S = 300, 5
CEILING = 60.0  # a join, or a tick's delivery, with both cores busy


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
    asyncio.run(asyncio.wait_for(_watch(stack, workspace), WATCH_S + 300))


async def _watch(stack: LocalStack, workspace: str) -> None:
    # The watcher only receives; its client heartbeats every heartbeat_ms and does nothing else.
    watched, heard = WireRecord(), list[Event]()
    watcher = WorkspaceClient(stack.ws, stack.token("bob"), workspace, wire_tap=watched)
    chatter = WorkspaceClient(stack.ws, stack.token("alice"), workspace, on_event=heard.append)
    try:
        await watcher.start(CEILING)
        assert watcher.heartbeat_ms == 1000
        await chatter.start(CEILING)
        watcher_connection = {p.connection for p in chatter.presence.values() if p.user == "bob"}
        assert len(watcher_connection) == 1
        sent: list[int] = []
        started = time.monotonic()
        while time.monotonic() - started < WATCH_S:
            sent.append((await chatter.chat(f"tick {len(sent)}")).seq)
            await asyncio.sleep(EVERY_S)  # the pace; the chatter heartbeats too: its heartbeats sweep the stale
            if len(sent) % 6 == 0:  # every half minute, someone joins and looks who is online
                looked = WireRecord()
                async with WorkspaceClient(stack.ws, stack.token("vera"), workspace, wire_tap=looked) as looker:
                    look = looked.welcomes()[0]
                    assert "bob" in look["online"] and "bob" in looker.online, look["presence"]
            assert watcher.failure is None and chatter.failure is None
            # the tick reached the watcher as a live op (not found later by a heartbeat)
            await watcher.wait_applied(sent[-1], CEILING)
            assert sent[-1] in {seq for seq, _ in watched.live}, f"tick {len(sent) - 1} not delivered live"
        assert len(sent) >= WATCH_S // EVERY_S - 2
        assert watcher.connects == 1  # never dropped, never had to come back
        offline = [e for e in heard if isinstance(e, PresenceChanged) and e.connection in watcher_connection
                   and e.offline]
        assert offline == []  # never announced as gone
        await chatter.wait_applied(sent[-1], CEILING)
        assert watcher.applied == chatter.applied and watcher.replica.snapshot() == chatter.replica.snapshot()
        assert [o.seq for o in await chatter.read_log()] == list(range(1, watcher.applied + 1))
    finally:
        await watcher.close()
        await chatter.close()
