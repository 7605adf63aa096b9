"""The client's outbox against the in-process fake router: refusals it makes itself, a rate limit that pauses
every send (not a retry storm), a token refused at a reconnect, and its own presence."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from kalexo_client import KalexoError, LocalRefusal, Refused
from recording import Recorder
from routing import CEILING, client, routed, run


def test_ops_the_client_will_not_send_are_documented_refusals() -> None:
    async def scenario() -> None:
        async with routed() as (router, url), client(url, "alice") as alice:
            with pytest.raises(LocalRefusal) as large:
                await alice.chat("x" * 40_000)
            with pytest.raises(LocalRefusal) as nan:
                await alice.create_item("n1", "note", {"x": float("nan")})
            assert (large.value.code, nan.value.code) == ("op_too_large", "bad_value")
            for error in (large.value, nan.value):
                assert isinstance(error, KalexoError) and isinstance(error, Refused) and isinstance(error, ValueError)
            assert alice.unanswered == 0 and not [m for _, m in router.received if m.get("action") == "chat"]

    run(scenario)


def test_a_rate_limit_pauses_the_whole_outbox_instead_of_a_retry_storm() -> None:
    """150 ops at once against 20 a second (bursts of 40): each refusal used to be resent on its own timer, all
    together, so the refusals fed each other (1,244 messages for 150 ops). Now a refusal pauses all sending
    and the rest go out paced: about 150 messages and a few refusals."""

    async def scenario() -> None:
        async with routed(per_second=20.0) as (router, url), client(url, "alice") as alice:
            acked = await asyncio.wait_for(asyncio.gather(*[alice.chat(f"x {i}") for i in range(150)]), 120)
            assert sorted(op.seq for op in acked) == list(range(1, 151))
            assert [op.text for op in sorted(acked, key=lambda op: op.seq)] == [f"x {i}" for i in range(150)]
            sent = [m for _, m in router.received if m.get("action") == "chat"]
            assert 150 <= len(sent) <= 150 + 30, len(sent)

    run(scenario)


def test_a_refused_token_stops_the_client_unless_a_token_function_has_a_fresh_one() -> None:
    """A local stack started afresh signs with a new key: the old token is `invalid_token` at the reconnect.
    A fixed token stops the client (Refused); a token function that now gives another token carries on, and
    the welcome's reset replaces the replica (Synced(reset=True))."""

    async def scenario() -> None:
        current = ["alice"]
        seen = Recorder()
        async with routed() as (router, url), client(url, "alice") as fixed, \
                client(url, lambda: current[0], seen) as refreshed:
            await fixed.chat("before the restart")
            await refreshed.wait_applied(1, CEILING)
            router.refused_tokens.add("alice")
            router.reset_log()
            current[0] = "alice-new"
            router.cut_all()
            await refreshed.wait_for(lambda: any(s.reset for s in seen.synced()), CEILING)
            assert refreshed.applied == 0 and refreshed.failure is None
            with pytest.raises(Refused) as refused:
                await fixed.wait_for(lambda: False, CEILING)
            assert refused.value.code == "invalid_token"

    run(scenario)


def test_own_presence_is_what_was_last_announced() -> None:
    async def scenario() -> None:
        async with routed() as (router, url), client(url, "alice") as alice:
            assert alice.own_presence == {"status": "active"}
            await alice.set_presence("away", cursor={"x": 1.0, "y": 2.0})
            assert alice.own_presence == {"status": "away", "cursor": {"x": 1.0, "y": 2.0}}
            # the welcome named this connection: its presence entry is what was announced, not the join's
            assert alice.connection_id is not None
            assert alice.presence[alice.connection_id].presence == alice.own_presence

            def announced() -> list[dict[str, Any]]:
                return [m for _, m in router.received if m.get("action") == "presence"]

            async def until_announced() -> None:
                while not announced():
                    await asyncio.sleep(0.01)  # the router runs on this loop: let it read

            await asyncio.wait_for(until_announced(), CEILING)
            assert announced()[-1]["status"] == "away"

    run(scenario)
