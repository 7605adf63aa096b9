"""The client algorithm against the in-process fake router: gaps, paging, lost acks, the gateway's error frame,
rate limits, refusals, heartbeats, rejoins and resets. Every wait is on an event, with a generous ceiling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from kalexo_client import (
    OpApplied,
    OpRefused,
    OpRejected,
    Refused,
    SyncWorkspaceClient,
    WorkspaceClient,
)
from recording import Recorder
from routing import CEILING, client, routed, run


def test_a_held_fanout_is_a_gap_that_history_fills() -> None:
    async def scenario() -> None:
        seen = Recorder()
        async with routed() as (router, url), client(url, "alice") as alice, client(url, "bob", seen) as bob:
            router.hold_fanout = 3
            for number in range(5):
                await alice.chat(f"message {number}")
            await bob.wait_applied(5, CEILING)
            assert seen.seqs() == [1, 2, 3, 4, 5]
            assert any(m["action"] == "history" for u, m in router.received if u == "bob")

    run(scenario)


def test_state_pages_and_a_paged_resume() -> None:
    async def scenario() -> None:
        async with routed(page=2) as (router, url), client(url, "alice") as alice:
            for number in range(7):
                await alice.create_item(f"n{number}", "note", {"i": number})
            async with client(url, "bob") as bob:  # a state of seven items, two a page
                assert bob.replica.snapshot() == router.state.snapshot()
                bob.drop_connection()
                for number in range(7):
                    await alice.update_item(f"n{number}", {"i": None, "j": number})
                await bob.wait_applied(14, CEILING)  # resumed: two ops in the welcome, then history pages
                assert bob.replica.snapshot() == router.state.snapshot()
                assert [m.get("since") for m in router.joins("bob")] == [None, 7]

    run(scenario)


@pytest.mark.parametrize("fault", ["lose_ack", "gateway_errors", "rate_limits"])
def test_an_unanswered_op_is_sent_again_and_stored_once(fault: str) -> None:
    async def scenario() -> None:
        seen = Recorder()
        async with routed() as (router, url), client(url, "bob", seen) as bob:
            await bob.chat("first")
            setattr(router, fault, 1)
            acked = await asyncio.wait_for(bob.create_item("n", "note", {"t": 1}, op_id="b-1"), CEILING)
            assert acked.seq == 2 and acked.op_id == "b-1"
            assert [op["op_id"] for op in router.log].count("b-1") == 1
            assert seen.seqs() == [1, 2]
            assert bob.unanswered == 0

    run(scenario)


def test_refusals_are_raised_and_not_sent_again() -> None:
    async def scenario() -> None:
        seen = Recorder()
        async with routed() as (router, url), client(url, "bob", seen) as bob:
            await bob.create_item("n", "note", {})
            with pytest.raises(OpRefused) as refused:
                await bob.create_item("n", "note", {}, op_id="dup-create")
            assert refused.value.code == "item_exists"
            rejected = [e for e in seen.events if isinstance(e, OpRejected)]
            assert [(e.op_id, e.code) for e in rejected] == [("dup-create", "item_exists")]
            await bob.chat("after")  # the connection goes on; the refused op was sent once
            assert sum(1 for _, m in router.received if m.get("op_id") == "dup-create") == 1

    run(scenario)


def test_ops_made_offline_go_out_in_order_after_the_reconnect() -> None:
    async def scenario() -> None:
        async with routed() as (router, url), client(url, "bob") as bob:
            router.silent = True  # nothing answered: the writes below wait in the outbox
            writes = [asyncio.create_task(bob.chat(f"offline {n}")) for n in range(4)]
            await bob.wait_for(lambda: bob.unanswered == 4, CEILING)
            router.silent = False
            bob.drop_connection()
            acked = await asyncio.wait_for(asyncio.gather(*writes), CEILING)
            assert [op.text for op in acked] == [f"offline {n}" for n in range(4)]
            assert [op.seq for op in acked] == [1, 2, 3, 4]

    run(scenario)


def test_silence_after_a_heartbeat_means_a_dead_connection() -> None:
    async def scenario() -> None:
        async with routed() as (router, url), client(url, "bob", heartbeat_interval=0.1,
                                                     heartbeat_timeout=0.5) as bob:
            router.silent = True
            await bob.wait_for(lambda: bob.connects >= 2, CEILING)  # it gave up on the silent one
            router.silent = False
            await bob.wait_for(lambda: bob.connected, CEILING)
            assert (await bob.chat("back")).seq == 1

    run(scenario)


def test_not_joined_on_a_heartbeat_rejoins_with_since() -> None:
    async def scenario() -> None:
        async with routed() as (router, url), client(url, "bob", heartbeat_interval=0.05) as bob:
            await bob.chat("one")
            router.not_joined_pings = 1
            await bob.wait_for(lambda: len(router.joins("bob")) == 2, CEILING)
            assert router.joins("bob")[1]["since"] == 1
            assert bob.connects == 1  # the same connection

    run(scenario)


def test_a_reset_log_is_noticed_on_resume_and_on_a_pong() -> None:
    async def scenario() -> None:
        seen = Recorder()
        async with routed() as (router, url), client(url, "alice") as alice, \
                client(url, "bob", seen, heartbeat_interval=0.05) as bob:
            for number in range(3):
                await alice.create_item(f"old{number}", "note", {})
            await bob.wait_applied(3, CEILING)
            router.reset_log()  # a pong now says latest 0 < applied 3: bob resumes, and the welcome says reset
            await alice.create_item("new", "task", {"t": 1})
            await bob.wait_for(lambda: any(s.reset for s in seen.synced()), CEILING)
            await bob.wait_for(lambda: "new" in bob.items, CEILING)
            assert bob.replica.snapshot() == router.state.snapshot()
            assert not bob.replica.chat

    run(scenario)


def test_a_refused_connect_fails_the_client() -> None:
    async def scenario() -> None:
        async with routed(refuse_upgrade=404) as (_, url):
            bob = WorkspaceClient(url, "bob", "w")
            with pytest.raises(Refused) as refused:
                await bob.start(CEILING)
            assert (refused.value.code, refused.value.status) == ("not_found", 404)
            await bob.close()

    run(scenario)


def test_the_synchronous_wrapper() -> None:
    def as_a_script(url: str) -> str | None:  # no event loop in this thread: the wrapper runs its own
        with SyncWorkspaceClient(url, "bob", "w") as bob:
            op = bob.create_item("n", "note", {"a": 1}, timeout=CEILING)
            assert op.seq == 1
            assert bob.items["n"].fields == {"a": 1, "by": "bob"}  # the author, as the server writes it
            assert bob.applied == 1
            assert any(isinstance(e, OpApplied) and e.own for e in bob.events(timeout=0.01))
            return op.op_id

    async def scenario() -> None:
        async with routed() as (router, url):
            op_id = await asyncio.to_thread(as_a_script, url)
            assert router.log[0]["op_id"] == op_id

    run(scenario)


def test_the_log_page_by_page_a_wire_tap_and_a_closed_client_started_again() -> None:
    async def scenario() -> None:
        seen, wire = Recorder(), list[tuple[str, dict[str, Any]]]()
        async with routed(page=2) as (router, url), client(url, "alice") as alice:
            for number in range(5):
                await alice.chat(f"m{number}")
            bob = WorkspaceClient(url, "bob", "w", on_event=seen,
                                  wire_tap=lambda direction, text: wire.append((direction, json.loads(text))))
            await bob.start(CEILING)
            page = await bob.history(1, limit=10)  # the router pages by two
            assert (page.after, [op.seq for op in page.ops], page.more, page.latest_seq) == (1, [2, 3], True, 5)
            assert [op.text for op in await bob.read_log()] == [f"m{n}" for n in range(5)]
            assert bob.applied == 5 and seen.seqs() == []  # the replica came from the welcome's state, untouched
            sent = [m for direction, m in wire if direction == "sent"]
            received = [m for direction, m in wire if direction == "received"]
            assert sent[0]["action"] == "join" and received[0]["action"] == "welcome"
            assert received[0]["id"] == sent[0]["id"]
            assert [m["after"] for m in sent if m["action"] == "history"] == [1, 0, 2, 4]
            await bob.close()
            await alice.chat("while bob was away")
            await bob.start(CEILING)  # closed, then started again: a resume from its replica
            await bob.wait_applied(6, CEILING)
            assert [s.fresh for s in seen.synced()] == [True, False] and seen.seqs() == [6]
            assert [m.get("since") for m in router.joins("bob")] == [None, 5]
            await bob.close()

    run(scenario)


def test_ops_that_arrive_out_of_order_are_applied_in_order_without_asking_history() -> None:
    async def scenario() -> None:
        seen = Recorder()
        async with routed() as (router, url), client(url, "alice") as alice, client(url, "bob", seen) as bob:
            router.swap_fanout = 1  # op 1 reaches bob just after op 2, as parallel posts can
            await alice.chat("first")
            await alice.chat("second")
            await bob.wait_applied(2, CEILING)
            assert seen.seqs() == [1, 2]
            assert not any(m["action"] == "history" for u, m in router.received if u == "bob")

    run(scenario)


def test_clients_that_connect_together_do_not_heartbeat_together() -> None:
    async def scenario() -> None:
        first_ping: dict[int, float] = {}
        all_beat = asyncio.Event()

        def tap_of(number: int) -> Callable[[str, str], None]:
            def tap(direction: str, text: str) -> None:
                if direction == "sent" and json.loads(text)["action"] == "ping":
                    first_ping.setdefault(number, asyncio.get_running_loop().time())
                    if len(first_ping) == 10:
                        all_beat.set()
            return tap

        async with routed() as (_, url):
            clients = [WorkspaceClient(url, f"u{n}", "w", heartbeat_interval=1.0, wire_tap=tap_of(n))
                       for n in range(10)]
            try:
                await asyncio.gather(*(c.start(CEILING) for c in clients))
                await asyncio.wait_for(all_beat.wait(), CEILING)
            finally:
                await asyncio.gather(*(c.close() for c in clients))
        # Each first beat falls at a random point of the second half of its first interval: ten within 0.1 s of
        # each other would happen about once in 200,000 runs.
        assert max(first_ping.values()) - min(first_ping.values()) > 0.1

    run(scenario)
