"""The router's workspace actions with in-memory twins: join and resume, ordered acks, fan-out, roles."""

import json

import pytest

from chalicelib.services.access import AccessService, Actor
from chalicelib.services.fanout import Fanout
from chalicelib.services.presence import PresenceService
from chalicelib.services.router import MessageRouter
from chalicelib.services.sync import WorkspaceHistory, WorkspaceSync
from tests.fakes import FakeNotifier, InMemoryConnectionStore, InMemoryOpLog, InMemorySnapshots
from tests.unit.test_access import TOKENS, tenancy_with_demo


@pytest.fixture
def world():
    tenancy = tenancy_with_demo()
    store, notifier, oplog = InMemoryConnectionStore(), FakeNotifier(), InMemoryOpLog()
    access = AccessService(TOKENS, tenancy)

    def actor_of(connection_id):
        row = store.get(connection_id)
        user = tenancy.user(row["user_id"]) if row else None
        return Actor(user) if user else None

    fanout = Fanout(notifier, store)
    history = WorkspaceHistory(oplog, InMemorySnapshots())
    sync = WorkspaceSync(access, oplog, store, fanout, PresenceService(access, store, fanout), history)
    router = MessageRouter(notifier, store, actor_of, sync)
    for connection_id, user in (("c-bob", "bob"), ("c-ann", "ann"), ("c-vic", "vic"), ("c-olga", "olga")):
        store.put(connection_id, user, None, {})
    return router, notifier, store, oplog


def send(router, notifier, connection_id, **message):
    router.handle(connection_id, json.dumps(message))
    return json.loads([d for c, d in notifier.sent if c == connection_id][-1])


def test_ops_are_acknowledged_in_order_and_fanned_out_to_the_others(world):
    router, notifier, store, _ = world
    assert send(router, notifier, "c-bob", action="join", workspace="ws-a")["latest_seq"] == 0
    assert send(router, notifier, "c-ann", action="join", workspace="ws-a", id="j")["action"] == "welcome"
    notifier.sent.clear()
    ack = send(router, notifier, "c-bob", action="item.create", id="1", workspace="ws-a", item_id="n1",
               kind="note", fields={"text": "hi"})
    assert (ack["action"], ack["id"], ack["seq"]) == ("ack", "1", 1)
    assert [c for c, _ in notifier.sent] == ["c-ann", "c-bob"]  # the other member's op, then the sender's ack
    chat = send(router, notifier, "c-ann", action="chat", workspace="ws-a", text="seen")
    assert chat["seq"] == 2
    welcome = send(router, notifier, "c-vic", action="join", workspace="ws-a")
    assert welcome["state"]["items"][0]["fields"] == {"text": "hi"} and welcome["latest_seq"] == 2
    resumed = send(router, notifier, "c-vic", action="join", workspace="ws-a", since=1)
    assert [o["seq"] for o in resumed["ops"]] == [2] and resumed["more"] is False


@pytest.mark.parametrize(("connection", "message", "code"), [
    ("c-vic", {"action": "item.create", "workspace": "ws-a", "item_id": "x", "kind": "note", "fields": {"a": 1}},
     "role_too_low"),                                                                   # a viewer writing
    ("c-olga", {"action": "join", "workspace": "ws-a"}, "not_found"),                   # another tenant
    ("c-olga", {"action": "history", "workspace": "ws-a"}, "not_found"),
    ("c-bob", {"action": "item.create", "workspace": "ws-a", "item_id": "x", "kind": "ufo", "fields": {"a": 1}},
     "bad_op"),
    ("c-bob", {"action": "join"}, "bad_envelope"),
    ("c-bob", {"action": "join", "workspace": "ws-a", "since": -1}, "bad_envelope"),
])
def test_refusals(world, connection, message, code):
    router, notifier, _, oplog = world
    reply = send(router, notifier, connection, **message)
    assert reply["action"] == "error" and reply["error"]["code"] == code
    assert oplog.ops.get("ws-a", []) == []  # nothing refused was logged


def test_history_pages_in_order(world):
    router, notifier, _, _ = world
    for i in range(5):
        send(router, notifier, "c-bob", action="chat", workspace="ws-a", text=f"m{i}")
    page = send(router, notifier, "c-bob", action="history", workspace="ws-a", after=1, limit=2)
    assert [o["seq"] for o in page["ops"]] == [2, 3] and page["more"] is True and page["latest_seq"] == 5


def test_a_dead_connection_during_fan_out_is_removed_and_the_rest_still_receive(world):
    router, notifier, store, _ = world
    for connection in ("c-bob", "c-ann", "c-vic"):
        send(router, notifier, connection, action="join", workspace="ws-a")
    notifier.gone.add("c-ann")
    notifier.sent.clear()
    send(router, notifier, "c-bob", action="chat", workspace="ws-a", text="anyone?")
    assert store.get("c-ann") is None  # the dead connection's row is gone
    assert store.get("c-bob") is not None  # the sender's is not
    assert "c-vic" in [c for c, _ in notifier.sent]


def messages_to(notifier, connection_id, action):
    return [json.loads(d) for c, d in notifier.sent if c == connection_id and json.loads(d)["action"] == action]


def test_presence_is_announced_and_vanished_connections_are_swept(world):
    router, notifier, store, _ = world
    send(router, notifier, "c-bob", action="join", workspace="ws-a")
    welcome = send(router, notifier, "c-ann", action="join", workspace="ws-a")
    assert {p["user"] for p in welcome["presence"]} == {"bob", "ann"}
    assert messages_to(notifier, "c-bob", "presence")[-1]["user"] == "ann"  # bob heard ann arrive
    notifier.sent.clear()
    router.handle("c-bob", json.dumps({"action": "presence", "workspace": "ws-a", "status": "busy",
                                       "viewport": {"x": 0, "y": 0, "w": 800, "h": 600}}))
    [seen] = messages_to(notifier, "c-ann", "presence")
    assert seen["presence"] == {"status": "busy", "viewport": {"x": 0, "y": 0, "w": 800, "h": 600}}
    assert messages_to(notifier, "c-bob", "presence") == []  # fire-and-forget: no reply to the sender
    # bob vanishes without $disconnect; ann's next heartbeat sweeps him out and tells her.
    store.rows["c-bob"]["last_seen"] -= 120
    notifier.sent.clear()
    pong = send(router, notifier, "c-ann", action="ping", workspace="ws-a")
    assert pong["action"] == "pong" and pong["latest_seq"] == 0
    assert store.get("c-bob") is None
    assert [m["presence"]["status"] for m in messages_to(notifier, "c-ann", "presence")] == ["offline"]


@pytest.mark.parametrize("bad", [{"status": "asleep"}, {"cursor": {"x": 1}}, {"viewport": {"x": 1, "y": 2, "w": "3",
                                                                                             "h": 4}}])
def test_bad_presence_is_refused(world, bad):
    router, notifier, _, _ = world
    send(router, notifier, "c-bob", action="join", workspace="ws-a")
    reply = send(router, notifier, "c-bob", action="presence", workspace="ws-a", **bad)
    assert reply["error"]["code"] == "bad_presence"


def test_snapshots_keep_joins_short_and_rebuild_any_past_state(world, monkeypatch):
    import chalicelib.services.sync as sync_module

    monkeypatch.setattr(sync_module, "SNAPSHOT_EVERY", 5)
    router, notifier, _, oplog = world
    send(router, notifier, "c-bob", action="join", workspace="ws-a")
    for i in range(12):
        send(router, notifier, "c-bob", action="item.update" if i else "item.create", workspace="ws-a",
             item_id="n", kind="note", fields={"v": i})
    send(router, notifier, "c-bob", action="item.delete", workspace="ws-a", item_id="n")  # seq 13
    assert oplog.heads("ws-a") == (13, 10)  # snapshots at 5 and 10
    history = router._sync._history
    calls: list[int] = []
    original = oplog.after

    def counting_after(workspace, after, limit):
        calls.append(after)
        return original(workspace, after, limit)

    monkeypatch.setattr(oplog, "after", counting_after)
    welcome = send(router, notifier, "c-ann", action="join", workspace="ws-a")
    assert welcome["state"] == {"seq": 13, "items": []}
    assert calls and min(calls) >= 10  # the join read the log only after the latest snapshot
    past = history.at("ws-a", 7)  # snapshot 5 + ops 6 and 7
    assert past.view() == {"seq": 7, "items": [{"item_id": "n", "kind": "note", "fields": {"v": 6},
                                                "version": 7}]}
    assert history.at("ws-a", 12).view()["items"][0]["fields"] == {"v": 11}
