"""Who a workspace's ops are sent to, as connections come and go (services/audience.py), with in-memory twins:
a join, a connect that names the workspace, a leave, a sweep and a move to another workspace each change the
audience version, so warm function instances read the list again; and the faults around those counts that an
independent review found. Also the `history` limit a doc-only client found refused."""

import asyncio

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo_audience import DynamoAudienceCounter
from chalicelib.domain.tenancy import Membership, Workspace, WorkspaceRole
from chalicelib.services.access import AccessService
from chalicelib.services.connections import ConnectionService
from tests.fakes import InMemoryUsage, RecordingEvents
from tests.unit.test_access import TOKENS, token
from tests.unit.test_sync_service import World


@pytest.fixture
def world():
    return World()


def test_ops_stored_after_a_leave_or_a_sweep_are_not_sent_to_the_connections_let_go(world):
    """A doc-only client saw ops arrive after `left`, and after a sweep, for up to 30 s: each function instance
    keeps a workspace's list of connections, and only joins made it read the list again. Now a leave and a
    sweep change the audience version too (services/audience.py)."""
    for connection in ("c-bob", "c-ann", "c-vic"):
        world.send(connection, action="join", workspace="ws-a")
    world.send("c-ann", action="chat", workspace="ws-a", text="everyone")  # the list is read, and kept
    assert world.to("c-bob", "op") and world.to("c-vic", "op")
    assert world.send("c-bob", action="leave", workspace="ws-a")["action"] == "left"
    world.notifier.sent.clear()
    world.send("c-ann", action="chat", workspace="ws-a", text="after bob left")
    assert world.to("c-bob", "op") == [] and [m["op"]["seq"] for m in world.to("c-vic", "op")] == [2]
    world.store.rows["c-vic"]["last_seen"] -= 120
    world.send("c-ann", action="ping", workspace="ws-a")  # ann's heartbeat sweeps vic out
    assert world.store.get("c-vic")["workspace_id"] == "-"
    world.notifier.sent.clear()
    world.send("c-ann", action="chat", workspace="ws-a", text="after vic was swept")
    assert world.to("c-vic", "op") == []


def test_a_connection_opened_in_a_workspace_gets_its_ops_before_it_joins(world):
    """The same client's other finding: a connect with `?workspace=` was not counted into the audience, so a
    warm instance's kept list missed it (12 of 15 such connections got no live op before their join)."""
    connections = ConnectionService(AccessService(TOKENS, world.tenancy), world.store, RecordingEvents(),
                                    InMemoryUsage(), note_audience_change=world.log.note_audience_change)
    for connection in ("c-bob", "c-ann"):
        world.send(connection, action="join", workspace="ws-a")
    world.send("c-ann", action="chat", workspace="ws-a", text="before")  # the list is read, and kept
    connections.connect("c-new", token("vic"), "10.0.0.1", "ws-a")
    world.notifier.sent.clear()
    world.send("c-ann", action="chat", workspace="ws-a", text="after vic connected")
    assert [m["op"]["data"]["text"] for m in world.to("c-new", "op")] == ["after vic connected"]


def test_a_join_of_another_workspace_takes_the_connection_out_of_the_first_one(world):
    """Review: `join B` moved the connection out of A without counting A, so A's ops still reached it."""
    world.tenancy.workspaces["ws-c"] = Workspace("ws-c", "acc-a", "C", 0)
    world.tenancy.memberships[("ws-c", "bob")] = Membership("ws-c", "bob", "acc-a", WorkspaceRole.EDITOR, 0)
    for connection in ("c-bob", "c-ann", "c-vic"):
        assert world.send(connection, action="join", workspace="ws-a")["action"] == "welcome"
    world.send("c-ann", action="chat", workspace="ws-a", text="cached")  # ws-a's list kept, c-bob in it
    world.notifier.sent.clear()
    assert world.send("c-bob", action="join", workspace="ws-c")["action"] == "welcome"
    offline = [m for m in world.to("c-ann", "presence") if m["presence"]["status"] == "offline"]
    assert [m["connection"] for m in offline] == ["c-bob"]  # ws-a is told he went
    world.notifier.sent.clear()
    world.send("c-ann", action="chat", workspace="ws-a", text="after bob moved")
    assert world.to("c-bob", "op") == [] and world.to("c-vic", "op")


def test_a_leave_sent_again_after_its_count_failed_is_counted(world):
    """Review: a leave whose count failed answered an error; the client's second leave found nothing to take
    out and counted nothing, so warm instances kept sending to the leaver."""
    for connection in ("c-bob", "c-ann", "c-vic"):
        world.send(connection, action="join", workspace="ws-a")
    world.send("c-ann", action="chat", workspace="ws-a", text="cached")
    original, calls = world.oplog.note_audience_change, []

    def flaky(workspace_id):
        calls.append(workspace_id)
        if len(calls) == 1:
            raise RuntimeError("TransactionConflictException, every retry")
        original(workspace_id)

    world.oplog.note_audience_change = flaky
    assert world.send("c-bob", action="leave", workspace="ws-a")["action"] == "error"
    assert world.send("c-bob", action="leave", workspace="ws-a")["action"] == "left"
    world.notifier.sent.clear()
    world.send("c-ann", action="chat", workspace="ws-a", text="after left")
    assert world.to("c-bob", "op") == [] and calls == ["ws-a", "ws-a"]
    # A leave of a workspace one is not a member of writes nothing there.
    assert world.send("c-olga", action="leave", workspace="ws-a")["action"] == "left"
    assert calls == ["ws-a", "ws-a"]


def test_a_sweep_counts_before_it_announces(world, monkeypatch):
    """Review: the sweep counted only after announcing every departure, and a failed announcement skipped it."""
    for connection in ("c-bob", "c-ann"):
        world.send(connection, action="join", workspace="ws-a")
    world.store.rows["c-bob"]["last_seen"] -= 120
    before = world.oplog.audience("ws-a")
    presence = world.sync.presence

    def failing(*_args, **_kwargs):
        raise RuntimeError("the announcement's query was throttled")

    monkeypatch.setattr(presence, "announce", failing)
    with pytest.raises(RuntimeError):
        presence.sweep("ws-a")
    assert world.oplog.audience("ws-a") == before + 1 and world.store.get("c-bob")["workspace_id"] == "-"


def test_a_connect_whose_count_fails_leaves_no_row_behind(world):
    """Review: the upgrade is refused, no $disconnect comes, and the row stayed online in the workspace."""

    def failing(_workspace_id):
        raise RuntimeError("TransactionConflictException, every retry")

    connections = ConnectionService(AccessService(TOKENS, world.tenancy), world.store, RecordingEvents(),
                                    InMemoryUsage(), note_audience_change=failing)
    with pytest.raises(RuntimeError):
        connections.connect("c-new", token("vic"), "10.0.0.1", "ws-a")
    assert world.store.get("c-new") is None


def test_the_counter_tries_again_when_an_op_transaction_holds_the_item():
    class Client:
        calls = 0

        def update_item(self, **_request):
            Client.calls += 1
            if Client.calls < 3:
                raise ClientError({"Error": {"Code": "TransactionConflictException", "Message": "busy"}},
                                  "UpdateItem")

    DynamoAudienceCounter(Client(), "ops").note_audience_change("ws-a")  # type: ignore[arg-type]
    assert Client.calls == 3

    class Refusing:
        def update_item(self, **_request):
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "no"}}, "UpdateItem")

    with pytest.raises(ClientError):
        DynamoAudienceCounter(Refusing(), "ops").note_audience_change("ws-a")  # type: ignore[arg-type]


def test_a_draining_gateway_does_not_take_the_wake_up_of_a_queued_invocation():
    """Review (/tmp/reviewC/drain_test.py): with `notify`, a drain waiting first took the one wake-up."""
    from local.function_instances import FunctionInstances

    async def scenario() -> tuple[bool, bool]:
        instances = FunctionInstances(1)
        release = asyncio.Event()

        async def call(_index, message):
            if message["route"] == "A":
                await release.wait()
            return {"result": None}

        instances._call = call  # type: ignore[method-assign]
        first = asyncio.create_task(instances.invoke("A", {}))
        await asyncio.sleep(0.01)
        drain = asyncio.create_task(instances.drain(30))
        await asyncio.sleep(0.01)
        queued = asyncio.create_task(instances.invoke("M", {}))
        await asyncio.sleep(0.01)
        release.set()
        await first
        await asyncio.wait_for(queued, 30)  # it runs: the instance it waited for was handed to it
        return await drain, queued.done()

    drained, ran = asyncio.run(scenario())
    assert ran and drained


def test_a_history_limit_out_of_range_is_taken_as_the_nearest_a_negative_one_too(world):
    """docs/protocol.md: `limit` is 1 to 200, other values taken as the nearest; a doc-only client found -3
    refused as `bad_envelope` while 0 and 500 were taken."""
    world.send("c-bob", action="join", workspace="ws-a")
    for i in range(3):
        world.send("c-bob", action="chat", workspace="ws-a", text=str(i))
    for limit, count in ((-3, 1), (0, 1), (2, 2), (500, 3), (None, 3)):
        reply = world.send("c-bob", action="history", workspace="ws-a", after=0, limit=limit)
        assert len(reply["ops"]) == count, (limit, reply)
    for bad in ("5", 2.5, True):
        reply = world.send("c-bob", action="history", workspace="ws-a", after=0, limit=bad)
        assert reply["error"]["code"] == "bad_envelope"
