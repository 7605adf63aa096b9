"""Workspace sync through the real local stack with stock websocket clients: join, ordered ops and acks,
fan-out, and resuming after a dropped connection with exactly what was missed."""

from __future__ import annotations

import json
import uuid

import pytest
from websockets.sync.client import connect

pytestmark = pytest.mark.e2e


def request(ws, **message) -> dict:
    message.setdefault("id", uuid.uuid4().hex[:8])
    ws.send(json.dumps(message))
    while True:
        reply = json.loads(ws.recv(timeout=10))
        if reply.get("id") == message["id"]:
            return reply


def test_ops_reach_the_other_member_and_a_resume_returns_exactly_what_was_missed(stack):
    workspace = "ws-demo"
    with connect(f"{stack.ws}/?token={stack.token('alice')}") as alice:
        start = request(alice, action="join", workspace=workspace)["latest_seq"]
        with connect(f"{stack.ws}/?token={stack.token('bob')}") as bob:
            assert request(bob, action="join", workspace=workspace)["action"] == "welcome"
            note = f"note-{uuid.uuid4().hex[:6]}"
            ack = request(alice, action="item.create", workspace=workspace, item_id=note, kind="note",
                          fields={"text": "check the stair core"})
            assert ack["action"] == "ack" and ack["seq"] > start
            seen = json.loads(bob.recv(timeout=10))
            assert (seen["action"], seen["op"]["seq"], seen["op"]["data"]["item_id"]) == ("op", ack["seq"], note)
            last_seen = seen["op"]["seq"]
        missed = [request(alice, action="chat", workspace=workspace, text=f"while you were away {i}")["seq"]
                  for i in range(3)]
        with connect(f"{stack.ws}/?token={stack.token('bob')}") as bob_again:
            welcome = request(bob_again, action="join", workspace=workspace, since=last_seen)
            assert [o["seq"] for o in welcome["ops"]] == missed  # exactly the missed stretch, in order
            assert [o["data"]["text"] for o in welcome["ops"]] == [f"while you were away {i}" for i in range(3)]
            fresh = request(bob_again, action="join", workspace=workspace)  # a fresh join gets the state
            assert any(i["item_id"] == note for i in fresh["state"]["items"])


def test_viewers_cannot_write_and_other_tenants_cannot_join(stack):
    with connect(f"{stack.ws}/?token={stack.token('vera')}") as vera:
        refused = request(vera, action="item.create", workspace="ws-demo", item_id="x", kind="note",
                          fields={"text": "mine"})
        assert refused["error"]["code"] == "role_too_low"
        assert request(vera, action="chat", workspace="ws-demo", text="viewers may talk")["action"] == "ack"
    with connect(f"{stack.ws}/?token={stack.token('olga')}") as olga:
        assert request(olga, action="join", workspace="ws-demo")["error"]["code"] == "not_found"
        assert request(olga, action="history", workspace="ws-demo")["error"]["code"] == "not_found"
