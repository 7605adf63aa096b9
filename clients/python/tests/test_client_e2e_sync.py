"""The websocket client against the whole local stack: replicas that converge while their connections are cut
and a function instance dies mid-invocation, roles, refusals, presence and a member removed."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import requests
from conftest import Space
from kalexo_client import (
    Op,
    OpRefused,
    PresenceChanged,
    Refused,
    Synced,
    WorkspaceClient,
)
from recording import Recorder

pytestmark = pytest.mark.e2e
CEILING = 60.0
ALICE_WRITES = 60




def run(scenario: Callable[[], Awaitable[None]], ceiling: float = 300) -> None:
    asyncio.run(asyncio.wait_for(scenario(), ceiling))


async def alice_writes(alice: WorkspaceClient, acked: list[Op]) -> None:
    """Notes created, changed, emptied of a field, deleted and created again, with chat between."""
    rng, live = random.Random(17), set[str]()
    for number in range(ALICE_WRITES):
        pick = rng.random()
        if not live or pick < 0.3:
            item = f"note-{rng.randrange(8)}"
            if item in live:
                acked.append(await alice.delete_item(item))
                live.discard(item)
            else:
                acked.append(await alice.create_item(item, "note", {"text": f"n{number}", "x": number}))
                live.add(item)
        elif pick < 0.8:
            fields: dict[str, Any] = {"text": f"edit {number}", "y": number if rng.random() < 0.5 else None}
            acked.append(await alice.update_item(rng.choice(sorted(live)), fields))
        else:
            acked.append(await alice.chat(f"alice {number}"))


def test_replicas_converge_through_cut_connections_and_a_killed_function(space: Space) -> None:
    stall_url = space.stack.ws.replace("ws://", "http://").rstrip("/") + "/_local/stall"

    async def scenario() -> None:
        seen = {user: Recorder() for user in ("alice", "bob", "vera")}
        clients = {user: WorkspaceClient(space.stack.ws, space.token(user), space.workspace, on_event=seen[user])
                   for user in seen}
        alice, bob, vera = clients["alice"], clients["bob"], clients["vera"]
        alice_acked: list[Op] = []
        bob_acked: list[Op] = []

        def written(count: int) -> Callable[[], bool]:
            return lambda: len(alice_acked) >= count

        async def bob_writes() -> None:  # bursts of concurrent ops, spread over alice's writing
            for burst in range(8):
                await alice.wait_for(written(burst * 7), CEILING)
                bob_acked.extend(await asyncio.gather(
                    bob.create_item(f"bob-{burst}", "task", {"n": burst}),
                    *(bob.chat(f"bob {burst}.{k}") for k in range(3))))
                if burst % 2:
                    bob_acked.append(await bob.delete_item(f"bob-{burst - 1}"))

        async def cut(client: WorkspaceClient) -> None:
            before = client.connects
            client.drop_connection()
            await client.wait_for(lambda: client.connects > before and client.connected, CEILING)

        async def disrupt() -> None:
            for round_ in range(1, 5):
                await alice.wait_for(written(round_ * 11), CEILING)
                await cut(bob)
                if round_ % 2:
                    await cut(vera)
                if round_ == 2:  # the next two invocations die 5 ms in: the gateway answers its error frame
                    await asyncio.to_thread(requests.post, stall_url, json={"kill": True, "count": 2,
                                                                            "after_ms": 5}, timeout=10)
                if round_ == 3:
                    await cut(alice)  # while she writes

        for client in clients.values():
            await client.start(CEILING)
        try:
            await asyncio.gather(alice_writes(alice, alice_acked), bob_writes(), disrupt())
            server = await asyncio.to_thread(space.api("alice").state, space.workspace)
            for client in clients.values():
                await client.wait_applied(server["seq"], CEILING)
                assert client.replica.snapshot() == sorted(server["items"], key=lambda item: item["item_id"])
        finally:
            for client in clients.values():
                await client.close()

        assert server["seq"] == len(alice_acked) + len(bob_acked)
        for user, recorder in seen.items():
            applied = recorder.ops()
            assert [op.seq for op in applied] == list(range(1, server["seq"] + 1)), f"{user}: a gap or a repeat"
            assert not any(isinstance(e, Synced) and e.reset for e in recorder.events)
        log = {op.seq: op for op in seen["vera"].ops()}
        for op in [*alice_acked, *bob_acked]:
            assert log[op.seq] == op  # what each ack said is what is in the log, once
        assert len({(op.by, op.op_id) for op in log.values()}) == len(log)
        assert bob.connects >= 5 and vera.connects >= 3 and alice.connects >= 2
        stalls = await asyncio.to_thread(lambda: requests.get(stall_url, timeout=10).json())
        assert stalls["applied"] >= 2

    run(scenario)


def test_roles_and_refusals(space: Space) -> None:
    async def scenario() -> None:
        async with WorkspaceClient(space.stack.ws, space.token("vera"), space.workspace) as vera, \
                WorkspaceClient(space.stack.ws, space.token("bob"), space.workspace) as bob:
            assert (vera.role, bob.role) == ("viewer", "editor")
            with pytest.raises(OpRefused) as refused:
                await vera.create_item("v1", "note", {})
            assert refused.value.code == "role_too_low"
            chat = await vera.chat("viewers may chat")
            with pytest.raises(OpRefused) as refused:
                await bob.update_item("never-made", {"a": 1})
            assert refused.value.code == "item_not_found"
            await bob.wait_applied(chat.seq, CEILING)
            assert [op.text for op in bob.replica.chat] == ["viewers may chat"]

    run(scenario)


def test_presence_and_a_removed_member(space: Space) -> None:
    async def scenario() -> None:
        seen = Recorder()
        async with WorkspaceClient(space.stack.ws, space.token("alice"), space.workspace, on_event=seen) as alice:
            bob = WorkspaceClient(space.stack.ws, space.token("bob"), space.workspace)
            await bob.start(CEILING)
            await alice.wait_for(lambda: "bob" in alice.online, CEILING)
            await asyncio.to_thread(space.api("alice").remove_member, space.workspace, "bob")
            # The server closes bob's socket; the reconnect is refused at the upgrade: he stops for good.
            await bob.wait_for(lambda: bob.failure is not None, CEILING)
            assert isinstance(bob.failure, Refused) and bob.failure.status == 404
            with pytest.raises(Refused):
                await bob.chat("no longer a member")
            await bob.close()
            await alice.wait_for(lambda: "bob" not in alice.online, CEILING)
            went = [e for e in seen.events if isinstance(e, PresenceChanged) and e.user == "bob"]
            assert went[0].presence["status"] == "active" and went[-1].offline

    run(scenario)
