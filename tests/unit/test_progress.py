import json

from chalicelib.services.fanout import Fanout
from chalicelib.services.progress import ProgressPublisher
from tests.fakes import FakeNotifier, InMemoryConnectionStore


def test_progress_reaches_the_workspace_and_is_coalesced_except_final():
    store, notifier = InMemoryConnectionStore(), FakeNotifier()
    for connection, workspace in (("c1", "ws"), ("c2", "ws"), ("c3", "other")):
        store.put(connection, "u", workspace, {})
    publisher = ProgressPublisher(Fanout(notifier, store), store, min_interval_s=60)
    first = publisher.publish("ws", "doc-1", {"page": 1})
    assert first is not None and first.delivered == 2
    assert publisher.publish("ws", "doc-1", {"page": 2}) is None  # coalesced
    assert publisher.publish("ws", "doc-2", {"page": 1}) is not None  # another subject is not
    final = publisher.publish("ws", "doc-1", {"pages": 2}, final=True)
    assert final is not None and final.delivered == 2  # final always goes
    messages = [json.loads(d) for c, d in notifier.sent if c == "c1"]
    assert [(m["subject"], m["final"]) for m in messages] == [("doc-1", False), ("doc-2", False), ("doc-1", True)]
    assert all(c != "c3" for c, _ in notifier.sent)


def test_a_change_of_state_is_never_coalesced():
    store, notifier = InMemoryConnectionStore(), FakeNotifier()
    store.put("c1", "u", "ws", {})
    publisher = ProgressPublisher(Fanout(notifier, store), store, min_interval_s=60)
    assert publisher.publish("ws", "doc-1", {"status": "analysing"}) is not None
    assert publisher.publish("ws", "doc-1", {"status": "tiling", "pages_done": 0}) is not None
    assert publisher.publish("ws", "doc-1", {"status": "tiling", "pages_done": 1}) is None
    assert publisher.publish("ws", "doc-1", {"status": "ready"}, final=True) is not None
    assert publisher.publish("ws", "doc-1", {"status": "tiling", "pages_done": 0}) is not None  # a new job


def test_a_report_of_a_change_does_not_hold_back_the_page_after_it():
    """The first page often finishes a moment after the `tiling` report that starts its job: members must hear
    of it then, not a coalescing interval later."""
    store, notifier = InMemoryConnectionStore(), FakeNotifier()
    store.put("c1", "u", "ws", {})
    publisher = ProgressPublisher(Fanout(notifier, store), store, min_interval_s=60)
    assert publisher.publish("ws", "doc-1", {"status": "tiling", "pages_done": 0}, change=True) is not None
    assert publisher.publish("ws", "doc-1", {"status": "tiling", "pages_done": 1}) is not None
    assert publisher.publish("ws", "doc-1", {"status": "tiling", "pages_done": 2}) is None  # coalesced
    assert publisher.publish("ws", "doc-1", {"status": "tiling", "pages_done": 2}, change=True) is not None


def test_a_final_report_forgets_the_subject_even_as_a_change():
    store, notifier = InMemoryConnectionStore(), FakeNotifier()
    store.put("c1", "u", "ws", {})
    publisher = ProgressPublisher(Fanout(notifier, store), store, min_interval_s=60)
    assert publisher.publish("ws", "doc-1", {"status": "tiling", "pages_done": 1}) is not None
    assert publisher.publish("ws", "doc-1", {"status": "ready"}, final=True, change=True) is not None
    assert publisher._last == {}  # an instance that tiles many documents keeps nothing of the finished ones
