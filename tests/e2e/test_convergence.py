"""Convergence under concurrency, through the real local stack: 10 clients each apply 100 random ops to
overlapping items of one workspace, with random forced disconnects and resumes. Every client ends with the
server's state, nothing acknowledged is lost, and nothing is applied twice.

The clients are kalexo_client's WorkspaceClient (the product's Python client, which runs the protocol's client
algorithm); the test stack also ends every connection after 8 s, as API Gateway does after 2 hours."""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
from kalexo_client import Event, Op, OpApplied, OpRefused, WorkspaceClient

from tests.e2e.api_client import Api
from tests.e2e.wire_record import WireRecord

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]  # slow on a loaded machine, never timed
CLIENTS, OPS, ITEMS = 10, 100, 8
CEILING = 120.0  # a join, an ack or a catch-up, with both cores busy


@dataclass
class Member:
    client: WorkspaceClient
    rng: random.Random
    acked: dict[int, Op] = field(default_factory=dict)
    refused: int = 0  # ops refused against the state they would have followed: another got there first
    applied: list[int] = field(default_factory=list)  # every op applied, in the order applied

    def random_op(self) -> tuple[str, dict[str, Any]]:
        item = f"item-{self.rng.randrange(ITEMS)}"
        kind = self.rng.choice(["item.create", "item.update", "item.update", "item.update", "item.delete", "chat"])
        if kind == "chat":
            return kind, {"text": f"hello {self.rng.random()}"}
        if kind == "item.delete":
            return kind, {"item_id": item}
        fields = {self.rng.choice("abcd"): self.rng.randrange(1000)}
        return kind, ({"item_id": item, "kind": "note", "fields": fields} if kind == "item.create"
                      else {"item_id": item, "fields": fields})

    async def write(self, kind: str, args: dict[str, Any]) -> Op:
        if kind == "chat":
            return await self.client.chat(args["text"])
        if kind == "item.create":
            return await self.client.create_item(args["item_id"], args["kind"], args["fields"])
        if kind == "item.update":
            return await self.client.update_item(args["item_id"], args["fields"])
        return await self.client.delete_item(args["item_id"])

    async def run(self) -> None:
        for _ in range(OPS):
            if self.rng.random() < 0.05:  # a dropped connection, then a resume from the last sequence applied
                self.client.drop_connection()
            try:
                op = await asyncio.wait_for(self.write(*self.random_op()), CEILING)
            except OpRefused as refused:
                assert refused.code in ("item_exists", "item_not_found"), refused
                self.refused += 1
                continue
            self.acked[op.seq] = op


def _note_applied(into: list[int], event: Event) -> None:
    if isinstance(event, OpApplied):
        into.append(event.op.seq)


def test_clients_converge_with_disconnects_and_resumes(stack):
    alice = Api(stack, stack.token("alice"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces",
                         {"name": f"Convergence {uuid.uuid4().hex[:6]}"}, status=201)["workspace_id"]
    asyncio.run(asyncio.wait_for(_converge(stack, workspace), 840))


async def _converge(stack, workspace: str) -> None:
    members: list[Member] = []
    for seed in range(CLIENTS):
        applied: list[int] = []
        client = WorkspaceClient(stack.ws, stack.token("alice"), workspace, on_event=partial(_note_applied, applied))
        members.append(Member(client, random.Random(seed), applied=applied))
    welcomed = WireRecord()
    observer = WorkspaceClient(stack.ws, stack.token("alice"), workspace, wire_tap=welcomed)
    try:
        # All join the empty workspace first, so each applies every op of the log itself.
        await asyncio.gather(*(member.client.start(CEILING) for member in members))
        await asyncio.gather(*(member.run() for member in members))
        await observer.start(CEILING)
        log = await observer.read_log()
        latest = len(log)
        assert welcomed.welcomes()[0]["state"]["more"] is False  # small enough for one page
        state_seq, server_view = welcomed.states()[0]
        assert state_seq == latest
        for member in members:  # those that finished early catch up, as a client that stays does
            await member.client.wait_applied(latest, CEILING)
    finally:
        for client in [*(m.client for m in members), observer]:
            await client.close()
    acked = {seq: op for m in members for seq, op in m.acked.items()}
    assert sum(len(m.acked) for m in members) == len(acked)  # no sequence acknowledged twice
    # Every op is answered: the client sends an unanswered op again after a drop, with its op_id.
    assert len(acked) + sum(m.refused for m in members) == CLIENTS * OPS
    assert len(acked) <= latest <= CLIENTS * OPS
    assert [op.seq for op in log] == list(range(1, latest + 1))  # the log has no gap
    assert all(log[seq - 1] == op for seq, op in acked.items())  # nothing acknowledged was lost
    for member in members:
        assert member.applied == list(range(1, latest + 1))  # each applied every op in order, once
        assert member.client.replica.snapshot() == server_view  # and ends with the server's state
