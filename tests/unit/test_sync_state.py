"""The shared state's rules: what each op does, what is refused against the state it would follow, and that
the same ops applied in sequence order give the same state anywhere."""

import random
from typing import Any

import pytest

from chalicelib.domain import ops as op_rules
from chalicelib.domain.ops import SYSTEM, Op, OpError
from chalicelib.domain.sync import MAX_ITEM_BYTES, WorkspaceState, attributed, changes_to


def op(seq: int, op_kind: str, by: str = "u", **data) -> Op:
    return Op(seq, op_kind, by, 0, op_rules.shape(op_kind, data))


def checked(state: WorkspaceState, op_kind: str, by: str = "u", **data) -> Op:
    """An op as the writer makes it: shaped, checked against the state, then applied."""
    shaped = op_rules.shape(op_kind, data)
    state.check(op_kind, shaped, by)
    made = Op(state.seq + 1, op_kind, by, 0, shaped)
    state.apply(made)
    return made


def test_items_are_created_updated_with_removals_deleted_and_start_over_after_a_delete():
    state = WorkspaceState()
    checked(state, "item.create", item_id="n1", kind="note", fields={"text": "a", "x": 1, "gone": None})
    checked(state, "item.update", item_id="n1", fields={"text": "b", "x": None})  # null removes a field
    checked(state, "item.create", item_id="t1", kind="task", fields={"done": False})
    checked(state, "item.delete", item_id="t1")
    checked(state, "chat", text="hello")
    checked(state, "item.create", item_id="t1", kind="note", fields={"text": "new life"})  # nothing carried over
    assert state.view() == {"seq": 6, "items": [
        {"item_id": "n1", "kind": "note", "fields": {"text": "b"}, "version": 2},
        {"item_id": "t1", "kind": "note", "fields": {"text": "new life"}, "version": 6}]}


@pytest.mark.parametrize(("op_kind", "data", "code"), [
    ("item.create", {"item_id": "n1", "kind": "note", "fields": {}}, "item_exists"),
    ("item.update", {"item_id": "gone", "fields": {"a": 1}}, "item_not_found"),
    ("item.delete", {"item_id": "gone"}, "item_not_found"),
    ("item.update", {"item_id": "doc:d1", "fields": {"status": "ready"}}, "forbidden"),
    ("item.delete", {"item_id": "place:d1"}, "forbidden"),
    ("item.update", {"item_id": "place:d1", "fields": {"x": "left"}}, "bad_op"),
    ("item.update", {"item_id": "place:d1", "fields": {"document_id": "other"}}, "bad_op"),
    ("item.create", {"item_id": "place:d2", "kind": "placement", "fields": {}}, "bad_op"),
    ("item.create", {"item_id": "n2", "kind": "document", "fields": {}}, "bad_op"),
    ("item.update", {"item_id": "n1", "fields": {"big": "z" * MAX_ITEM_BYTES}}, "item_too_large"),
    ("item.update", {"item_id": "n1", "fields": {"by": "mallory"}}, "bad_op"),  # a note's author is not changed
    ("item.update", {"item_id": "n1", "fields": {"by": None}}, "bad_op"),
])
def test_refused_against_the_state(op_kind, data, code):
    state = WorkspaceState()
    checked(state, "item.create", item_id="n1", kind="note", fields={"text": "a"})
    checked(state, "item.create", SYSTEM, item_id="doc:d1", kind="document", fields={"status": "analysing"})
    checked(state, "item.create", SYSTEM, item_id="place:d1", kind="placement", fields={"x": 0, "y": 0})
    checked(state, "item.create", item_id="gone", kind="note", fields={})
    checked(state, "item.delete", item_id="gone")
    with pytest.raises(OpError) as refused:
        checked(state, op_kind, **data)
    assert refused.value.code == code


def test_a_members_note_or_task_carries_its_author_whatever_the_client_sent():
    note = {"item_id": "n1", "kind": "note", "fields": {"text": "grid C", "by": "alice"}}
    assert attributed("item.create", note, "bob")["fields"] == {"text": "grid C", "by": "bob"}
    task = {"item_id": "t1", "kind": "task", "fields": {}}
    assert attributed("item.create", task, "bob")["fields"] == {"by": "bob"}
    assert task["fields"] == {}  # the client's data is not changed in place
    server = {"item_id": "doc:d1", "kind": "document", "fields": {"status": "analysing"}}
    assert attributed("item.create", server, SYSTEM) == server  # what the server writes is its own
    restored = {"item_id": "n1", "kind": "note", "fields": {"text": "old", "by": "alice"}}
    assert attributed("item.create", restored, SYSTEM) == restored  # a restore keeps the original author
    update = {"item_id": "n1", "fields": {"text": "edited"}}
    assert attributed("item.update", update, "bob") == update
    state = WorkspaceState()
    checked(state, "item.create", SYSTEM, item_id="doc:d2", kind="document", fields={"by": "x"})
    checked(state, "item.update", SYSTEM, item_id="doc:d2", fields={"by": "y"})  # the server's fields, its to set


def test_who_edited_or_resolved_an_item_is_the_author_of_the_op_that_said_so():
    sent: dict[str, object] = {"text": "edited", "edited_by": "alice", "resolved_by": None}
    edit = {"item_id": "n1", "fields": sent}
    assert attributed("item.update", edit, "bob")["fields"] == {"text": "edited", "edited_by": "bob",
                                                                "resolved_by": None}  # null still clears
    assert sent["edited_by"] == "alice"  # the client's data is not changed in place
    resolve = {"item_id": "t1", "fields": {"resolved": True, "resolved_by": {"user": "carol"}}}
    assert attributed("item.update", resolve, "bob")["fields"] == {"resolved": True, "resolved_by": "bob"}
    created = {"item_id": "t2", "kind": "task", "fields": {"resolved": True, "resolved_by": "carol"}}
    assert attributed("item.create", created, "bob")["fields"] == {"resolved": True, "resolved_by": "bob",
                                                                   "by": "bob"}
    unsigned = {"item_id": "n1", "fields": {"edited_by_hand": "yes", "text": "x"}}
    assert attributed("item.update", unsigned, "bob") == unsigned  # only the named fields are the server's
    server = {"item_id": "doc:d1", "fields": {"resolved_by": "anyone"}}
    assert attributed("item.update", server, SYSTEM) == server
    assert attributed("chat", {"text": "edited_by"}, "bob") == {"text": "edited_by"}


def test_members_move_placements_and_the_server_updates_documents():
    state = WorkspaceState()
    checked(state, "item.create", SYSTEM, item_id="place:d1", kind="placement", fields={"x": 0, "y": 0})
    checked(state, "item.update", item_id="place:d1", fields={"x": 250.5, "y": 1400})
    checked(state, "item.create", SYSTEM, item_id="doc:d1", kind="document", fields={"status": "analysing"})
    checked(state, "item.update", SYSTEM, item_id="doc:d1", fields={"status": "ready", "page_count": 3})
    assert state.items["place:d1"].fields == {"x": 250.5, "y": 1400}
    assert state.items["doc:d1"].fields == {"status": "ready", "page_count": 3}


@pytest.mark.parametrize(("kind", "data", "code"), [
    ("chat", {"text": ""}, "bad_op"), ("chat", {"text": "x" * 5000}, "bad_op"),
    ("item.create", {"item_id": "a", "fields": {"x": 1}}, "bad_op"),
    ("item.update", {"item_id": "a", "fields": {}}, "bad_op"), ("item.delete", {}, "bad_op"),
    ("item.delete", {"item_id": "has space"}, "bad_op"), ("item.delete", {"item_id": "x" * 65}, "bad_op"),
    ("item.update", {"item_id": "a", "fields": {"x": float("nan")}}, "bad_op"),
    ("item.update", {"item_id": "a", "fields": {"x": "y" * 21000}}, "op_too_large"),
    ("item.explode", {"item_id": "a", "fields": {"x": 1}}, "unknown_op"),
])
def test_malformed_ops_are_refused_with_codes(kind, data, code):
    with pytest.raises(OpError) as refused:
        op_rules.shape(kind, data)
    assert refused.value.code == code


def test_replays_and_duplicates_change_nothing():
    ops = [op(1, "item.create", item_id="n", kind="note", fields={"a": 1}),
           op(2, "item.update", item_id="n", fields={"a": 2})]
    state = WorkspaceState()
    for o in ops + ops + [ops[0]]:
        state.apply(o)
    assert state.view()["items"][0]["fields"] == {"a": 2}


def random_history(rng: random.Random, length: int) -> list[Op]:
    """Ops as concurrent writers produce them: each one checked against the state it follows."""
    state, history = WorkspaceState(), list[Op]()
    while len(history) < length:
        item = f"i{rng.randrange(8)}"
        op_kind = rng.choice(["item.create", "item.update", "item.update", "item.delete", "chat"])
        data: dict[str, Any] = {"text": f"m{len(history)}"} if op_kind == "chat" else {"item_id": item}
        if op_kind == "item.create":
            data.update(kind=rng.choice(["note", "task"]), fields={"f": len(history), "g": rng.choice([1, None])})
        elif op_kind == "item.update":
            data["fields"] = {rng.choice("abcf"): rng.choice([len(history), None])}
        try:
            history.append(checked(state, op_kind, **data))
        except OpError:
            continue
    return history


def test_random_histories_converge_and_every_prefix_is_a_state():
    rng = random.Random(7)
    ops = random_history(rng, 400)
    server = WorkspaceState()
    for o in ops:
        server.apply(o)
    for _ in range(5):  # clients that saw the ops with duplicates, and resumed from different points
        client = WorkspaceState()
        cut = rng.randrange(len(ops))
        for o in ops[:cut] + ops[max(0, cut - 10):]:
            client.apply(o)
        assert client.view() == server.view()
    snapshot = WorkspaceState()
    for o in ops[:150]:
        snapshot.apply(o)
    resumed = WorkspaceState.from_snapshot(snapshot.to_snapshot())
    for o in ops[150:]:
        resumed.apply(o)
    assert resumed.view() == server.view()


def test_version_one_snapshots_still_load():
    old = {"seq": 9, "items": {
        "a": {"kind": "note", "created_seq": 1, "fields": {"t": [3, "x"], "gone": [4, None]}, "deleted_seq": None},
        "b": {"kind": "task", "created_seq": 2, "fields": {"done": [2, True]}, "deleted_seq": 5}}}
    state = WorkspaceState.from_snapshot(old)
    assert state.view() == {"seq": 9, "items": [{"item_id": "a", "kind": "note", "fields": {"t": "x"},
                                                 "version": 4}]}


def test_changes_to_turns_the_present_into_exactly_the_past():
    rng = random.Random(11)
    for _ in range(20):
        ops = random_history(rng, 120)
        cut = rng.randrange(len(ops))
        past, present = WorkspaceState(), WorkspaceState()
        for o in ops[:cut]:
            past.apply(o)
        for o in ops:
            present.apply(o)
        for op_kind, data in changes_to(present, past):
            checked(present, op_kind, "admin", **data)  # each restoring op is valid where it lands
        strip = [{k: v for k, v in i.items() if k != "version"} for i in present.view()["items"]]
        assert strip == [{k: v for k, v in i.items() if k != "version"} for i in past.view()["items"]]


def test_a_restore_leaves_documents_and_placements_alone():
    past, present = WorkspaceState(), WorkspaceState()
    checked(present, "item.create", item_id="n", kind="note", fields={"t": 1})
    checked(present, "item.create", SYSTEM, item_id="doc:d", kind="document", fields={"status": "ready"})
    assert changes_to(present, past) == [("item.delete", {"item_id": "n"})]


def test_pages_of_the_state_cover_it_in_order_within_the_budget():
    state = WorkspaceState()
    for i in range(30):
        checked(state, "item.create", item_id=f"n{i:02d}", kind="note", fields={"text": "t" * 1000})
    seen, after = [], None
    while True:
        page, after = state.page(after, 5000)
        assert 1 <= len(page) <= 5
        seen += [i["item_id"] for i in page]
        if after is None:
            break
    assert seen == [f"n{i:02d}" for i in range(30)]
