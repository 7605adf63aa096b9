"""The sync rules at their edges, through the real local stack: big state and history in pages under API
Gateway's 128 KB, items too large refused at write time, NaN and deep nesting refused on both APIs, a quick
reconnect racing its own old connection's departure, a removed member refused at once on every connection,
and a restore that gives exactly the state of the sequence it names."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable

import pytest
import requests
from kalexo_client import Op, OpRefused, WorkspaceClient
from websockets.sync.client import connect

from tests.e2e.api_client import Api, assert_error
from tests.e2e.wire_record import WireRecord, replay

pytestmark = pytest.mark.e2e
LIMIT = 128 * 1024
CEILING = 60.0  # an ack or a catch-up, with both cores busy


def new_workspace(stack, name: str) -> str:
    alice = Api(stack, stack.token("alice"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": name}, status=201)["workspace_id"]
    for user, role in (("bob", "editor"), ("vera", "viewer")):
        alice.ok("PUT", f"/admin/workspaces/{workspace}/members/{user}", {"role": role})
    return workspace


def test_a_big_workspace_stays_joinable_in_pages_under_the_message_limit(stack):
    workspace = new_workspace(stack, "Big")

    async def scenario() -> None:
        records = {name: WireRecord() for name in ("bob", "vera", "resumer")}
        async with WorkspaceClient(stack.ws, stack.token("bob"), workspace, wire_tap=records["bob"]) as bob:
            for i in range(12):  # 12 items of ~15.6 KB: 190 KB of state, more than one message can hold
                await bob.create_item(f"sheet-{i:02d}", "note", {"text": "x" * 15_900})
            with pytest.raises(OpRefused) as grown:
                await bob.update_item("sheet-00", {"more": "y" * 900})
            assert grown.value.code == "item_too_large"  # refused when written, with the reason
            with pytest.raises(OpRefused) as too_big:
                await bob.create_item("huge", "note", {"t": "z" * 25_000})
            assert too_big.value.code == "op_too_large"
            for i in range(40):
                await bob.chat(f"{i} " + "c" * 3990)
        async with WorkspaceClient(stack.ws, stack.token("vera"), workspace, wire_tap=records["vera"]) as vera:
            assert records["vera"].welcomes()[0]["state"]["more"] is True  # it came in pages
            assert sorted(vera.items) == [f"sheet-{i:02d}" for i in range(12)]
            resumer = WorkspaceClient(stack.ws, stack.token("vera"), workspace, wire_tap=records["resumer"])
            resumer.replica.load_state(0, [])  # a replica of nothing yet: a resume from the very start, in pages
            async with resumer:
                await resumer.wait_applied(vera.applied, CEILING)
                assert resumer.replica.snapshot() == vera.replica.snapshot()
        for record in records.values():
            assert max(record.frames) < LIMIT
        assert max(len(p) for _, p in records["resumer"].pages()) < 200  # history pages were cut by size, not count

    run(scenario)


def raw(ws, text: str) -> dict:
    ws.send(text)
    return json.loads(ws.recv(timeout=10))


def test_nan_infinity_and_deep_nesting_are_refused_on_both_apis(stack):
    # A hand-written connection on purpose: this sends what no client library would (NaN, 30,000 levels) and
    # checks the exact protocol answers.
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
    which must not take the new connection out. The connecting one is a row written as $connect writes it.
    Hand-written connections on purpose: the race is with the wire (a connection's departure and a half-made
    one), and each answer is checked as the protocol gives it."""
    workspace = new_workspace(stack, "Reconnect")
    table = stack.env["KALEXO_CONNECTIONS_TABLE"]
    ddb = stack.client("dynamodb")
    connecting = f"conn{uuid.uuid4().hex[:10]}="
    now = int(time.time())
    ddb.put_item(TableName=table, Item={
        "pk": {"S": f"CONN#{connecting}"}, "sk": {"S": "CONN"}, "gsi1pk": {"S": f"WS#{workspace}"},
        "gsi1sk": {"S": f"USER#bob#CONN#{connecting}"}, "gsi2pk": {"S": "USER#bob"},
        "gsi2sk": {"S": f"CONN#{connecting}"}, "connection_id": {"S": connecting}, "user_id": {"S": "bob"},
        "workspace_id": {"S": workspace}, "member_of": {"S": workspace}, "connected_at": {"N": str(now)},
        "last_seen": {"N": str(now)}, "expires_at": {"N": str(now + 7200)}})
    membership = {"pk": {"S": f"WS#{workspace}"}, "sk": {"S": f"CONN#{connecting}"}}
    ddb.put_item(TableName=table, Item={**membership, "connection_id": {"S": connecting}, "user_id": {"S": "bob"},
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
    assert "Item" in ddb.get_item(TableName=table, Key=membership)  # and still sent its ops
    for _ in range(10):  # and ten quick reconnects in a row, each joining and writing at once
        with connect(f"{stack.ws}/?token={stack.token('bob')}&workspace={workspace}") as again:
            assert raw(again, json.dumps({"action": "join", "workspace": workspace}))["action"] == "welcome"
            reply = raw(again, json.dumps({"action": "chat", "workspace": workspace, "text": "hi"}))
            assert reply["action"] == "ack", reply


def test_a_removed_member_is_refused_at_once_on_every_connection(stack):
    # Hand-written connections on purpose: the exact answers on a connection bound to the workspace and on one
    # that is not (a client library would turn them into a stopped client); the log is read with kalexo_client.
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
    assert [o.text for o in read_log(stack, workspace)] == ["1"]


def test_restore_gives_exactly_the_state_of_the_sequence_it_names(stack):
    workspace = new_workspace(stack, f"Restore {uuid.uuid4().hex[:4]}")
    alice = Api(stack, stack.token("alice"))
    strip = lambda items: [{k: v for k, v in i.items() if k != "version"} for i in items]  # noqa: E731

    async def scenario() -> None:
        async with WorkspaceClient(stack.ws, stack.token("bob"), workspace) as bob:
            await bob.create_item("wall", "note", {"text": "load-bearing", "x": 1})
            await bob.create_item("t1", "task", {"done": False})
            target = (await bob.chat("the good state")).seq
            await bob.update_item("wall", {"text": "removed", "y": 9, "x": None})
            await bob.delete_item("t1")
            await bob.create_item("t1", "note", {"text": "kind changed"})
            await bob.create_item("new", "note", {"text": "added later"})
            then = await asyncio.to_thread(alice.ok, "GET", f"/admin/workspaces/{workspace}/state", seq=target)
            assert then["seq"] == target
            restored = await asyncio.to_thread(alice.ok, "POST", f"/admin/workspaces/{workspace}/restore",
                                               {"seq": target})
            assert restored["restored_to"] == target and len(restored["ops"]) >= 4
            now = await asyncio.to_thread(alice.ok, "GET", f"/admin/workspaces/{workspace}/state")
            assert strip(now["items"]) == strip(then["items"])  # fields added later gone, kinds as they were
            again = await asyncio.to_thread(alice.ok, "GET", f"/admin/workspaces/{workspace}/state", seq=target)
            assert strip(again["items"]) == strip(then["items"])
            assert {i["fields"].get("by") for i in now["items"]} == {"bob"}  # bob's notes, restored by alice
            twice = await asyncio.to_thread(alice.ok, "POST", f"/admin/workspaces/{workspace}/restore",
                                            {"seq": target})
            assert twice["ops"] == []  # restored already: nothing to change
            await bob.wait_applied(max(restored["ops"]), CEILING)  # a connected member converges, live
            assert strip(bob.replica.snapshot()) == strip(then["items"])
            bob.drop_connection()  # and through a resume
            await bob.wait_for(lambda: bob.connects > 1 and bob.connected, CEILING)
            assert strip(bob.replica.snapshot()) == strip(then["items"])
        log = await read_log_async(stack, workspace)
        assert strip(replay(log, len(log))) == strip(then["items"])

    run(scenario)


async def read_log_async(stack, workspace: str) -> list[Op]:
    async with WorkspaceClient(stack.ws, stack.token("alice"), workspace) as observer:
        return await observer.read_log()


def read_log(stack, workspace: str) -> list[Op]:
    return asyncio.run(asyncio.wait_for(read_log_async(stack, workspace), 300))


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 600))


def test_a_change_made_from_an_older_version_is_refused_through_the_stack(stack):
    """`if_version` (docs/protocol.md): two members' saves of one note made from the same version; the second
    is refused with `conflict` and nothing of it is stored, and the op stored carries no `if_version`."""
    workspace = new_workspace(stack, f"Versions {uuid.uuid4().hex[:4]}")

    async def scenario() -> None:
        async with WorkspaceClient(stack.ws, stack.token("alice"), workspace) as alice, \
                WorkspaceClient(stack.ws, stack.token("bob"), workspace) as bob:
            made = await alice.create_item("door", "note", {"text": "swings out"})
            first = await alice.update_item("door", {"text": "swings out, 1000"}, if_version=made.seq)
            assert "if_version" not in first.data
            with pytest.raises(OpRefused) as refused:
                await bob.update_item("door", {"text": "swings in"}, if_version=made.seq)
            assert refused.value.code == "conflict"
            with pytest.raises(OpRefused) as gone:
                await bob.delete_item("door", if_version=made.seq)
            assert gone.value.code == "conflict"
            await bob.wait_applied(first.seq, CEILING)
            assert bob.items["door"].fields["text"] == "swings out, 1000"
            later = await bob.update_item("door", {"text": "swings in"}, if_version=bob.items["door"].version)
            assert later.seq == first.seq + 1
        log = await read_log_async(stack, workspace)
        assert all("if_version" not in json.dumps(op.data) for op in log)

    run(scenario)
