"""Shared-state convergence: the same ops, applied in sequence order by anyone, give the same state."""

import random

import pytest

from chalicelib.domain.sync import Op, OpError, WorkspaceState, validate


def op(seq: int, op_kind: str, **data) -> Op:
    return Op(seq, op_kind, "u", 0, validate(op_kind, data))


def test_fields_resolve_by_sequence_and_deletes_are_final():
    state = WorkspaceState()
    for o in (op(1, "item.create", item_id="n1", kind="note", fields={"text": "a", "x": 1}),
              op(2, "item.update", item_id="n1", fields={"text": "b"}),
              op(3, "item.update", item_id="n1", fields={"x": 2}),
              op(4, "item.create", item_id="t1", kind="task", fields={"done": False}),
              op(5, "item.delete", item_id="t1"),
              op(6, "item.update", item_id="t1", fields={"done": True}),  # after the delete: no effect
              op(7, "chat", text="hello")):
        state.apply(o)
    assert state.view() == {"seq": 7, "items": [{"item_id": "n1", "kind": "note", "fields": {"text": "b", "x": 2},
                                                 "version": 3}]}


def test_replays_and_duplicates_change_nothing():
    ops = [op(1, "item.create", item_id="n", kind="note", fields={"a": 1}), op(2, "item.update", item_id="n",
                                                                             fields={"a": 2})]
    state = WorkspaceState()
    for o in ops + ops + [ops[0]]:
        state.apply(o)
    assert state.view()["items"][0]["fields"] == {"a": 2}


def test_random_histories_converge():
    rng = random.Random(7)
    ops = []
    for seq in range(1, 400):
        item = f"i{rng.randrange(8)}"
        op_kind = rng.choice(["item.create", "item.update", "item.update", "item.delete", "chat"])
        if op_kind == "chat":
            ops.append(op(seq, op_kind, text=f"m{seq}"))
        elif op_kind == "item.delete":
            ops.append(op(seq, op_kind, item_id=item))
        elif op_kind == "item.create":
            ops.append(op(seq, op_kind, item_id=item, kind="note", fields={"f": seq}))
        else:
            ops.append(op(seq, op_kind, item_id=item, fields={rng.choice("abc"): seq}))
    server = WorkspaceState()
    for o in ops:
        server.apply(o)
    for _ in range(5):  # clients that saw the ops with duplicates, and resumed from different points
        client = WorkspaceState()
        cut = rng.randrange(len(ops))
        for o in ops[:cut] + ops[cut - 10 if cut > 10 else 0:]:
            client.apply(o)
        assert client.view() == server.view()


@pytest.mark.parametrize(("kind", "data", "code"), [
    ("chat", {"text": ""}, "bad_op"), ("chat", {"text": "x" * 5000}, "bad_op"),
    ("item.create", {"item_id": "a", "kind": "spaceship", "fields": {"x": 1}}, "bad_op"),
    ("item.update", {"item_id": "a", "fields": {}}, "bad_op"), ("item.delete", {}, "bad_op"),
    ("item.explode", {"item_id": "a", "fields": {"x": 1}}, "unknown_op"),
])
def test_invalid_ops_are_refused_with_codes(kind, data, code):
    with pytest.raises(OpError) as refused:
        validate(kind, data)
    assert refused.value.code == code


def test_changes_to_turns_the_present_into_the_past_including_revivals():
    from chalicelib.domain.sync import changes_to

    history = [op(1, "item.create", item_id="a", kind="note", fields={"t": "one", "x": 1}),
               op(2, "item.create", item_id="b", kind="task", fields={"done": False}),
               op(3, "item.update", item_id="a", fields={"t": "two", "y": 5}),  # after the restore point
               op(4, "item.delete", item_id="b"),
               op(5, "item.create", item_id="c", kind="note", fields={"t": "new"})]
    past, present = WorkspaceState(), WorkspaceState()
    for o in history[:2]:
        past.apply(o)
    for o in history:
        present.apply(o)
    restored = present
    for seq, (kind, data) in enumerate(changes_to(present, past), start=6):
        restored.apply(Op(seq, kind, "admin", 0, data))
    strip = [{k: v for k, v in i.items() if k != "version"} for i in restored.view()["items"]]
    assert strip == [{"item_id": "a", "kind": "note", "fields": {"t": "one", "x": 1, "y": None}},
                     {"item_id": "b", "kind": "task", "fields": {"done": False}}]  # b revived, c gone
