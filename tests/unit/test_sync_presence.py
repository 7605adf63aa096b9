"""The router's presence and connection bookkeeping with in-memory twins (tests/unit/test_sync_service.py's
World): presence announced and swept, heartbeats, one workspace per connection, and snapshots catching up."""

import json

import pytest

from chalicelib.domain.tenancy import Membership, Workspace, WorkspaceRole
from chalicelib.services.workspace_log import WorkspaceLog
from tests.unit.test_sync_service import World


@pytest.fixture
def world():
    return World()


def test_presence_is_announced_and_vanished_connections_are_swept_not_deleted(world):
    world.send("c-bob", action="join", workspace="ws-a")
    welcome = world.send("c-ann", action="join", workspace="ws-a")
    assert {p["user"] for p in welcome["presence"]} == {"bob", "ann"}
    assert world.to("c-bob", "presence")[-1]["user"] == "ann"  # bob heard ann arrive
    world.notifier.sent.clear()
    world.router.handle("c-bob", json.dumps({"action": "presence", "workspace": "ws-a", "status": "busy",
                                             "viewport": {"x": 0, "y": 0, "w": 800, "h": 600}}))
    [seen] = world.to("c-ann", "presence")
    assert seen["presence"] == {"status": "busy", "viewport": {"x": 0, "y": 0, "w": 800, "h": 600}}
    assert world.to("c-bob", "presence") == []  # fire-and-forget: no reply to the sender
    # bob vanishes without $disconnect; ann's next heartbeat sweeps him out and tells her.
    world.store.rows["c-bob"]["last_seen"] -= 120
    world.notifier.sent.clear()
    pong = world.send("c-ann", action="ping", workspace="ws-a")
    assert pong["action"] == "pong" and pong["latest_seq"] == 0 and pong["rejoined"] is False
    assert world.store.get("c-bob")["workspace_id"] == "-"  # out of the workspace; the row says who he is
    assert [m["presence"]["status"] for m in world.to("c-ann", "presence")] == ["offline"]
    # He was only asleep: his next heartbeat puts him back, and he can still write.
    world.notifier.sent.clear()
    assert world.send("c-bob", action="ping", workspace="ws-a")["rejoined"] is True
    assert [m["presence"]["status"] for m in world.to("c-ann", "presence")] == ["active"]
    assert world.send("c-bob", action="chat", workspace="ws-a", text="back")["action"] == "ack"


def test_a_gone_connection_leaves_its_workspace_but_one_still_connecting_is_left_alone(world):
    for connection in ("c-bob", "c-ann", "c-vic"):
        world.send(connection, action="join", workspace="ws-a")
    world.store.put("c-new", "vic", "ws-a", {})  # $connect with ?workspace=: not yet open to posts
    world.notifier.gone |= {"c-ann", "c-new"}
    world.store.rows["c-ann"]["connected_at"] -= 60
    world.notifier.sent.clear()
    world.send("c-bob", action="chat", workspace="ws-a", text="anyone?")
    assert world.store.get("c-ann")["workspace_id"] == "-"  # the dead one is out
    assert world.store.get("c-new")["workspace_id"] == "ws-a"  # the connecting one is not
    assert world.store.get("c-bob")["workspace_id"] == "ws-a"
    assert "c-vic" in [c for c, _ in world.notifier.sent]
    offline = [m for m in world.to("c-vic", "presence") if m["presence"]["status"] == "offline"]
    assert [m["connection"] for m in offline] == ["c-ann"]


@pytest.mark.parametrize("bad", [{"status": "asleep"}, {"cursor": {"x": 1}},
                                 {"viewport": {"x": 1, "y": 2, "w": "3", "h": 4}},
                                 {"viewport": {"x": 1e308 * 10, "y": 2, "w": 3, "h": 4}}])
def test_bad_presence_is_refused(world, bad):
    world.send("c-bob", action="join", workspace="ws-a")
    reply = world.send("c-bob", action="presence", workspace="ws-a", **bad)
    assert reply["error"]["code"] in ("bad_presence", "bad_json")


def test_snapshots_keep_catching_up_short_and_rebuild_any_past_state(world, monkeypatch):
    import chalicelib.services.workspace_log as log_module

    monkeypatch.setattr(log_module, "SNAPSHOT_EVERY", 5)
    world.send("c-bob", action="join", workspace="ws-a")
    world.send("c-bob", action="item.create", workspace="ws-a", item_id="n", kind="note", fields={"v": 0})
    for i in range(1, 12):
        world.send("c-bob", action="item.update", workspace="ws-a", item_id="n", fields={"v": i})
    world.send("c-bob", action="item.delete", workspace="ws-a", item_id="n")  # seq 13
    assert world.oplog.snapshot_seq("ws-a") == 10 and sorted(world.snapshots.stored) == [("ws-a", 5), ("ws-a", 10)]
    cold = WorkspaceLog(world.oplog, world.snapshots)  # another function instance
    calls: list[int] = []
    original = world.oplog.after

    def counting_after(workspace, after, limit):
        calls.append(after)
        return original(workspace, after, limit)

    monkeypatch.setattr(world.oplog, "after", counting_after)
    assert cold.current("ws-a").view() == {"seq": 13, "items": []}
    assert calls and min(calls) >= 10  # it read the log only after the latest snapshot
    assert cold.at("ws-a", 7).view() == {"seq": 7, "items": [{"item_id": "n", "kind": "note",
                                                              "fields": {"v": 6, "by": "bob"}, "version": 7}]}
    assert cold.at("ws-a", 12).view()["items"][0]["fields"] == {"v": 11, "by": "bob"}


def test_a_heartbeat_puts_back_a_swept_connection_but_never_joins_one_that_left(world):
    assert world.send("c-bob", action="ping", workspace="ws-a")["error"]["code"] == "not_joined"  # never joined
    world.send("c-bob", action="join", workspace="ws-a")
    assert world.send("c-bob", action="leave", workspace="ws-a")["action"] == "left"
    assert world.send("c-bob", action="ping", workspace="ws-a")["error"]["code"] == "not_joined"  # it left
    assert world.store.get("c-bob")["workspace_id"] == "-"
    world.send("c-bob", action="join", workspace="ws-a")
    world.store.rows["c-bob"]["last_seen"] -= 120
    world.send("c-ann", action="join", workspace="ws-a")
    world.send("c-ann", action="ping", workspace="ws-a")  # ann's heartbeat sweeps bob out
    assert world.store.get("c-bob")["workspace_id"] == "-"
    assert world.send("c-bob", action="ping", workspace="ws-a")["rejoined"] is True  # he was only asleep


def test_a_connection_is_in_one_workspace_and_a_join_elsewhere_says_it_left_the_first(world):
    world.tenancy.workspaces["ws-c"] = Workspace("ws-c", "acc-a", "C", 0)
    world.tenancy.memberships[("ws-c", "bob")] = Membership("ws-c", "bob", "acc-a", WorkspaceRole.EDITOR, 0)
    first = world.send("c-bob", action="join", workspace="ws-a")
    assert "left" not in first
    world.send("c-ann", action="join", workspace="ws-a")
    moved = world.send("c-bob", action="join", workspace="ws-c")
    assert (moved["action"], moved["workspace"], moved["left"]) == ("welcome", "ws-c", "ws-a")
    assert "left" not in world.send("c-bob", action="join", workspace="ws-c")  # joined again where it is
    world.notifier.sent.clear()
    world.send("c-ann", action="chat", workspace="ws-a", text="after bob moved")
    assert world.to("c-bob", "op") == []  # ws-a's ops stop, as after a leave
    assert world.send("c-bob", action="ping", workspace="ws-a")["error"]["code"] == "not_joined"
    assert world.send("c-bob", action="leave", workspace="ws-c") == {"action": "left", "workspace": "ws-c"}
