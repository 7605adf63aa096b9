"""The replica's rules (docs/protocol.md, "Items: the rules") and its ordering: pure, no network."""

from __future__ import annotations

import random
from typing import Any

import pytest
from kalexo_client import wire
from kalexo_client.events import Backoff
from kalexo_client.models import Op
from kalexo_client.replica import Replica
from kalexo_client.sending import rate_limit_delay


def op(seq: int, op_kind: str, **data: Any) -> Op:
    return Op(seq=seq, kind=op_kind, by="alice", at_ms=seq, data=data, op_id=f"o-{seq}")


LOG = [
    op(1, "item.create", item_id="n1", kind="note", fields={"text": "a", "x": 1, "gone": None}),
    op(2, "chat", text="hello"),
    op(3, "item.update", item_id="n1", fields={"text": "b", "x": None, "y": 2}),
    op(4, "item.create", item_id="t1", kind="task", fields={"done": False}),
    op(5, "item.delete", item_id="n1"),
    op(6, "item.create", item_id="n1", kind="task", fields={"title": "again"}),  # starts over, kind may differ
    op(7, "item.update", item_id="t1", fields={"done": True}),
]
FINAL = [
    {"item_id": "n1", "kind": "task", "fields": {"title": "again"}, "version": 6},
    {"item_id": "t1", "kind": "task", "fields": {"done": True}, "version": 7},
]


def test_rules_in_order() -> None:
    replica = Replica()
    applied = [o.seq for entry in LOG for o in replica.receive(entry)]
    assert applied == [1, 2, 3, 4, 5, 6, 7]
    assert replica.snapshot() == FINAL
    assert [o.text for o in replica.chat] == ["hello"]


def test_intermediate_state_follows_each_rule() -> None:
    replica = Replica()
    for entry in LOG[:3]:
        replica.receive(entry)
    assert replica.snapshot() == [{"item_id": "n1", "kind": "note", "fields": {"text": "b", "y": 2}, "version": 3}]


@pytest.mark.parametrize("seed", range(20))
def test_any_arrival_order_with_duplicates_ends_the_same(seed: int) -> None:
    shuffled = [*LOG, *random.Random(seed).sample(LOG, 4)]
    random.Random(seed).shuffle(shuffled)
    replica = Replica()
    applied = [o.seq for entry in shuffled for o in replica.receive(entry)]
    assert applied == [1, 2, 3, 4, 5, 6, 7]  # each once, in order, whatever the arrival
    assert replica.snapshot() == FINAL
    assert not replica.has_gap


def test_ops_past_a_gap_wait_in_pending() -> None:
    replica = Replica()
    assert replica.receive(LOG[0]) == [LOG[0]]
    assert replica.receive(LOG[3]) == []
    assert replica.has_gap and replica.applied == 1
    assert [o.seq for o in replica.receive(LOG[2])] == []
    assert [o.seq for o in replica.receive(LOG[1])] == [2, 3, 4]
    assert not replica.has_gap


def test_apply_is_total() -> None:
    replica = Replica()
    replica.receive(op(1, "item.update", item_id="absent", fields={"a": 1}))
    replica.receive(op(2, "item.delete", item_id="absent"))
    replica.receive(op(3, "item.create", item_id="n", kind="note", fields={"a": 1}))
    replica.receive(op(4, "item.create", item_id="n", kind="note", fields={"b": 2}))  # a create replaces
    replica.receive(op(5, "future.kind", item_id="n"))  # unknown kinds change nothing, but count
    assert replica.applied == 5
    assert replica.snapshot() == [{"item_id": "n", "kind": "note", "fields": {"b": 2}, "version": 4}]


def test_a_state_replaces_everything_and_forgets_what_waited() -> None:
    replica = Replica()
    replica.receive(LOG[0])
    replica.receive(LOG[1])
    replica.receive(op(9, "chat", text="past a gap"))
    replica.load_state(3, [{"item_id": "z", "kind": "note", "fields": {"k": 1}, "version": 3}])
    assert replica.applied == 3 and not replica.has_gap and not replica.chat
    assert replica.snapshot() == [{"item_id": "z", "kind": "note", "fields": {"k": 1}, "version": 3}]
    assert replica.receive(LOG[2]) == []  # seq 3 is in the state already


def test_strict_json() -> None:
    for text in ('{"a": NaN}', '{"a": Infinity}', '{"a": 1, "a": 2}'):
        with pytest.raises(ValueError):
            wire.loads(text)
    assert wire.loads('{"é": "ü"}') == {"é": "ü"}
    with pytest.raises(ValueError):
        wire.dumps({"a": float("nan")})
    assert wire.dumps({"a": "é"}) == '{"a":"é"}'
    with pytest.raises(wire.MessageTooLarge):
        wire.dumps({"text": "x" * wire.MAX_MESSAGE_BYTES})
    assert wire.compact_size({"a": "é"}) == len('{"a":"é"}'.encode())


def test_op_ids() -> None:
    assert wire.check_op_id(wire.new_op_id())
    for bad in ("", "x" * 65, "has space", "slash/"):
        with pytest.raises(ValueError):
            wire.check_op_id(bad)


def test_backoff_doubles_to_the_cap_with_jitter() -> None:
    backoff = Backoff()
    for attempt, base in enumerate([0.25, 0.5, 1, 2, 4, 8, 8, 8]):
        delay = backoff.delay(attempt)
        assert base * 0.5 <= delay <= base
    assert Backoff(jitter=0).delay(40) == 8


def test_a_rate_limited_error_is_retried_after_its_retry_after_ms() -> None:
    assert rate_limit_delay({"code": "rate_limited", "message": "retry in 900 ms", "retry_after_ms": 35}) == 0.035
    # A server from before the field: the delay its text names; neither: a second. A nonsense field is ignored.
    assert rate_limit_delay({"code": "rate_limited", "message": "too many messages; retry in 120 ms"}) == 0.12
    assert rate_limit_delay({"code": "rate_limited", "message": "slow down"}) == 1.0
    assert rate_limit_delay({"code": "rate_limited", "message": "retry in 5 ms", "retry_after_ms": True}) == 0.005
    assert rate_limit_delay({"code": "rate_limited", "message": "", "retry_after_ms": -3}) == 1.0
