"""A document's change of status reaches each member once: on the op that logs it, which carries the report
(`subject`, `progress`, `final`), not as that op and a `progress` message besides (docs/protocol.md). Per-page
reports, and a status whose item says so already, still go out as `progress` messages."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from chalicelib.domain.documents import DocumentStatus
from chalicelib.services.document_news import DocumentNews
from chalicelib.services.fanout import Fanout, OpPublisher
from chalicelib.services.progress import ProgressPublisher
from chalicelib.services.workspace_log import WorkspaceLog
from tests.fakes import FakeNotifier, InMemoryConnectionStore, InMemoryOpLog, InMemorySnapshots
from tests.unit.test_progress_order import TILING, Records, Turns

ANALYSING = replace(TILING, status=DocumentStatus.ANALYSING, job_id=None, page_count=0, pages_done=0)


def members_hear() -> tuple[DocumentNews, Records, FakeNotifier, InMemoryOpLog]:
    store, notifier, oplog, records = InMemoryConnectionStore(), FakeNotifier(), InMemoryOpLog(), Records(ANALYSING)
    store.put("c1", "vera", "ws", {})
    fanout = Fanout(notifier, store)
    news = DocumentNews(WorkspaceLog(oplog, InMemorySnapshots()), records,  # type: ignore[arg-type]
                        ProgressPublisher(fanout, store, min_interval_s=0), OpPublisher(fanout, store), Turns())
    return news, records, notifier, oplog


def sent(notifier: FakeNotifier) -> list[dict[str, Any]]:
    messages = [json.loads(data) for _, data in notifier.sent]
    notifier.sent.clear()
    return messages


def test_a_change_of_status_rides_on_the_last_op_that_logs_it():
    news, records, notifier, oplog = members_hear()
    news.status("ws", "doc-1", {"status": "analysing", "version_id": "v1"})
    listed, placed = sent(notifier)
    assert [m["action"] for m in (listed, placed)] == ["op", "op"]  # no `progress` message of its own
    assert listed["op"]["data"]["item_id"] == "doc:doc-1" and "progress" not in listed
    assert placed["op"]["data"]["item_id"] == "place:doc-1"
    assert (placed["subject"], placed["progress"], placed["final"]) == (
        "doc-1", {"status": "analysing", "version_id": "v1"}, False)
    assert [op.seq for op in oplog.all("ws")] == [listed["op"]["seq"], placed["op"]["seq"]]

    records.document = TILING
    news.status("ws", "doc-1", {"status": "tiling", "job_id": "job-1", "page_count": 12, "pages_done": 0})
    [update] = sent(notifier)
    assert update["action"] == "op" and update["op"]["kind"] == "item.update"
    assert update["op"]["data"]["fields"]["status"] == "tiling"
    assert update["progress"] == {"status": "tiling", "job_id": "job-1", "page_count": 12, "pages_done": 11}

    news.progress("ws", "doc-1", {"status": "tiling", "job_id": "job-1", "page_count": 12, "pages_done": 5})
    [page] = sent(notifier)  # pages are not logged: a `progress` message, with the record's count
    assert page["action"] == "progress" and page["progress"]["pages_done"] == 11

    records.document = replace(TILING, status=DocumentStatus.READY, pages_done=12)
    news.status("ws", "doc-1", {"status": "ready", "job_id": "job-1", "page_count": 12, "pages_done": 12},
                final=True)
    [ready] = sent(notifier)
    assert ready["action"] == "op" and ready["final"] is True and ready["progress"]["status"] == "ready"


def test_a_status_the_item_has_already_goes_out_as_a_progress_message():
    """A redelivered task reports a status again: nothing is logged, and the report is still heard once."""
    news, records, notifier, oplog = members_hear()
    news.status("ws", "doc-1", {"status": "analysing", "version_id": "v1"})
    sent(notifier)
    news.status("ws", "doc-1", {"status": "analysing", "version_id": "v1"})
    assert len(oplog.all("ws")) == 2
    assert [(m["action"], m["progress"]) for m in sent(notifier)] == [
        ("progress", {"status": "analysing", "version_id": "v1"})]


def test_without_a_websocket_endpoint_nothing_is_sent_and_the_status_is_still_logged():
    news, records, notifier, oplog = members_hear()
    quiet = DocumentNews(news._log, records, None, None, Turns())  # type: ignore[arg-type]
    quiet.status("ws", "doc-1", {"status": "analysing", "version_id": "v1"})
    assert len(oplog.all("ws")) == 2 and sent(notifier) == []


class FailingPublisher(OpPublisher):
    """An op publisher whose fan-out fails (its connection query throttled) for the first `failures` ops."""

    def __init__(self, fanout: Fanout, store: InMemoryConnectionStore, failures: int) -> None:
        super().__init__(fanout, store)
        self.failures = failures

    def __call__(self, workspace_id: str, op: Any, exclude: str | None = None,
                 report: dict[str, Any] | None = None) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("ProvisionedThroughputExceededException")
        return super().__call__(workspace_id, op, exclude, report)


def failing_news(failures: int) -> tuple[DocumentNews, FakeNotifier, InMemoryOpLog]:
    store, notifier, oplog = InMemoryConnectionStore(), FakeNotifier(), InMemoryOpLog()
    store.put("c1", "vera", "ws", {})
    fanout = Fanout(notifier, store)
    news = DocumentNews(WorkspaceLog(oplog, InMemorySnapshots()), Records(ANALYSING),  # type: ignore[arg-type]
                        ProgressPublisher(fanout, store, min_interval_s=0), FailingPublisher(fanout, store, failures),
                        Turns())
    return news, notifier, oplog


def test_an_op_that_cannot_be_sent_does_not_take_the_report_with_it():
    """The first op's fan-out fails: the second op still goes out with the report, and nothing is raised."""
    news, notifier, oplog = failing_news(failures=1)
    news.status("ws", "doc-1", {"status": "analysing", "version_id": "v1"})
    assert len(oplog.all("ws")) == 2
    [placed] = sent(notifier)
    assert placed["action"] == "op" and placed["progress"] == {"status": "analysing", "version_id": "v1"}


def test_when_the_op_carrying_the_report_cannot_be_sent_the_report_goes_on_its_own():
    news, notifier, oplog = failing_news(failures=2)
    news.status("ws", "doc-1", {"status": "analysing", "version_id": "v1"})
    assert len(oplog.all("ws")) == 2  # logged all the same: members find the ops by the gap they leave
    assert [(m["action"], m["progress"]) for m in sent(notifier)] == [
        ("progress", {"status": "analysing", "version_id": "v1"})]


def test_a_status_logged_only_in_part_is_reported_on_its_own():
    """The listing was logged, the status update failed: the listing's op does not say the status, so the
    report is not put on it."""
    news, notifier, oplog = failing_news(failures=0)
    news._log.append_if = _failing_after(news._log.append_if, ok=1)  # type: ignore[method-assign]
    news.status("ws", "doc-1", {"status": "analysing", "version_id": "v1"})
    listed, report = sent(notifier)
    assert listed["action"] == "op" and "progress" not in listed
    assert report["action"] == "progress" and report["progress"]["status"] == "analysing"


def _failing_after(append_if: Any, ok: int) -> Any:
    calls = {"n": 0}

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > ok:
            raise RuntimeError("TransactionCanceledException")
        return append_if(*args, **kwargs)
    return wrapped
