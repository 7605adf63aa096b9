"""Sync under faults on purpose, through the real local stack: concurrent writers, function instances paused
and killed mid-invocation (local/stalls.py), DynamoDB writes that fail before or after they happen
(local/emulator_dynamodb.py), and readers joining, resuming and paging throughout. Every intermediate answer
is checked against the final log, not only the end state:

- every fresh join's state is exactly the log's prefix up to its `seq`;
- every history page and every resume is a contiguous run that starts right after what was asked;
- the log has no hole, every acknowledged op is in it once, and nothing refused is;
- clients that joined late and followed live end with the same state.

The clients are kalexo_client's (the product's Python client); a wire tap records what the server answered.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from kalexo_client import Op, OpRefused, WorkspaceClient

from tests.e2e.api_client import Api
from tests.e2e.wire_record import WireRecord, replay

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
WRITERS, OPS_EACH, ITEMS = 4, 40, 6
CEILING = 120.0  # a join, an ack or a catch-up, while function instances are paused and killed on purpose


def new_workspace(stack, name: str) -> str:
    alice = Api(stack, stack.token("alice"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": name}, status=201)["workspace_id"]
    alice.ok("PUT", f"/admin/workspaces/{workspace}/members/bob", {"role": "editor"})
    return workspace


def stall(stack, **order) -> None:
    requests.post(f"http://127.0.0.1:{stack.ports['ws']}/_local/stall", json=order, timeout=10).raise_for_status()


def random_op(rng: random.Random) -> dict:
    item = f"item-{rng.randrange(ITEMS)}"
    kind = rng.choice(["item.create", "item.update", "item.update", "item.delete", "chat"])
    if kind == "chat":
        return {"action": "chat", "text": f"hello {rng.random():.6f}"}
    if kind == "item.delete":
        return {"action": kind, "item_id": item}
    body = {"action": kind, "item_id": item, "fields": {rng.choice("abcd"): rng.choice([rng.randrange(1000), None])}}
    if kind == "item.create":
        body["kind"] = rng.choice(["note", "task"])
    return body


async def submit(client: WorkspaceClient, body: dict, op_id: str) -> Op:
    action = body["action"]
    if action == "chat":
        return await client.chat(body["text"], op_id=op_id)
    if action == "item.create":
        return await client.create_item(body["item_id"], body["kind"], body["fields"], op_id=op_id)
    if action == "item.update":
        return await client.update_item(body["item_id"], body["fields"], op_id=op_id)
    return await client.delete_item(body["item_id"], op_id=op_id)


@dataclass
class Writer:
    user: str
    record: WireRecord
    client: WorkspaceClient
    acked: dict[str, int] = field(default_factory=dict)  # op id -> seq
    refused: dict[str, str] = field(default_factory=dict)  # op id -> error code


def _failed_transactions(stack) -> int:
    """TransactWriteItems answered 500 so far, from the emulator's request log."""
    log = Path(stack.cfg.state_path) / "emulator.log"
    return log.read_text(errors="replace").count('" 500 - DynamoDB_20120810.TransactWriteItems')


def test_writers_stalls_kills_and_failed_writes_leave_every_answer_a_prefix_of_one_log(stack):
    workspace = new_workspace(stack, f"Faults {uuid.uuid4().hex[:6]}")
    asyncio.run(asyncio.wait_for(_scenario(stack, workspace), 840))


async def _scenario(stack, workspace: str) -> None:
    done = asyncio.Event()
    records: list[WireRecord] = []
    clients: list[WorkspaceClient] = []

    def client(user: str) -> tuple[WorkspaceClient, WireRecord]:
        record = WireRecord()
        made = WorkspaceClient(stack.ws, stack.token(user), workspace, wire_tap=record)
        records.append(record)
        clients.append(made)
        return made, record

    def new_writer(user: str) -> Writer:
        made, record = client(user)
        return Writer(user, record, made)

    writers = [new_writer(("alice", "bob")[i % 2]) for i in range(WRITERS)]
    readers: list[WireRecord] = []
    followers = [client("bob")[0] for _ in range(2)]
    rest_states: list[dict] = []

    async def write(index: int) -> None:
        writer, rng = writers[index], random.Random(index)
        await writer.client.start(CEILING)
        for n in range(OPS_EACH):
            if rng.random() < 0.08:  # a dropped connection; the client reconnects, resumes and sends it again
                writer.client.drop_connection()
            op_id = f"w{index}-{n}"
            try:
                writer.acked[op_id] = (await submit(writer.client, random_op(rng), op_id)).seq
            except OpRefused as refused:
                writer.refused[op_id] = refused.code

    async def read() -> None:  # fresh joins, resumes and history pages from random points, all the while
        rng = random.Random(99)
        while not done.is_set():
            reader, record = client("bob")
            readers.append(record)
            await reader.start(CEILING)
            await asyncio.sleep(0.3)  # receiving and applying what the writers write meanwhile
            before = reader.connects
            reader.drop_connection()  # a resume from where it was
            await reader.wait_for(lambda: reader.connects > before and reader.connected, CEILING)  # noqa: B023
            await reader.history(rng.randrange(reader.applied + 1), limit=20)  # recorded by its wire tap
            await reader.close()

    async def follow(follower: WorkspaceClient) -> None:  # late joiners that stay and apply ops live (and heartbeat)
        await asyncio.sleep(2)
        await follower.start(CEILING)

    async def rest_reads() -> None:
        api = Api(stack, stack.token("alice"))
        while not done.is_set():
            rest_states.append(await asyncio.to_thread(api.ok, "GET", f"/admin/workspaces/{workspace}/state"))
            await asyncio.sleep(1.0)

    async def faults() -> None:
        rng = random.Random(5)
        stack.cfg.faults_path.write_text(json.dumps([
            {"action": "TransactWriteItems", "contains": workspace, "when": "after", "probability": 0.1, "count": 12},
            {"action": "TransactWriteItems", "contains": workspace, "when": "before", "probability": 0.1,
             "count": 12}]))
        while not done.is_set():
            await asyncio.to_thread(stall, stack, seconds=round(rng.uniform(0.3, 1.5), 2),
                                    after_ms=rng.randrange(0, 25), kill=rng.random() < 0.15)
            await asyncio.sleep(rng.uniform(0.3, 1.0))

    failed_before = _failed_transactions(stack)
    helpers = [asyncio.create_task(work) for work in (read(), rest_reads(), faults(), *map(follow, followers))]
    try:
        await asyncio.gather(*(write(i) for i in range(WRITERS)))
    finally:
        done.set()
        await asyncio.gather(*helpers, return_exceptions=True)
        stack.cfg.faults_path.unlink(missing_ok=True)
    for helper in helpers:
        if helper.exception() is not None:
            raise helper.exception()  # type: ignore[misc]
    applied = (await asyncio.to_thread(requests.get, f"http://127.0.0.1:{stack.ports['ws']}/_local/stall",
                                       timeout=10)).json()["applied"]
    try:
        assert applied >= 5  # function instances really were paused and killed while this ran
        # Transactions of this workspace did fail, some after they were applied: botocore sent each again under
        # its ClientRequestToken, which the emulator (as DynamoDB) answers without applying it twice (the
        # assertions below: no op stored twice, each acknowledged at the sequence it holds).
        assert _failed_transactions(stack) > failed_before

        observer, _ = client("alice")
        await observer.start(CEILING)
        log = await observer.read_log()
        seqs = [o.seq for o in log]
        assert seqs == list(range(1, len(log) + 1))  # no hole
        stored = {(o.by, o.op_id): o.seq for o in log}
        assert len(stored) == len(log)  # no op stored twice
        for writer in writers:
            assert len(writer.acked) + len(writer.refused) == OPS_EACH  # every op was answered
            for op_id, seq in writer.acked.items():
                assert stored[(writer.user, op_id)] == seq  # acknowledged means stored, at that sequence
            assert not any((writer.user, op_id) in stored for op_id in writer.refused)  # refused means not stored

        for record in records:  # each intermediate answer
            for seq, items in record.states():
                assert items == replay(log, seq), f"a join's state at {seq} is not the log's prefix"
            for after, page in record.pages():
                assert page == list(range(after + 1, after + 1 + len(page))), f"page after {after}: {page}"
            assert all(size < 128 * 1024 for size in record.frames)
        assert len(readers) >= 3 and sum(len(r.states()) for r in readers) >= 3
        for state in rest_states:
            assert state["items"] == replay(log, state["seq"])
        final = replay(log, len(log))
        for member in [*followers, *(w.client for w in writers)]:  # late joiners and writers converge
            await member.wait_applied(len(log), CEILING)
            assert member.replica.snapshot() == final
    finally:
        for made in clients:
            await made.close()
