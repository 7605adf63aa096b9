"""The op log service with its in-memory twin, several "function instances" (WorkspaceLog objects) sharing one
log: what each instance keeps must never make it refuse, or store, an op wrongly."""

import pytest

from chalicelib.domain.ops import OpError
from chalicelib.services.workspace_log import WorkspaceLog
from tests.fakes import InMemoryOpLog, InMemorySnapshots


@pytest.fixture
def shared():
    return InMemoryOpLog(), InMemorySnapshots()


def instance(shared) -> WorkspaceLog:
    return WorkspaceLog(*shared)


def test_an_instance_whose_state_is_behind_does_not_refuse_what_the_log_allows(shared):
    a, b = instance(shared), instance(shared)
    a.append("w", "chat", "alice", {"text": "a wrote last"})  # a keeps a state it need not re-read
    b.append("w", "item.create", "bob", {"item_id": "n1", "kind": "note", "fields": {"t": 1}})
    # a's kept state lacks n1: refusing from it would be wrong (item_not_found for an item everyone sees)
    updated = a.append("w", "item.update", "alice", {"item_id": "n1", "fields": {"t": 2}})
    assert updated.op.seq == 3
    with pytest.raises(OpError) as exists:  # a refusal read from the log stands
        a.append("w", "item.create", "alice", {"item_id": "n1", "kind": "note", "fields": {}})
    assert exists.value.code == "item_exists"
    assert [o.seq for o in shared[0].all("w")] == [1, 2, 3]


def test_a_lost_race_is_resolved_with_the_winning_op_and_nothing_is_lost(shared):
    a, b = instance(shared), instance(shared)
    a.append("w", "chat", "alice", {"text": "one"})
    b.append("w", "chat", "bob", {"text": "two"})
    b.append("w", "chat", "bob", {"text": "three"})  # a is now two behind and thinks it wrote last
    stored = a.append("w", "item.create", "alice", {"item_id": "x", "kind": "task", "fields": {}})
    assert stored.op.seq == 4
    assert a.current("w").seq == b.current("w").seq == 4
    assert a.current("w").view() == b.current("w").view()


def test_a_state_written_moments_ago_is_tried_as_it_is_and_an_older_one_is_read_first(shared):
    """A worker that logged its last document's `ready` a while ago, while the ingest function logged the next
    document's ops, lost two transactions (billed) before reading the log. Past TRUSTED_S the log is read first;
    within it (one person typing) the kept state is still tried without a read."""
    from chalicelib.services.workspace_log import TRUSTED_S

    now = [100.0]
    worker, ingest = WorkspaceLog(shared[0], shared[1], clock=lambda: now[0]), instance(shared)
    worker.append("w", "chat", "system", {"text": "last document ready"})
    ingest.append("w", "chat", "system", {"text": "next document listed"})
    ingest.append("w", "chat", "system", {"text": "next document placed"})
    now[0] += TRUSTED_S
    assert worker.append("w", "chat", "system", {"text": "next document ready"}).op.seq == 4
    assert shared[0].lost == 0
    now[0] += TRUSTED_S / 4  # moments after its own write: no read first, and a race lost when one was stored
    ingest.append("w", "chat", "bob", {"text": "meanwhile"})
    before = shared[0].lost
    assert worker.append("w", "chat", "system", {"text": "again"}).op.seq == 6
    assert shared[0].lost == before + 1
    assert [o.seq for o in shared[0].all("w")] == [1, 2, 3, 4, 5, 6]


def test_an_op_id_is_stored_once_whichever_instance_it_is_sent_to(shared):
    a, b = instance(shared), instance(shared)
    first = a.append("w", "item.create", "bob", {"item_id": "n", "kind": "note", "fields": {}}, op_id="o1")
    again = b.append("w", "item.create", "bob", {"item_id": "n", "kind": "note", "fields": {}}, op_id="o1")
    assert (again.duplicate, again.op) == (True, first.op)
    other = b.append("w", "chat", "ann", {"text": "same op id, other author"}, op_id="o1")
    assert not other.duplicate and other.op.seq == 2


def test_a_write_that_changes_nothing_is_not_stored(shared):
    log = instance(shared)
    assert log.append_if("w", "chat", "bob", lambda state: None) is None
    assert shared[0].all("w") == []


def test_only_an_op_id_is_claimed_and_a_system_op_is_idempotent_by_its_content(shared):
    """A claim item exists to recognise a resent op id; an op without one (the system's document ops, made from
    the state) claims nothing, and appending it again is recognised by the state instead."""
    from chalicelib.domain.ops import SYSTEM

    a, b = instance(shared), instance(shared)

    def listed(state):
        return None if "doc:d1" in state.items else {"item_id": "doc:d1", "kind": "document", "fields": {"n": 1}}

    assert a.append_if("w", "item.create", SYSTEM, listed) is not None
    assert shared[0].claims == {}
    assert b.append_if("w", "item.create", SYSTEM, listed) is None  # a redelivered report, another instance
    a.append("w", "chat", "bob", {"text": "hi"})  # a user's op without an op id: nothing to claim either
    assert shared[0].claims == {}
    a.append("w", "chat", "bob", {"text": "hi"}, op_id="o1")
    assert shared[0].claims == {("w", "bob#o1"): 3}
    assert b.append("w", "chat", "bob", {"text": "hi"}, op_id="o1").duplicate
    assert [o.seq for o in shared[0].all("w")] == [1, 2, 3]


def test_nothing_to_do_is_decided_by_a_state_read_from_the_log(shared):
    """The removal of a document (REST) deletes its items if they are there: an instance that wrote the last
    op it knows of, while a worker created the items since, must not take its kept state's word that they are
    not (they stayed in the workspace for good, and members cannot delete them)."""
    rest, worker = instance(shared), instance(shared)
    rest.append("w", "chat", "alice", {"text": "rest wrote last"})  # rest keeps a state it need not re-read
    worker.append("w", "item.create", "system", {"item_id": "doc:d1", "kind": "document", "fields": {}})

    def delete(state):
        return {"item_id": "doc:d1"} if "doc:d1" in state.items else None

    deleted = rest.append_if("w", "item.delete", "system", delete)
    assert deleted is not None and deleted.op.seq == 3
    assert "doc:d1" not in worker.current("w").items
    assert rest.append_if("w", "item.delete", "system", delete) is None  # now truly nothing to do
    assert [o.kind for o in shared[0].all("w")] == ["chat", "item.create", "item.delete"]


def test_a_change_made_from_an_older_version_is_refused_not_laid_over_the_newer(shared):
    """Two members saved the same note within milliseconds: the second silently replaced the first. With
    `if_version` (the version the editor started from) the later save is refused, on any instance, and the
    condition is never stored in the op; a resend of a stored op is still its duplicate, not a conflict."""
    a, b = instance(shared), instance(shared)
    made = a.append("w", "item.create", "alice", {"item_id": "n", "kind": "note", "fields": {"text": "v1"}})
    version = made.op.seq
    alice = a.append("w", "item.update", "alice", {"item_id": "n", "fields": {"text": "alice's"},
                                                   "if_version": version}, op_id="e1")
    assert "if_version" not in alice.op.data and alice.op.data["fields"] == {"text": "alice's"}
    with pytest.raises(OpError) as refused:
        b.append("w", "item.update", "bob", {"item_id": "n", "fields": {"text": "bob's"}, "if_version": version})
    assert refused.value.code == "conflict" and f"version {alice.op.seq}" in str(refused.value)
    with pytest.raises(OpError) as deleted:
        b.append("w", "item.delete", "bob", {"item_id": "n", "if_version": version})
    assert deleted.value.code == "conflict"
    assert a.current("w").items["n"].fields["text"] == "alice's"
    again = b.append("w", "item.update", "alice", {"item_id": "n", "fields": {"text": "alice's"},
                                                   "if_version": version}, op_id="e1")
    assert again.duplicate and again.op == alice.op
    later = b.append("w", "item.update", "bob", {"item_id": "n", "fields": {"text": "bob's"},
                                                 "if_version": alice.op.seq})  # made from what is there now
    assert later.op.seq == alice.op.seq + 1


@pytest.mark.parametrize("bad", [0, -3, "4", 2.0, True, None])
def test_if_version_must_be_a_version(shared, bad):
    log = instance(shared)
    log.append("w", "item.create", "alice", {"item_id": "n", "kind": "note", "fields": {}})
    with pytest.raises(OpError) as refused:
        log.append("w", "item.update", "alice", {"item_id": "n", "fields": {"t": 1}, "if_version": bad})
    assert refused.value.code == "bad_op"


def test_a_change_that_could_never_apply_is_refused_as_such_before_its_version_is_compared(shared):
    """An outside client's stale `if_version` on a change the rules refuse got `conflict` (show both texts, send
    again) and only then the real refusal; a deleted item is `item_not_found`, and a version the item never had
    is the client's mistake, not a race."""
    log = instance(shared)
    made = log.append("w", "item.create", "alice", {"item_id": "n", "kind": "note", "fields": {"t": 1}})
    log.append("w", "item.update", "alice", {"item_id": "n", "fields": {"t": 2}})
    with pytest.raises(OpError) as by:
        log.append("w", "item.update", "bob", {"item_id": "n", "fields": {"by": "bob"}, "if_version": made.op.seq})
    assert by.value.code == "bad_op"
    with pytest.raises(OpError) as future:
        log.append("w", "item.update", "bob", {"item_id": "n", "fields": {"t": 3}, "if_version": 1000})
    assert future.value.code == "bad_op" and "never been at version 1000" in str(future.value)
    log.append("w", "item.delete", "alice", {"item_id": "n"})
    with pytest.raises(OpError) as gone:
        log.append("w", "item.update", "bob", {"item_id": "n", "fields": {"t": 4}, "if_version": made.op.seq})
    assert gone.value.code == "item_not_found"
