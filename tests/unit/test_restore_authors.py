"""A restore puts notes and tasks back as they were, their authors included, however often it runs and whoever
restores: the server writes a member's note's `by` (domain/sync.attributed), and a restore is written by the owner
who asks for it, so it must not stamp the restorer on what it puts back. A restore the workspace refuses part-way
answers 409 `restore_interrupted` and keeps its audit event."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import Conflict, Forbidden
from chalicelib.domain.ops import OpError
from chalicelib.domain.tenancy import Membership, WorkspaceRole
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.recovery import RecoveryService
from chalicelib.services.workspace_log import WorkspaceLog
from tests.fakes import InMemoryOpLog, InMemorySnapshots, RecordingEvents
from tests.unit.test_access import TOKENS, tenancy_with_demo


class Restores:
    def __init__(self) -> None:
        self.tenancy = tenancy_with_demo()
        self.log = WorkspaceLog(InMemoryOpLog(self.tenancy), InMemorySnapshots())
        self.events = RecordingEvents()
        self.published: list[int] = []
        self.recovery = RecoveryService(AccessService(TOKENS, self.tenancy), self.log,
                                        lambda _, op: self.published.append(op.seq), self.events)
        ann = self.tenancy.user("ann")
        assert ann is not None
        self.ann = Actor(ann)  # account admin: an owner of ws-a

    def write(self, op_kind: str, by: str, **data: object) -> int:
        return self.log.append("ws-a", op_kind, by, dict(data)).op.seq

    def items(self, seq: int | None = None) -> dict[str, dict[str, object]]:
        state = self.log.at("ws-a", seq) if seq is not None else self.log.current("ws-a")
        return {item_id: item.fields for item_id, item in state.items.items()}

    def restore(self, seq: int) -> dict[str, object]:
        return self.recovery.restore(self.ann, "ws-a", seq, None)


@pytest.fixture
def ws() -> Restores:
    return Restores()


def test_a_deleted_note_comes_back_as_its_authors_not_the_restorers(ws: Restores) -> None:
    ws.write("item.create", "bob", item_id="n1", kind="note", fields={"text": "load-bearing", "by": "mallory"})
    good = ws.write("chat", "bob", text="the good state")
    ws.write("item.delete", "bob", item_id="n1")
    assert ws.items(good) == {"n1": {"text": "load-bearing", "by": "bob"}}  # stamped when bob wrote it
    restored = ws.restore(good)
    assert ws.items() == ws.items(good) and restored["ops"]
    assert ws.restore(good)["ops"] == []  # again: nothing left to change
    undone = ws.restore(good + 1)  # and undone: the deletion again
    assert ws.items() == {} and undone["ops"]
    ws.restore(good)
    assert ws.items() == {"n1": {"text": "load-bearing", "by": "bob"}}
    assert ws.events.types() == ["workspace.restored"] * 4


def test_a_note_whose_kind_or_author_changed_is_put_back_whole(ws: Restores) -> None:
    ws.write("item.create", "bob", item_id="t1", kind="task", fields={"done": False})
    good = ws.write("chat", "bob", text="the good state")
    ws.write("item.delete", "bob", item_id="t1")
    ws.write("item.create", "vic", item_id="t1", kind="note", fields={"text": "vic's now"})
    ws.restore(good)
    state = ws.log.current("ws-a")
    assert (state.items["t1"].kind, state.items["t1"].fields) == ("task", {"done": False, "by": "bob"})


def test_an_item_another_member_wrote_again_is_created_again_not_given_its_old_author(ws: Restores) -> None:
    ws.write("item.create", "bob", item_id="n1", kind="note", fields={"text": "bob's words"})
    good = ws.write("chat", "bob", text="the good state")
    ws.write("item.delete", "bob", item_id="n1")
    ws.write("item.create", "vic", item_id="n1", kind="note", fields={"text": "vic's", "extra": "vic's"})
    ws.restore(good)
    ops = ws.log.after("ws-a", good + 2, 10)
    # vic's note goes, bob's comes back whole: no op ever puts bob's name on fields vic wrote.
    assert [(op.kind, op.data.get("fields")) for op in ops] == [
        ("item.delete", None), ("item.create", {"text": "bob's words", "by": "bob"})]
    assert ws.items() == {"n1": {"text": "bob's words", "by": "bob"}}


def test_a_note_from_before_authors_were_stamped_is_restored_without_one(ws: Restores) -> None:
    # As the log holds notes written before the rule: appended as a restore would, so nothing is stamped.
    ws.log.append("ws-a", "item.create", "bob", {"item_id": "old", "kind": "note", "fields": {"text": "legacy"}},
                  restoring=True)
    good = ws.write("chat", "bob", text="the good state")
    ws.write("item.delete", "bob", item_id="old")
    ws.restore(good)
    assert ws.items() == {"old": {"text": "legacy"}}


def test_members_still_cannot_change_an_author_outside_a_restore(ws: Restores) -> None:
    ws.write("item.create", "bob", item_id="n1", kind="note", fields={"text": "mine"})
    with pytest.raises(OpError) as refused:
        ws.write("item.update", "ann", item_id="n1", fields={"by": "ann"})
    assert refused.value.code == "bad_op"


def test_a_restore_refused_part_way_says_so_and_is_audited(ws: Restores, monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(3):
        ws.write("item.create", "bob", item_id=f"n{n}", kind="note", fields={"text": str(n)})
    calls = {"n": 0}
    append = ws.log.append

    def busy_after_one(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 1:
            raise OpError("busy", "the workspace is too busy to take this op now")
        return append(*args, **kwargs)

    monkeypatch.setattr(ws.log, "append", busy_after_one)
    with pytest.raises(Conflict) as stopped:
        ws.restore(0)
    assert stopped.value.code == "restore_interrupted" and stopped.value.status == 409
    assert len(ws.published) == 1  # what it wrote stays, and was sent
    [event] = ws.events.events
    assert event.type == "workspace.restored" and event.detail == {"to_seq": 0, "ops": 1, "interrupted": "busy"}
    monkeypatch.setattr(ws.log, "append", append)
    ws.restore(0)  # restoring again finishes it
    assert ws.items() == {}


def test_an_owner_demoted_during_a_restore_gets_the_answer_a_new_request_would(ws: Restores,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    ws.tenancy.memberships[("ws-a", "carl")] = Membership("ws-a", "carl", "acc-a", WorkspaceRole.OWNER, 0)
    carl = ws.tenancy.user("carl")
    assert carl is not None
    ws.write("item.create", "bob", item_id="n1", kind="note", fields={"text": "x"})

    def demoted(*args: Any, **kwargs: Any) -> Any:  # the grant's check fails: carl is an editor now
        ws.tenancy.memberships[("ws-a", "carl")] = Membership("ws-a", "carl", "acc-a", WorkspaceRole.EDITOR, 0)
        raise OpError("access_changed", "your access to this workspace changed")

    monkeypatch.setattr(ws.log, "append", demoted)
    with pytest.raises(Forbidden) as refused:
        ws.recovery.restore(Actor(carl), "ws-a", 0, None)
    assert refused.value.code == "role_too_low"


def test_a_restore_that_members_keep_undoing_says_it_did_not_finish(ws: Restores,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ws.write("item.create", "bob", item_id="n1", kind="note", fields={"text": "x"})
    append = ws.log.append

    def undone(*args: Any, **kwargs: Any) -> Any:  # bob writes it back after every op of the restore
        appended = append(*args, **kwargs)
        append("ws-a", "item.create", "bob", {"item_id": "n1", "kind": "note", "fields": {"text": "x"}})
        return appended

    monkeypatch.setattr(ws.log, "append", undone)
    with pytest.raises(Conflict) as stopped:
        ws.restore(0)
    assert stopped.value.code == "restore_interrupted"
    assert ws.events.events[-1].detail["interrupted"] == "busy"


def test_a_restore_keeps_who_resolved_a_note_not_who_restored_it(ws: Restores) -> None:
    ws.write("item.create", "bob", item_id="n2", kind="note", fields={"text": "gridline C"})
    ws.write("item.update", "bob", item_id="n2", fields={"resolved": True, "resolved_by": "ann"})
    good = ws.write("chat", "bob", text="resolved by bob, whatever he sent")
    assert ws.items(good)["n2"] == {"text": "gridline C", "by": "bob", "resolved": True, "resolved_by": "bob"}
    ws.write("item.update", "ann", item_id="n2", fields={"resolved": None, "resolved_by": None})
    assert ws.items()["n2"] == {"text": "gridline C", "by": "bob"}
    ws.restore(good)  # written by ann
    assert ws.items() == ws.items(good)
