"""The router's workspace actions with in-memory twins: join and resume, ordered acks, fan-out, roles, op ids,
pages bounded by size, presence and sweeps, refusals that always answer."""

import copy
import json
from typing import Any

import pytest

from chalicelib.domain.tenancy import Membership, WorkspaceRole
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.audience import Audiences
from chalicelib.services.fanout import Fanout, OpPublisher
from chalicelib.services.presence import PresenceService
from chalicelib.services.router import MessageRouter
from chalicelib.services.sync import WorkspaceSync
from chalicelib.services.workspace_log import WorkspaceLog
from tests.fakes import FakeNotifier, InMemoryConnectionStore, InMemoryOpLog, InMemorySnapshots
from tests.unit.test_access import TOKENS, tenancy_with_demo


class World:
    """`lagging`: the cached access reads a copy of the tenancy taken now (`self.cached`), as a cache that has
    not seen later changes; the fresh access reads the tenancy itself."""

    def __init__(self, lagging: bool = False) -> None:
        self.tenancy = tenancy_with_demo()
        self.store, self.notifier = InMemoryConnectionStore(), FakeNotifier()
        self.oplog = InMemoryOpLog(self.tenancy)
        self.snapshots = InMemorySnapshots()
        access = AccessService(TOKENS, self.tenancy)
        self.cached = copy.deepcopy(self.tenancy) if lagging else self.tenancy
        cached = AccessService(TOKENS, self.cached) if lagging else access

        def actor_of(connection_id):
            row = self.store.get(connection_id)
            user = self.tenancy.user(row["user_id"]) if row else None
            return Actor(user) if user else None

        fanout = Fanout(self.notifier, self.store)
        self.log = WorkspaceLog(self.oplog, self.snapshots)
        presence = PresenceService(access, self.store, fanout, note_audience_change=self.log.note_audience_change)
        self.audiences = Audiences(self.log, self.store)
        self.sync = WorkspaceSync(cached, access, self.log, self.store, OpPublisher(fanout, self.store), presence,
                                  self.audiences)
        self.router = MessageRouter(self.notifier, self.store, actor_of, self.sync)
        for connection_id, user in (("c-bob", "bob"), ("c-ann", "ann"), ("c-vic", "vic"), ("c-olga", "olga"),
                                    ("c-bob2", "bob")):
            self.store.put(connection_id, user, None, {})

    def send(self, connection_id, **message):
        self.router.handle(connection_id, json.dumps(message))
        return json.loads([d for c, d in self.notifier.sent if c == connection_id][-1])

    def to(self, connection_id, action):
        received = [json.loads(d) for c, d in self.notifier.sent if c == connection_id]
        return [m for m in received if m["action"] == action]


@pytest.fixture
def world():
    return World()


def test_ops_are_acknowledged_in_order_and_fanned_out_to_the_others(world):
    assert world.send("c-bob", action="join", workspace="ws-a")["latest_seq"] == 0
    assert world.send("c-ann", action="join", workspace="ws-a", id="j")["action"] == "welcome"
    world.notifier.sent.clear()
    ack = world.send("c-bob", action="item.create", id="1", workspace="ws-a", item_id="n1", kind="note",
                     fields={"text": "hi"})
    assert (ack["action"], ack["id"], ack["seq"]) == ("ack", "1", 1)
    assert [c for c, _ in world.notifier.sent] == ["c-ann", "c-bob"]  # the other member's op, then the ack
    assert world.send("c-ann", action="chat", workspace="ws-a", text="seen", id=7)["seq"] == 2
    welcome = world.send("c-vic", action="join", workspace="ws-a")
    assert welcome["state"]["items"][0]["fields"] == {"text": "hi", "by": "bob"} and welcome["latest_seq"] == 2
    assert welcome["state"]["more"] is False and welcome["heartbeat_ms"] == 18000
    assert welcome["connection"] == "c-vic"  # which presence entry is the joiner's own
    resumed = world.send("c-vic", action="join", workspace="ws-a", since=1)
    assert [o["seq"] for o in resumed["ops"]] == [2] and resumed["more"] is False


def test_the_id_comes_back_with_its_type(world):
    assert world.send("c-bob", action="ping", id=42)["id"] == 42
    assert world.send("c-bob", action="ping", id="42")["id"] == "42"
    assert world.send("c-bob", action="ping", id="x" * 65)["error"]["code"] == "bad_envelope"
    assert world.send("c-bob", action="ping", id=2**60)["error"]["code"] == "bad_json"


@pytest.mark.parametrize(("connection", "message", "code"), [
    ("c-vic", {"action": "item.create", "workspace": "ws-a", "item_id": "x", "kind": "note", "fields": {"a": 1}},
     "role_too_low"),                                                                   # a viewer writing
    ("c-olga", {"action": "join", "workspace": "ws-a"}, "not_found"),                   # another tenant
    ("c-olga", {"action": "history", "workspace": "ws-a"}, "not_found"),
    ("c-olga", {"action": "chat", "workspace": "ws-a", "text": "hi"}, "not_found"),
    ("c-bob", {"action": "item.create", "workspace": "ws-a", "item_id": "x", "kind": "ufo", "fields": {"a": 1}},
     "bad_op"),
    ("c-bob", {"action": "item.create", "workspace": "ws-a", "item_id": "doc:x", "kind": "note", "fields": {}},
     "bad_op"),                                                                         # a server id
    ("c-bob", {"action": "item.update", "workspace": "ws-a", "item_id": "nope", "fields": {"a": 1}},
     "item_not_found"),
    ("c-bob", {"action": "chat", "workspace": "ws-a", "text": "x", "op_id": "has space"}, "bad_op"),
    ("c-bob", {"action": "join"}, "bad_envelope"),
    ("c-bob", {"action": "join", "workspace": "ws-a", "since": -1}, "bad_envelope"),
    ("c-bob", {"action": "state", "workspace": "ws-a", "seq": 0}, "bad_envelope"),
    ("c-bob", {"action": "presence", "workspace": "ws-a", "status": "active"}, "not_joined"),
])
def test_refusals(world, connection, message, code):
    reply = world.send(connection, **message)
    assert reply["action"] == "error" and reply["error"]["code"] == code
    assert world.oplog.all("ws-a") == []  # nothing refused was logged


def test_an_op_resent_with_its_op_id_is_acknowledged_with_the_original_and_applied_once(world):
    world.send("c-bob", action="join", workspace="ws-a")
    world.send("c-ann", action="join", workspace="ws-a")
    first = world.send("c-bob", action="item.create", workspace="ws-a", item_id="n1", kind="note",
                       fields={"t": 1}, op_id="bob-1")
    again = world.send("c-bob2", action="item.create", workspace="ws-a", item_id="n1", kind="note",
                       fields={"t": 1}, op_id="bob-1")  # after a reconnect, on another connection
    assert again["seq"] == first["seq"] == 1 and again["duplicate"] is True and again["op"]["op_id"] == "bob-1"
    chat = world.send("c-bob", action="chat", workspace="ws-a", text="once", op_id="bob-2")
    assert world.send("c-bob", action="chat", workspace="ws-a", text="once", op_id="bob-2")["seq"] == chat["seq"]
    assert [o.seq for o in world.oplog.all("ws-a")] == [1, 2]
    # another user's op id is theirs alone
    assert world.send("c-ann", action="chat", workspace="ws-a", text="mine", op_id="bob-2")["seq"] == 3


def test_a_failure_nobody_foresaw_is_answered_not_silent(world):
    world.send("c-bob", action="join", workspace="ws-a")
    world.oplog.fail_next.append(RuntimeError("the table is on fire"))
    reply = world.send("c-bob", action="chat", workspace="ws-a", text="hello", id="m1", op_id="o1")
    assert (reply["action"], reply["id"], reply["error"]["code"]) == ("error", "m1", "internal_error")
    assert world.send("c-bob", action="chat", workspace="ws-a", text="hello", id="m2", op_id="o1")["seq"] == 1


def test_a_removed_member_is_refused_at_once_though_the_cache_still_says_member(world):
    world.send("c-bob", action="join", workspace="ws-a")
    world.send("c-bob", action="chat", workspace="ws-a", text="before")
    del world.tenancy.memberships[("ws-a", "bob")]  # the grant is checked in the write itself
    refused = world.send("c-bob2", action="chat", workspace="ws-a", text="after")
    assert refused["error"]["code"] == "not_found"
    world.tenancy.memberships[("ws-a", "bob")] = Membership("ws-a", "bob", "acc-a", WorkspaceRole.VIEWER, 0)
    demoted = world.send("c-bob", action="item.create", workspace="ws-a", item_id="x", kind="note", fields={})
    assert demoted["error"]["code"] == "role_too_low"
    assert len(world.oplog.all("ws-a")) == 1


def test_a_member_removed_a_moment_ago_reads_and_probes_nothing_while_the_cache_still_says_member():
    """An outside client, removed, kept reading history and probing items (`conflict` naming a version,
    `item_exists`) for about 10 s on a connection that had not joined: reads and refusals ask the source."""
    world = World(lagging=True)
    world.send("c-bob", action="item.create", workspace="ws-a", item_id="n", kind="note", fields={"t": 1})
    del world.tenancy.memberships[("ws-a", "bob")]  # the cache (world.cached) still says member
    assert ("ws-a", "bob") in world.cached.memberships
    probes: list[dict[str, Any]] = [dict(action="history", workspace="ws-a", after=0),
              dict(action="state", workspace="ws-a", seq=1, after="a"),
              dict(action="item.create", workspace="ws-a", item_id="n", kind="note", fields={}),
              dict(action="item.update", workspace="ws-a", item_id="n", fields={"t": 2}, if_version=9),
              dict(action="item.delete", workspace="ws-a", item_id="nothing-here")]
    for probe in probes:
        answer = world.send("c-bob2", id="p", **probe)
        assert answer["action"] == "error" and answer["error"]["code"] == "not_found", (probe, answer)
    assert len(world.oplog.all("ws-a")) == 1


def test_the_heartbeat_says_the_role_as_it_is_now(world):
    """An open page shows the controls of the role it joined with: the pong tells it when an owner changed it."""
    assert world.send("c-bob", action="join", workspace="ws-a")["role"] == "editor"
    assert world.send("c-bob", action="ping", workspace="ws-a")["role"] == "editor"
    world.tenancy.memberships[("ws-a", "bob")] = Membership("ws-a", "bob", "acc-a", WorkspaceRole.VIEWER, 0)
    assert world.send("c-bob", action="ping", workspace="ws-a")["role"] == "viewer"
    world.tenancy.memberships[("ws-a", "bob")] = Membership("ws-a", "bob", "acc-a", WorkspaceRole.OWNER, 0)
    assert world.send("c-bob", action="ping", workspace="ws-a")["role"] == "owner"
    del world.tenancy.memberships[("ws-a", "bob")]
    assert world.send("c-bob", action="ping", workspace="ws-a")["error"]["code"] == "not_found"
    assert "role" not in world.send("c-bob", action="ping")  # a ping without a workspace is only a ping


def test_history_and_resume_pages_stay_under_the_message_limit(world):
    world.send("c-bob", action="join", workspace="ws-a")
    big = "x" * 3900
    for i in range(60):  # ~240 KB of chat in all
        world.send("c-bob", action="chat", workspace="ws-a", text=f"{i} {big}")
    page = world.send("c-bob", action="history", workspace="ws-a", after=0, limit=200)
    raw = [d for c, d in world.notifier.sent if c == "c-bob"][-1]
    assert len(raw) < 128 * 1024 and page["more"] is True
    assert [o["seq"] for o in page["ops"]] == list(range(1, len(page["ops"]) + 1))
    resumed = world.send("c-vic", action="join", workspace="ws-a", since=0)
    assert resumed["more"] is True and resumed["ops"][0]["seq"] == 1
    seen, after = [], 0
    while True:
        page = world.send("c-vic", action="history", workspace="ws-a", after=after, limit=200)
        seen += [o["seq"] for o in page["ops"]]
        if not page["more"]:
            break
        after = page["ops"][-1]["seq"]
    assert seen == list(range(1, 61))


def test_a_big_state_comes_in_pages_of_one_seq(world):
    world.send("c-bob", action="join", workspace="ws-a")
    for i in range(12):  # twelve items of ~15 KB: ~180 KB of state
        world.send("c-bob", action="item.create", workspace="ws-a", item_id=f"n{i:02d}", kind="note",
                   fields={"text": "y" * 15000})
    welcome = world.send("c-vic", action="join", workspace="ws-a")
    state = welcome["state"]
    assert state["more"] is True and state["seq"] == 12
    items = state["items"]
    world.send("c-bob", action="item.delete", workspace="ws-a", item_id="n11")  # after the welcome
    while state["more"]:
        state = world.send("c-vic", action="state", workspace="ws-a", seq=welcome["state"]["seq"],
                           after=state["next"])
        assert state["seq"] == 12  # every page is of the state the welcome started
        items += state["items"]
    assert [i["item_id"] for i in items] == [f"n{i:02d}" for i in range(12)]
    assert all(len(d) < 128 * 1024 for _, d in world.notifier.sent)


def test_an_item_too_large_is_refused_with_a_reason(world):
    world.send("c-bob", action="join", workspace="ws-a")
    world.send("c-bob", action="item.create", workspace="ws-a", item_id="n", kind="note", fields={"a": "z" * 9000})
    grown = world.send("c-bob", action="item.update", workspace="ws-a", item_id="n", fields={"b": "z" * 9000})
    assert grown["error"]["code"] == "item_too_large"
    assert world.send("c-bob", action="item.update", workspace="ws-a", item_id="n",
                      fields={"a": None, "b": "z" * 9000})["action"] == "ack"  # null removes a field


def test_nan_and_deep_nesting_are_refused_as_bad_json(world):
    world.send("c-bob", action="join", workspace="ws-a")
    for raw in ('{"action": "item.create", "workspace": "ws-a", "item_id": "n", "kind": "note", '
                '"fields": {"x": NaN}}', '{"action": "ping", "id": "d", "x": ' + "[" * 5000 + "]" * 5000 + "}",
                '{"action": "ping", "x": Infinity}'):
        world.router.handle("c-bob", raw)
        reply = json.loads(world.notifier.sent[-1][1])
        assert reply["error"]["code"] == "bad_json"
    assert world.oplog.all("ws-a") == []


def test_a_resume_from_beyond_the_log_is_told_to_reset(world):
    world.send("c-bob", action="join", workspace="ws-a")
    world.send("c-bob", action="chat", workspace="ws-a", text="one")
    welcome = world.send("c-vic", action="join", workspace="ws-a", since=58)
    assert welcome["reset"] is True and welcome["state"]["seq"] == 1 and "ops" not in welcome
