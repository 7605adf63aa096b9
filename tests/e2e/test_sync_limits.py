"""The sync rules at their edges, through the real local stack: big state and history in pages under API
Gateway's 128 KB, items too large refused at write time, NaN and deep nesting refused on both APIs, a quick
reconnect racing its own old connection's departure, a removed member refused at once on every connection,
and a restore that gives exactly the state of the sequence it names."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from websockets.sync.client import connect

from tests.e2e.api_client import Api, assert_error
from tests.e2e.sync_client import SyncClient, replay, whole_log

pytestmark = pytest.mark.e2e
LIMIT = 128 * 1024


def new_workspace(stack, name: str) -> str:
    alice = Api(stack, stack.token("alice"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": name}, status=201)["workspace_id"]
    for user, role in (("bob", "editor"), ("vera", "viewer")):
        alice.ok("PUT", f"/admin/workspaces/{workspace}/members/{user}", {"role": role})
    return workspace


def test_a_big_workspace_stays_joinable_in_pages_under_the_message_limit(stack):
    workspace = new_workspace(stack, "Big")
    bob = SyncClient(stack.ws, stack.token("bob"), workspace)
    bob.connect()
    for i in range(12):  # 12 items of ~15.6 KB: 190 KB of state, more than one message can hold
        assert bob.write({"action": "item.create", "item_id": f"sheet-{i:02d}", "kind": "note",
                          "fields": {"text": "x" * 15_900}})["action"] == "ack"
    grown = bob.write({"action": "item.update", "item_id": "sheet-00", "fields": {"more": "y" * 900}})
    assert grown["error"]["code"] == "item_too_large"  # refused when written, with the reason
    too_big = bob.write({"action": "item.create", "item_id": "huge", "kind": "note", "fields": {"t": "z" * 25_000}})
    assert too_big["error"]["code"] == "op_too_large"
    for i in range(40):
        bob.write({"action": "chat", "text": f"{i} " + "c" * 3990})
    vera = SyncClient(stack.ws, stack.token("vera"), workspace)
    welcome = vera.connect()
    assert welcome["state"]["more"] is True  # it came in pages
    assert [i["item_id"] for i in vera.state.view()["items"]] == [f"sheet-{i:02d}" for i in range(12)]
    resumer = SyncClient(stack.ws, stack.token("vera"), workspace)
    resumer.joined = True  # a resume from the very start: every op, in pages
    resumer.connect()
    resumer.catch_up()
    assert resumer.state.view() == vera.state.view()
    for client in (bob, vera, resumer):
        assert max(client.seen.frames) < LIMIT
    assert max(len(p) for _, p in resumer.seen.pages) < 200  # history pages were cut by size, not count


def raw(ws, text: str) -> dict:
    ws.send(text)
    return json.loads(ws.recv(timeout=10))


def test_nan_infinity_and_deep_nesting_are_refused_on_both_apis(stack):
    workspace = new_workspace(stack, "Strict")
    with connect(f"{stack.ws}/?token={stack.token('bob')}") as ws:
        raw(ws, json.dumps({"action": "join", "workspace": workspace}))
        for text in ('{"action": "item.create", "workspace": "' + workspace + '", "item_id": "n", "kind": "note", '
                     '"fields": {"x": NaN}}',
                     '{"action": "presence", "workspace": "' + workspace + '", "viewport": {"x": Infinity, "y": 0, '
                     '"w": 1, "h": 1}}',
                     '{"action": "ping", "deep": ' + "[" * 30_000 + "]" * 30_000 + "}"):
            reply = raw(ws, text)
            assert reply["error"]["code"] == "bad_json", reply
        big = {"action": "ping", "id": 7, "x": 1e308}  # finite, allowed; the id comes back as the number 7
        pong = raw(ws, json.dumps(big))
        assert (pong["action"], pong["id"]) == ("pong", 7)
        assert raw(ws, json.dumps({"action": "history", "workspace": workspace}))["ops"] == []  # nothing stored
    alice = Api(stack, stack.token("alice"))
    headers = {**alice.headers, "Content-Type": "application/json"}
    for body in ('{"settings": {"zoom": NaN}}', '{"name": ' + "[" * 30_000 + "]" * 30_000 + "}",
                 '{"name": -Infinity}'):
        response = requests.patch(f"{stack.rest}/admin/workspaces/{workspace}", data=body, headers=headers,
                                  timeout=15)
        assert assert_error(response, 400) == "bad_json"
    listed = requests.get(f"{stack.rest}/admin/accounts/acc-demo/workspaces?limit=100", headers=alice.headers,
                          timeout=15)
    json.loads(listed.text, parse_constant=lambda c: pytest.fail(f"{c} in a REST answer"))


def test_a_quick_reconnect_survives_the_departure_of_its_own_old_connection(stack):
    """The old connection's `offline` goes to every connection bound to the workspace, also to a new one whose
    $connect has not returned yet (its row is written, API Gateway does not know it yet): that post answers 410,
    which must not take the new connection out. The connecting one is a row written as $connect writes it."""
    workspace = new_workspace(stack, "Reconnect")
    table = stack.env["KALEXO_CONNECTIONS_TABLE"]
    ddb = stack.client("dynamodb")
    connecting = f"conn{uuid.uuid4().hex[:10]}="
    now = int(time.time())
    ddb.put_item(TableName=table, Item={
        "pk": {"S": f"CONN#{connecting}"}, "sk": {"S": "CONN"}, "gsi1pk": {"S": f"WS#{workspace}"},
        "gsi1sk": {"S": f"USER#bob#CONN#{connecting}"}, "gsi2pk": {"S": "USER#bob"},
        "gsi2sk": {"S": f"CONN#{connecting}"}, "connection_id": {"S": connecting}, "user_id": {"S": "bob"},
        "workspace_id": {"S": workspace}, "connected_at": {"N": str(now)}, "last_seen": {"N": str(now)},
        "expires_at": {"N": str(now + 7200)}})
    old = connect(f"{stack.ws}/?token={stack.token('bob')}&workspace={workspace}").__enter__()
    assert raw(old, json.dumps({"action": "join", "workspace": workspace}))["action"] == "welcome"
    old_id = next(i["connection_id"]["S"] for i in ddb.scan(TableName=table)["Items"]
                  if i.get("gsi1pk", {}).get("S") == f"WS#{workspace}" and i["connection_id"]["S"] != connecting)
    old.close()  # its $disconnect announces `offline` to the workspace: 410 for the one still connecting
    deadline = time.time() + 20
    while time.time() < deadline and "Item" in ddb.get_item(TableName=table, Key={
            "pk": {"S": f"CONN#{old_id}"}, "sk": {"S": "CONN"}}):
        time.sleep(0.1)
    time.sleep(0.5)  # the departure's fan-out has run
    row = ddb.get_item(TableName=table, Key={"pk": {"S": f"CONN#{connecting}"}, "sk": {"S": "CONN"}})["Item"]
    assert row["workspace_id"]["S"] == workspace  # still in the workspace
    for _ in range(10):  # and ten quick reconnects in a row, each joining and writing at once
        with connect(f"{stack.ws}/?token={stack.token('bob')}&workspace={workspace}") as again:
            assert raw(again, json.dumps({"action": "join", "workspace": workspace}))["action"] == "welcome"
            reply = raw(again, json.dumps({"action": "chat", "workspace": workspace, "text": "hi"}))
            assert reply["action"] == "ack", reply


def test_a_removed_member_is_refused_at_once_on_every_connection(stack):
    workspace = new_workspace(stack, "Removal")
    alice = Api(stack, stack.token("alice"))
    with connect(f"{stack.ws}/?token={stack.token('bob')}&workspace={workspace}") as bound, \
            connect(f"{stack.ws}/?token={stack.token('bob')}") as elsewhere:
        raw(bound, json.dumps({"action": "join", "workspace": workspace}))
        assert raw(elsewhere, json.dumps({"action": "chat", "workspace": workspace, "text": "1"}))["action"] == "ack"
        alice.ok("DELETE", f"/admin/workspaces/{workspace}/members/bob", status=204)
        refused = raw(elsewhere, json.dumps({"action": "chat", "workspace": workspace, "text": "2"}))
        assert refused["error"]["code"] == "not_found"  # at once, though a cache may still say member
        assert raw(elsewhere, json.dumps({"action": "join", "workspace": workspace}))["error"]["code"] == "not_found"
        deadline = time.time() + 20
        while time.time() < deadline:  # the connection bound to the workspace is closed by the removal
            try:
                bound.recv(timeout=1)
            except TimeoutError:
                continue
            except Exception:
                break
        assert bound.close_code is not None
    observer = SyncClient(stack.ws, stack.token("alice"), workspace)
    observer.connect()
    assert [o["data"]["text"] for o in whole_log(observer)] == ["1"]


def test_restore_gives_exactly_the_state_of_the_sequence_it_names(stack):
    workspace = new_workspace(stack, f"Restore {uuid.uuid4().hex[:4]}")
    alice = Api(stack, stack.token("alice"))
    bob = SyncClient(stack.ws, stack.token("bob"), workspace)
    bob.connect()
    bob.write({"action": "item.create", "item_id": "wall", "kind": "note", "fields": {"text": "load-bearing", "x": 1}})
    bob.write({"action": "item.create", "item_id": "t1", "kind": "task", "fields": {"done": False}})
    target = bob.write({"action": "chat", "text": "the good state"})["seq"]
    bob.write({"action": "item.update", "item_id": "wall", "fields": {"text": "removed", "y": 9, "x": None}})
    bob.write({"action": "item.delete", "item_id": "t1"})
    bob.write({"action": "item.create", "item_id": "t1", "kind": "note", "fields": {"text": "kind changed"}})
    bob.write({"action": "item.create", "item_id": "new", "kind": "note", "fields": {"text": "added later"}})
    then = alice.ok("GET", f"/admin/workspaces/{workspace}/state", seq=target)
    assert then["seq"] == target
    restored = alice.ok("POST", f"/admin/workspaces/{workspace}/restore", {"seq": target})
    assert restored["restored_to"] == target and len(restored["ops"]) >= 4
    now = alice.ok("GET", f"/admin/workspaces/{workspace}/state")
    strip = lambda items: [{k: v for k, v in i.items() if k != "version"} for i in items]  # noqa: E731
    assert strip(now["items"]) == strip(then["items"])  # fields added later gone, kinds as they were
    assert strip(alice.ok("GET", f"/admin/workspaces/{workspace}/state", seq=target)["items"]) == \
        strip(then["items"])
    bob.close()
    bob.resume()  # connected members converge through the restoring ops
    assert strip(bob.state.view()["items"]) == strip(then["items"])
    observer = SyncClient(stack.ws, stack.token("alice"), workspace)
    observer.connect()
    log = whole_log(observer)
    assert strip(replay(log, len(log))) == strip(then["items"])
