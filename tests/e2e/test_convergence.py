"""Convergence under concurrency, through the real local stack: 10 clients each apply 100 random ops to
overlapping items of one workspace, with random forced disconnects and resumes. Every client ends with the
server's state, nothing acknowledged is lost, and nothing is applied twice."""

from __future__ import annotations

import json
import random
import threading
import uuid

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from chalicelib.domain.ops import Op
from chalicelib.domain.sync import WorkspaceState
from tests.e2e.api_client import Api

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]  # slow on a loaded machine, never timed
CLIENTS, OPS, ITEMS = 10, 100, 8


class Client:
    """A client as the protocol expects one: applies ops in sequence order and fills gaps from history."""

    def __init__(self, stack, workspace: str, seed: int) -> None:
        self.stack, self.workspace, self.rng = stack, workspace, random.Random(seed)
        self.state = WorkspaceState()
        self.pending: dict[int, Op] = {}
        self.acked: dict[int, dict] = {}
        self.refused = 0  # ops refused against the state they would have followed
        self.applied: list[int] = []
        self.seen: dict[int, dict] = {}  # every op this client received, by sequence
        self.ws: ClientConnection | None = None

    def connect(self) -> None:
        """Open, join from the last sequence applied, and catch up; a drop on the way starts it again
        (the test stack ends connections after 8 s, as API Gateway does after 2 hours)."""
        for _ in range(20):
            try:
                self.ws = connect(f"{self.stack.ws}/?token={self.stack.token('alice')}").__enter__()
                welcome = self.call(action="join", workspace=self.workspace, since=self.state.seq)
                self.receive_ops(welcome["ops"])
                if welcome["more"]:
                    self._catch_up_once()
                return
            except ConnectionClosed:
                continue
        raise AssertionError("could not reconnect")

    def call(self, **message) -> dict:
        assert self.ws is not None
        message["id"] = uuid.uuid4().hex[:8]
        while True:
            self.ws.send(json.dumps(message))
            while True:
                reply = json.loads(self.ws.recv(timeout=20))
                if reply.get("id") == message["id"]:
                    break
                if reply["action"] == "op":
                    self.receive_ops([reply["op"]])
            if reply.get("error", {}).get("code") != "rate_limited":
                return reply
            threading.Event().wait(0.1)

    def receive_ops(self, ops: list[dict]) -> None:
        for raw in ops:
            self.seen[raw["seq"]] = raw
            op = Op(raw["seq"], raw["kind"], raw["by"], raw["at_ms"], raw["data"])
            if op.seq > self.state.seq:
                self.pending[op.seq] = op
        while self.state.seq + 1 in self.pending:
            op = self.pending.pop(self.state.seq + 1)
            self.state.apply(op)
            self.applied.append(op.seq)

    def _catch_up_once(self) -> None:
        while True:
            page = self.call(action="history", workspace=self.workspace, after=self.state.seq, limit=200)
            self.receive_ops(page["ops"])
            if self.state.seq >= page["latest_seq"]:
                return

    def catch_up(self) -> None:
        for _ in range(20):
            try:
                self._catch_up_once()
                return
            except ConnectionClosed:
                self.connect()
        raise AssertionError("could not catch up")

    def random_op(self) -> dict:
        item = f"item-{self.rng.randrange(ITEMS)}"
        kind = self.rng.choice(["item.create", "item.update", "item.update", "item.update", "item.delete", "chat"])
        body: dict = {"action": kind, "workspace": self.workspace}
        if kind == "chat":
            body["text"] = f"hello {self.rng.random()}"
        elif kind == "item.delete":
            body["item_id"] = item
        else:
            body.update(item_id=item, fields={self.rng.choice("abcd"): self.rng.randrange(1000)})
            if kind == "item.create":
                body["kind"] = "note"
        return body

    def run(self) -> None:
        self.connect()
        for _ in range(OPS):
            if self.rng.random() < 0.05:  # a dropped connection, then a resume from the last sequence seen
                assert self.ws is not None
                self.ws.close()
                self.connect()
            try:
                ack = self.call(**self.random_op())
            except ConnectionClosed:
                self.connect()
                continue
            if ack.get("error", {}).get("code") in ("item_exists", "item_not_found"):
                self.refused += 1  # refused against the state it would have followed: another got there first
                continue
            assert ack["action"] == "ack", ack
            self.acked[ack["seq"]] = ack["op"]
            self.receive_ops([ack["op"]])
        self.catch_up()
        assert self.ws is not None
        self.ws.close()


def test_clients_converge_with_disconnects_and_resumes(stack):
    alice = Api(stack, stack.token("alice"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces",
                         {"name": f"Convergence {uuid.uuid4().hex[:6]}"}, status=201)["workspace_id"]
    clients = [Client(stack, workspace, seed) for seed in range(CLIENTS)]
    errors: list[BaseException] = []

    def run(client: Client) -> None:
        try:
            client.run()
        except BaseException as exc:  # collected and re-raised below with the client's context
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors[0]
    for client in clients:  # those that finished early resume once more, as a client coming back would
        client.connect()
        client.catch_up()
        assert client.ws is not None
        client.ws.close()

    observer = Client(stack, workspace, 99)
    observer.connect()
    observer.catch_up()
    welcome_state = observer.call(action="join", workspace=workspace)["state"]
    assert welcome_state["more"] is False  # small enough for one page
    server_view = {"seq": welcome_state["seq"], "items": welcome_state["items"]}
    latest = server_view["seq"]
    acked = {seq: op for c in clients for seq, op in c.acked.items()}
    # Some ops are logged but never acknowledged (their connection dropped first): that is allowed; an
    # acknowledged op that is not in the log is not.
    assert sum(len(c.acked) for c in clients) == len(acked)  # no sequence acknowledged twice
    answered = len(acked) + sum(c.refused for c in clients)
    assert len(acked) <= latest <= CLIENTS * OPS and answered >= CLIENTS * OPS * 0.8
    assert observer.applied == list(range(1, latest + 1))  # the log has no gap
    assert all(observer.seen[seq] == op for seq, op in acked.items())  # nothing acknowledged was lost
    for client in clients:
        assert client.applied == list(range(1, latest + 1))  # each applied every op in order, once
        assert client.state.view() == server_view  # and ends with the server's state
