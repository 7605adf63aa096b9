"""The connections store against the emulator when one connection's moves run at once, or fail half-way.

A join, a leave, a sweep, a 410 and a $disconnect of the same connection may run in different function
instances at the same moment (API Gateway runs a connection's messages concurrently), and any write may fail
(throttling). Whatever happens, the list a workspace's ops go to must name the connection exactly when its row
says it is in that workspace: a row in W without W's membership gets no live ops; a membership in a workspace
it left gets ops after `left`. Each case here stops one operation just before its write, runs another one whole
in between, lets the first finish, then checks that agreement.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo_connections import DynamoConnectionStore


class _Paused:
    """The emulator's client, but `before()` runs once, just before the write numbered `at` (from 0) that it is
    asked for: a store may move a connection in one write or several, and each gap between them is a moment
    another function instance may act in."""

    WRITES = frozenset({"put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items"})

    def __init__(self, client: Any) -> None:
        self._client = client
        self.exceptions = client.exceptions
        self.before: Callable[[], Any] | None = None
        self.at = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name not in self.WRITES:
            return method

        def write(**request: Any) -> Any:
            if self.before is not None:
                if self.at == 0:
                    hook, self.before = self.before, None
                    hook()
                self.at -= 1
            return method(**request)

        return write


@pytest.fixture
def world(stack, clients):
    table = stack.outputs["ConnectionsTableName"]
    paused = _Paused(clients["dynamodb"])
    suffix = str(time.time_ns())
    return {"paused": DynamoConnectionStore(paused, table),  # type: ignore[arg-type]
            "whole": DynamoConnectionStore(clients["dynamodb"], table),
            "hook": paused, "ddb": clients["dynamodb"], "table": table, "c": f"c-{suffix}", "w": f"w-{suffix}",
            "x": f"x-{suffix}"}


def _agree(world: dict[str, Any]) -> None:
    """Exactly the workspace the row names (none when it is gone or in no workspace) lists the connection."""
    store, c = world["whole"], world["c"]
    row = store.get(c)
    expected = [] if row is None or row["workspace_id"] == "-" else [row["workspace_id"]]
    items = world["ddb"].scan(TableName=world["table"], ConsistentRead=True, FilterExpression="sk = :s",
                              ExpressionAttributeValues={":s": {"S": f"CONN#{c}"}})["Items"]
    listed = sorted(item["pk"]["S"].removeprefix("WS#") for item in items if item["pk"]["S"].startswith("WS#"))
    assert listed == expected, (row, listed)
    for workspace in {world["w"], world["x"]}:
        assert (c in store.in_workspace(workspace)) == (workspace in expected)


def _operations(world: dict[str, Any]) -> dict[str, Callable[[DynamoConnectionStore], Any]]:
    c, w, x = world["c"], world["w"], world["x"]
    return {
        "join w": lambda store: store.bind(c, "ann", w),
        "join x": lambda store: store.bind(c, "ann", x),
        "leave w": lambda store: store.unbind(c, w),
        "sweep w": lambda store: store.unbind(c, w, stale_before=int(time.time()) + 1),
        "410": lambda store: store.gone(c),
        "disconnect": lambda store: store.delete(c),
    }


NAMES = ["join w", "join x", "leave w", "sweep w", "410", "disconnect"]


def _fresh(world: dict[str, Any], start: str) -> None:
    """A new connection, in w or in none, bound (it has sent a message: a 410 for it is real)."""
    world["c"] = f"c-{time.time_ns()}"
    world["whole"].put(world["c"], "ann", None, {})
    world["whole"].bind(world["c"], "ann", world["w"] if start == "in w" else None)


def _outcome(name: str, answer: Any, row: dict[str, Any] | None, world: dict[str, Any]) -> None:
    """What the operation said it did is what the row shows, when nothing ran after its write."""
    where = None if row is None else row["workspace_id"]
    if name.startswith("join") and answer is not None:
        assert where == world[name[-1]], (name, answer, row)
    if name in ("leave w", "sweep w", "410") and answer is not None:
        assert where == "-", (name, answer, row)
    if name == "disconnect" or (name.startswith("join") and answer is None):
        assert row is None, (name, answer, row)


@pytest.mark.parametrize(("first", "meanwhile"), list(itertools.product(NAMES, NAMES)))
@pytest.mark.parametrize("start", ["in w", "in none"])
def test_two_moves_of_one_connection_at_once_leave_row_and_lists_agreeing(world, first, meanwhile, start):
    """`meanwhile` runs whole before each of `first`'s writes in turn (a fresh connection each time)."""
    raced = 0
    for at in itertools.count():
        _fresh(world, start)
        operations = _operations(world)
        world["hook"].before = functools.partial(operations[meanwhile], world["whole"])
        world["hook"].at = at
        answer = operations[first](world["paused"])
        if world["hook"].before is not None:  # `first` made fewer writes than that: every gap has been tried
            world["hook"].before = None
            break
        raced += 1
        _agree(world)
        if at == 0:
            _outcome(first, answer, world["whole"].get(world["c"]), world)
    # Only a leave or a sweep of a connection in no workspace has nothing to write.
    assert raced > 0 or (start == "in none" and first in ("leave w", "sweep w")), (first, start)


@pytest.mark.parametrize("name", NAMES)
def test_a_move_that_fails_changes_nothing_and_its_retry_completes_it(world, name):
    whole, c = world["whole"], world["c"]
    whole.put(c, "ann", world["x"], {})
    whole.bind(c, "ann", world["w"])

    def throttled() -> None:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "TransactWriteItems")

    world["hook"].before, world["hook"].at = throttled, 0
    with pytest.raises(ClientError):
        _operations(world)[name](world["paused"])
    row = whole.get(c)
    assert row is not None and row["workspace_id"] == world["w"]  # nothing of it was written
    _agree(world)
    _operations(world)[name](world["paused"])  # the client sends it again
    _agree(world)


def test_a_connection_moved_by_the_previous_release_is_listed_where_it_is(world):
    """While a deploy rolls out, a function of the previous release may move a row this release wrote: its
    heartbeat puts it in the list where it is now; a later move takes it out of the one it had left too."""
    whole, ddb, table, c, w, x = (world[k] for k in ("whole", "ddb", "table", "c", "w", "x"))
    whole.put(c, "ann", x, {})
    ddb.update_item(TableName=table, Key={"pk": {"S": f"CONN#{c}"}, "sk": {"S": "CONN"}},  # the old bind: row only
                    UpdateExpression="SET workspace_id = :w, gsi1pk = :p",
                    ExpressionAttributeValues={":w": {"S": w}, ":p": {"S": f"WS#{w}"}})
    assert whole.touch(c, w)
    assert whole.in_workspace(w) == [c]
    whole.bind(c, "ann", None)
    assert whole.in_workspace(w) == [] and whole.in_workspace(x) == []
    _agree(world)


@pytest.mark.parametrize("then", ["join x", "disconnect", "410"])
def test_a_leave_by_the_previous_release_does_not_keep_the_connection_listed_past_its_next_move(world, then):
    """The previous release's leave moves the row only: the list it left still names the connection until
    this release next moves it (a join elsewhere, its $disconnect, a 410), which takes it out of that list."""
    whole, ddb, table, c, w = (world[k] for k in ("whole", "ddb", "table", "c", "w"))
    whole.put(c, "ann", None, {})
    whole.bind(c, "ann", w)
    ddb.update_item(TableName=table, Key={"pk": {"S": f"CONN#{c}"}, "sk": {"S": "CONN"}},  # the old leave
                    UpdateExpression="SET workspace_id = :l, gsi1pk = :p",
                    ExpressionAttributeValues={":l": {"S": "-"}, ":p": {"S": "WS#-"}})
    assert whole.in_workspace(w) == [c]
    _operations(world)[then](whole)
    assert whole.in_workspace(w) == []
    _agree(world)


class _Contended:
    """The emulator's client, but the first `times` writes of `method` are refused as DynamoDB refuses a write to
    an item another transaction holds (the emulator serializes requests, so it never does)."""

    def __init__(self, client: Any, method: str, times: int) -> None:
        self._client, self._method, self.left = client, method, times
        self.exceptions = client.exceptions

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if name != self._method:
            return method

        def contended(**request: Any) -> Any:
            if self.left > 0:
                self.left -= 1
                if name == "transact_write_items":
                    raise self.exceptions.TransactionCanceledException({
                        "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                        "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}]}, name)
                raise ClientError({"Error": {"Code": "TransactionConflictException", "Message": "in a transaction"}},
                                  name)
            return method(**request)

        return contended


def test_a_move_held_up_by_another_transaction_is_tried_again_and_gives_up_changing_nothing(world):
    whole, c, w, x = (world[k] for k in ("whole", "c", "w", "x"))
    whole.put(c, "ann", w, {})
    held = _Contended(world["ddb"], "transact_write_items", 2)
    assert DynamoConnectionStore(held, world["table"]).bind(c, "ann", x) == w  # type: ignore[arg-type]
    assert held.left == 0 and whole.get(c)["workspace_id"] == x
    _agree(world)
    always = _Contended(world["ddb"], "transact_write_items", 100)
    with pytest.raises(ClientError):
        DynamoConnectionStore(always, world["table"]).bind(c, "ann", w)  # type: ignore[arg-type]
    assert whole.get(c)["workspace_id"] == x
    _agree(world)


@pytest.mark.parametrize("write", ["heartbeat", "count", "follow events"])
def test_a_write_to_a_row_a_move_holds_is_tried_again(world, write):
    whole, c, w = (world[k] for k in ("whole", "c", "w"))
    whole.put(c, "ann", w, {})
    held = _Contended(world["ddb"], "update_item", 2)
    store = DynamoConnectionStore(held, world["table"])  # type: ignore[arg-type]
    if write == "heartbeat":
        assert store.touch(c, w, {"status": "idle"})
        assert whole.get(c)["presence"] == '{"status":"idle"}'
    elif write == "count":
        store.count_routed(c)
        assert whole.get(c)["routed"] == 1
    else:
        store.subscribe_events(c, "acc-1")
        assert whole.get(c)["opened"] is True
    assert held.left == 0
