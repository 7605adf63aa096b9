"""Workspace sync through the real local stack with stock websocket clients: join, ordered ops and acks,
fan-out, and resuming after a dropped connection with exactly what was missed.

Hand-written connections on purpose: these check the protocol's exact answers (each welcome, ack, error and
presence message as sent, the rate limit's error frames) rather than what a client makes of them; the product's
behaviour through a real client is in test_convergence.py, test_sync_faults.py and clients/python/tests."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from websockets.sync.client import connect

pytestmark = pytest.mark.e2e


def request(ws, skipped: list[dict] | None = None, **message) -> dict:
    """Send and wait for the reply with the same id; other messages meanwhile go to `skipped`."""
    message.setdefault("id", uuid.uuid4().hex[:8])
    ws.send(json.dumps(message))
    while True:
        reply = json.loads(ws.recv(timeout=10))
        if reply.get("id") == message["id"]:
            return reply
        if skipped is not None:
            skipped.append(reply)


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


def test_a_note_carries_its_real_author_and_no_member_changes_it(stack):
    note = f"note-{uuid.uuid4().hex[:6]}"
    with connect(f"{stack.ws}/?token={stack.token('alice')}") as alice:
        request(alice, action="join", workspace="ws-demo")
        with connect(f"{stack.ws}/?token={stack.token('bob')}") as bob:
            request(bob, action="join", workspace="ws-demo")
            ack = request(bob, action="item.create", workspace="ws-demo", item_id=note, kind="note",
                          fields={"text": "approved, alice", "by": "alice"})  # bob passing it off as alice's
            assert ack["op"]["by"] == "bob" and ack["op"]["data"]["fields"] == {"text": "approved, alice", "by": "bob"}
            seen: list[dict] = []
            refused = request(alice, seen, action="item.update", workspace="ws-demo", item_id=note,
                              fields={"by": "alice"})
            assert refused["error"]["code"] == "bad_op"
            resolved = request(alice, action="item.update", workspace="ws-demo", item_id=note,
                               fields={"resolved": True, "resolved_by": "bob", "edited_by": "carol"})
            assert resolved["op"]["data"]["fields"] == {"resolved": True, "resolved_by": "alice", "edited_by": "alice"}
            while (message := json.loads(bob.recv(timeout=10))).get("op", {}).get("seq") != resolved["seq"]:
                pass
            assert message["op"] == resolved["op"]  # what the others get is what was stored
        state = request(alice, action="join", workspace="ws-demo")["state"]["items"]
        assert [i["fields"] for i in state if i["item_id"] == note] == [
            {"text": "approved, alice", "by": "bob", "resolved": True, "resolved_by": "alice", "edited_by": "alice"}]


def presence_updates(ws, timeout: float = 10) -> list[dict]:
    """Read until the next presence message (skipping ops and the like)."""
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message["action"] == "presence":
            return [message]


def test_presence_arrives_live_and_departures_are_announced(stack):
    with connect(f"{stack.ws}/?token={stack.token('alice')}") as alice:
        request(alice, action="join", workspace="ws-demo")
        with connect(f"{stack.ws}/?token={stack.token('bob')}") as bob:
            welcome = request(bob, action="join", workspace="ws-demo")
            assert "alice" in welcome["online"]
            [arrived] = presence_updates(alice)
            assert (arrived["user"], arrived["presence"]["status"]) == ("bob", "active")
            bob.send(json.dumps({"action": "presence", "workspace": "ws-demo", "status": "active",
                                 "cursor": {"x": 1200.5, "y": 340}}))
            [moved] = presence_updates(alice)
            assert moved["presence"]["cursor"] == {"x": 1200.5, "y": 340}
        [gone] = presence_updates(alice)  # bob's connection closed: $disconnect tells the workspace
        assert (gone["user"], gone["presence"]["status"]) == ("bob", "offline")


def test_a_vanished_client_is_detected_and_announced(stack):
    """An abruptly killed client leaves a row behind ($disconnect never came). The first delivery to it
    answers 410: it leaves the workspace and the workspace is told; a heartbeat sweep does the same when nothing
    is sent (tests/unit/test_sync_service.py). Its row stays (it still says who was on it) until TTL."""
    import time

    ghost = f"ghost{uuid.uuid4().hex[:8]}="
    then = int(time.time()) - 60  # connected a minute ago: a 410 now is not a connection still connecting
    stack.client("dynamodb").put_item(TableName=stack.env["KALEXO_CONNECTIONS_TABLE"], Item={
        "pk": {"S": f"CONN#{ghost}"}, "sk": {"S": "CONN"}, "gsi1pk": {"S": "WS#ws-demo"},
        "gsi1sk": {"S": f"USER#vera#CONN#{ghost}"}, "gsi2pk": {"S": "USER#vera"}, "gsi2sk": {"S": f"CONN#{ghost}"},
        "connection_id": {"S": ghost}, "user_id": {"S": "vera"}, "workspace_id": {"S": "ws-demo"},
        "member_of": {"S": "ws-demo"}, "connected_at": {"N": str(then)}, "last_seen": {"N": str(int(time.time()))},
        "expires_at": {"N": str(then + 7200)}})
    stack.client("dynamodb").put_item(TableName=stack.env["KALEXO_CONNECTIONS_TABLE"], Item={  # as a join leaves it
        "pk": {"S": "WS#ws-demo"}, "sk": {"S": f"CONN#{ghost}"}, "connection_id": {"S": ghost},
        "user_id": {"S": "vera"}, "expires_at": {"N": str(then + 7200)}})
    with connect(f"{stack.ws}/?token={stack.token('alice')}") as alice:
        heard: list[dict] = []
        # Alice's own arrival is announced to everyone in the workspace, the ghost too: 410, so the ghost
        # leaves and its departure is announced, before her welcome even arrives.
        welcome = request(alice, heard, action="join", workspace="ws-demo")
        assert ghost not in [p["connection"] for p in welcome["presence"]]
        departures = [m for m in heard if m["action"] == "presence" and m["connection"] == ghost]
        assert [d["presence"]["status"] for d in departures] == ["offline"]
        row = stack.client("dynamodb").get_item(TableName=stack.env["KALEXO_CONNECTIONS_TABLE"],
                                                Key={"pk": {"S": f"CONN#{ghost}"}, "sk": {"S": "CONN"}})
        assert row["Item"]["workspace_id"]["S"] == "-"
        membership = stack.client("dynamodb").get_item(TableName=stack.env["KALEXO_CONNECTIONS_TABLE"],
                                                       Key={"pk": {"S": "WS#ws-demo"}, "sk": {"S": f"CONN#{ghost}"}})
        assert "Item" not in membership  # ops are no longer sent to it


def test_a_flooding_connection_gets_rate_limited_errors_not_silence(stack):
    with connect(f"{stack.ws}/?token={stack.token('bob')}") as bob:
        for i in range(80):
            bob.send(json.dumps({"action": "ping", "id": str(i)}))
        replies = [json.loads(bob.recv(timeout=10)) for _ in range(80)]  # one answer for every message
    codes = [r.get("error", {}).get("code") for r in replies]
    assert codes.count("rate_limited") >= 20 and codes.count(None) >= 40  # the burst passes, the rest waits
    assert sorted(int(r["id"]) for r in replies) == list(range(80))


def test_an_owner_views_and_restores_a_workspace_as_of_an_op(stack):
    from tests.e2e.api_client import Api, assert_error

    alice = Api(stack, stack.token("alice"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": "Restore me"},
                         status=201)["workspace_id"]
    alice.ok("PUT", f"/admin/workspaces/{workspace}/members/bob", {"role": "editor"})
    with connect(f"{stack.ws}/?token={stack.token('alice')}") as ws:
        request(ws, action="join", workspace=workspace)
        good = request(ws, action="item.create", workspace=workspace, item_id="wall", kind="note",
                       fields={"text": "load-bearing"})["seq"]
        request(ws, action="item.update", workspace=workspace, item_id="wall", fields={"text": "removed by mistake"})
        request(ws, action="item.delete", workspace=workspace, item_id="wall")
        with connect(f"{stack.ws}/?token={stack.token('bob')}") as bob:
            request(bob, action="join", workspace=workspace)
            past = alice.ok("GET", f"/admin/workspaces/{workspace}/state", seq=good)
            assert past["items"][0]["fields"] == {"text": "load-bearing", "by": "alice"}
            assert alice.ok("GET", f"/admin/workspaces/{workspace}/state")["items"] == []
            restored = alice.ok("POST", f"/admin/workspaces/{workspace}/restore", {"seq": good})
            assert restored["restored_to"] == good and len(restored["ops"]) == 1
            pushed = json.loads(bob.recv(timeout=10))  # connected members receive the restoring op live
            assert (pushed["action"], pushed["op"]["kind"]) == ("op", "item.create")
        now = request(ws, action="join", workspace=workspace)["state"]["items"]
        assert [(i["item_id"], i["fields"]) for i in now] == [("wall", {"text": "load-bearing", "by": "alice"})]
    bob_api = Api(stack, stack.token("bob"))
    assert_error(bob_api.call("POST", f"/admin/workspaces/{workspace}/restore", {"seq": 1}), 403)  # editors can't
    assert assert_error(alice.call("POST", f"/admin/workspaces/{workspace}/restore", {"seq": 999}), 400) == \
        "bad_sequence"
    # Seconds given for milliseconds name a time before the workspace: refused, and nothing is deleted.
    seconds = int(time.time())
    restore = alice.call("POST", f"/admin/workspaces/{workspace}/restore", {"at_ms": seconds})
    assert assert_error(restore, 400) == "before_workspace"
    assert assert_error(alice.call("GET", f"/admin/workspaces/{workspace}/state", at_ms=seconds), 400) == \
        "before_workspace"
    # Both a sequence and a time: two answers to one question, refused rather than one silently preferred.
    assert assert_error(alice.call("POST", f"/admin/workspaces/{workspace}/restore",
                                   {"seq": 0, "at_ms": seconds * 1000}), 400) == "bad_restore"
    assert assert_error(alice.call("GET", f"/admin/workspaces/{workspace}/state", seq=good,
                                   at_ms=seconds * 1000), 400) == "bad_query"
    assert [i["item_id"] for i in alice.ok("GET", f"/admin/workspaces/{workspace}/state")["items"]] == ["wall"]


def _ops_until(ws, marker: str) -> list[dict]:
    """The ops `ws` receives up to and including the chat whose text is `marker`."""
    ops = []
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message.get("action") == "op":
            ops.append(message["op"])
            if message["op"]["data"].get("text") == marker:
                return ops


def test_ops_go_to_a_connection_opened_in_the_workspace_and_stop_at_leave(stack):
    """A doc-only client saw a connection opened with `?workspace=` miss live ops before its join, and ops keep
    arriving after `left`, whenever a warm function instance had the workspace's connections listed from
    before. alice's chats warm the instances that take them (the gateway hands each to the lowest idle one),
    then each case is decided by the messages themselves: vera, joined throughout, receives every op, and
    what bob got is read after his own ping's answer, which comes after the op's fan-out had reached vera."""
    from tests.e2e.api_client import Api

    alice_api = Api(stack, stack.token("alice"))
    workspace = alice_api.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": "Audience"},
                             status=201)["workspace_id"]
    for user in ("bob", "vera"):
        alice_api.ok("PUT", f"/admin/workspaces/{workspace}/members/{user}", {"role": "editor"})
    with connect(f"{stack.ws}/?token={stack.token('alice')}") as alice, \
            connect(f"{stack.ws}/?token={stack.token('vera')}") as vera:
        request(alice, action="join", workspace=workspace)
        request(vera, action="join", workspace=workspace)
        for i in range(8):
            request(alice, action="chat", workspace=workspace, text=f"warm {i}")
        _ops_until(vera, "warm 7")
        with connect(f"{stack.ws}/?token={stack.token('bob')}&workspace={workspace}") as bob:
            request(bob, action="ping")  # open: its $connect has run
            for i in range(4):  # through whichever instances take them
                request(alice, action="chat", workspace=workspace, text=f"to bob {i}")
            got = _ops_until(bob, "to bob 3")  # before any join
            assert [op["data"]["text"] for op in got] == [f"to bob {i}" for i in range(4)]
            request(bob, action="join", workspace=workspace)
            for i in range(8):  # every instance that takes one reads the list again, with bob joined
                request(alice, action="chat", workspace=workspace, text=f"joined {i}")
            _ops_until(bob, "joined 7")
            assert request(bob, action="leave", workspace=workspace)["action"] == "left"
            for i in range(8):
                request(alice, action="chat", workspace=workspace, text=f"after leave {i}")
            _ops_until(vera, "after leave 7")
            skipped: list[dict] = []
            request(bob, skipped, action="ping")
            late = [m["op"]["data"]["text"] for m in skipped if m.get("action") == "op"]
            assert not [text for text in late if text.startswith("after leave")], late


def test_a_join_of_another_workspace_moves_the_connection_and_says_so(stack):
    """One workspace a connection: a client written from the docs joined two on one connection and silently
    lost the first one's ops. The welcome of the second now names the first in `left`, and the first's ops stop
    as after a leave."""
    from tests.e2e.test_sync_limits import new_workspace

    first, second = new_workspace(stack, "Moved from"), new_workspace(stack, "Moved to")
    with connect(f"{stack.ws}/?token={stack.token('bob')}") as bob, \
            connect(f"{stack.ws}/?token={stack.token('alice')}") as alice:
        assert request(alice, action="join", workspace=first)["action"] == "welcome"
        assert "left" not in request(bob, action="join", workspace=first)
        moved = request(bob, action="join", workspace=second)
        assert (moved["action"], moved["workspace"], moved["left"]) == ("welcome", second, first)
        heard: list[dict] = []
        sent = request(alice, heard, action="chat", workspace=first, text="bob has moved on")
        assert sent["action"] == "ack"
        marker = request(alice, heard, action="chat", workspace=second, text="in the second")["seq"]
        seen: list[dict] = []
        while not any(m.get("action") == "op" and m["op"]["seq"] == marker for m in seen):
            seen.append(json.loads(bob.recv(timeout=10)))  # the second's op arrives; the first's never does
        assert [m["workspace"] for m in seen if m.get("action") == "op"] == [second]
        statuses = [m["presence"]["status"] for m in heard if m.get("action") == "presence"]
        assert statuses[-1:] == ["offline"], statuses  # bob's arrival (if it came late), then his departure
        assert request(bob, action="ping", workspace=first)["error"]["code"] == "not_joined"
        left = request(bob, action="leave", workspace=second)
        assert (left["action"], left["workspace"]) == ("left", second)
