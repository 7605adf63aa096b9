"""A document's progress, as members hear it, never goes backwards: reports go out one function at a time (the
document's turn) and as the document's record has them then (chalicelib/services/document_news.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from chalicelib.domain.documents import Document, DocumentStatus
from chalicelib.services.document_news import DocumentNews, as_of
from chalicelib.services.fanout import Fanout
from chalicelib.services.progress import ProgressPublisher
from chalicelib.services.workspace_log import WorkspaceLog
from tests.fakes import FakeNotifier, InMemoryConnectionStore, InMemoryOpLog, InMemorySnapshots

TILING = Document("ws", "doc-1", "acc", "a.pdf", "application/pdf", DocumentStatus.TILING, 0, "bob", job_id="job-1",
                  page_count=12, pages_done=11)


class Turns:
    """The Turns port's twin: one holder per subject, no clock (tests/contract races the DynamoDB adapter)."""

    def __init__(self) -> None:
        self.holders: dict[str, str] = {}
        self.taken = 0

    def take(self, subject: str, holder: str, hold_s: float) -> float | None:
        if subject in self.holders:
            return None
        self.holders[subject] = holder
        self.taken += 1
        return 4_000_000_000.0  # far ahead: never overstayed here

    def give_back(self, subject: str, holder: str) -> None:
        if self.holders.get(subject) == holder:
            del self.holders[subject]


class Records:
    def __init__(self, document: Document | None) -> None:
        self.document = document

    def get(self, workspace_id: str, document_id: str) -> Document | None:
        return self.document


def news(document: Document | None) -> tuple[DocumentNews, Records, Turns, FakeNotifier]:
    store, notifier, turns, records = InMemoryConnectionStore(), FakeNotifier(), Turns(), Records(document)
    store.put("c1", "vera", "ws", {})
    publisher = ProgressPublisher(Fanout(notifier, store), store, min_interval_s=0)
    log = WorkspaceLog(InMemoryOpLog(), InMemorySnapshots())
    return DocumentNews(log, records, publisher, None, turns), records, turns, notifier  # type: ignore[arg-type]


def heard(notifier: FakeNotifier) -> list[dict[str, Any]]:
    return [json.loads(data)["progress"] for _, data in notifier.sent]


def test_a_tiling_report_carries_the_records_count_never_its_own_older_one():
    for reported in (9, 0):
        report = as_of(TILING, {"status": "tiling", "job_id": "job-1", "pages_done": reported})
        assert report is not None and report["pages_done"] == 11


def test_a_report_the_record_has_moved_past_is_dropped():
    ready = replace(TILING, status=DocumentStatus.READY, pages_done=12)
    assert as_of(ready, {"status": "tiling", "job_id": "job-1", "pages_done": 11}) is None  # after ready
    assert as_of(TILING, {"status": "tiling", "job_id": "job-0", "pages_done": 3}) is None  # an older job
    assert as_of(None, {"status": "ready", "job_id": "job-1"}) is None  # removed
    assert as_of(ready, {"status": "ready", "job_id": "job-1", "pages_done": 12}) is not None
    analysing = replace(TILING, status=DocumentStatus.ANALYSING)
    assert as_of(analysing, {"status": "tiling", "job_id": "job-1", "pages_done": 11}) is None  # a newer version
    assert as_of(analysing, {"status": "ready", "job_id": "job-0"}) is None  # an older job's
    # The job shown finished as a newer version arrived: its `ready` still goes out (an outside tester's uploader
    # never heard that the version was shown); the newer one's `tiling` follows.
    assert as_of(analysing, {"status": "ready", "job_id": "job-1"}) == {"status": "ready", "job_id": "job-1"}


def test_racing_workers_late_reports_do_not_go_backwards():
    service, records, turns, notifier = news(TILING)
    # Worker A counted page 9 and was slow; worker B's count (11) reached the record first.
    service.progress("ws", "doc-1", {"status": "tiling", "job_id": "job-1", "page": 10, "pages_done": 11})
    service.progress("ws", "doc-1", {"status": "tiling", "job_id": "job-1", "page": 8, "pages_done": 9})
    records.document = replace(TILING, status=DocumentStatus.READY, pages_done=12)
    service.status("ws", "doc-1", {"status": "ready", "job_id": "job-1", "pages_done": 12, "page_count": 12},
                   final=True)
    service.progress("ws", "doc-1", {"status": "tiling", "job_id": "job-1", "page": 11, "pages_done": 12})
    # A redelivered start task's `tiling 0`, after the document is ready.
    service.status("ws", "doc-1", {"status": "tiling", "job_id": "job-1", "pages_done": 0, "page_count": 12})
    assert [(p["status"], p["pages_done"]) for p in heard(notifier)] == [("tiling", 11), ("tiling", 11),
                                                                       ("ready", 12)]
    assert turns.holders == {}  # every turn given back


def test_while_another_function_reports_per_page_progress_waits_its_turn_by_being_skipped():
    service, _, turns, notifier = news(TILING)
    turns.holders["doc-1"] = "another function"
    service.progress("ws", "doc-1", {"status": "tiling", "job_id": "job-1", "page": 3, "pages_done": 4})
    assert notifier.sent == [] and turns.holders == {"doc-1": "another function"}


def test_a_status_logs_and_lists_the_document_from_the_one_record_read_under_its_turn():
    class CountingRecords(Records):
        reads = 0

        def get(self, workspace_id: str, document_id: str) -> Document | None:
            self.reads += 1
            return super().get(workspace_id, document_id)

    analysing = replace(TILING, status=DocumentStatus.ANALYSING, job_id=None, page_count=0, pages_done=0)
    store, notifier, turns, records = InMemoryConnectionStore(), FakeNotifier(), Turns(), CountingRecords(analysing)
    store.put("c1", "vera", "ws", {})
    oplog = InMemoryOpLog()
    reporter = DocumentNews(WorkspaceLog(oplog, InMemorySnapshots()), records,  # type: ignore[arg-type]
                            ProgressPublisher(Fanout(notifier, store), store, min_interval_s=0), None, turns)
    reporter.status("ws", "doc-1", {"status": "analysing", "version_id": "v1"})
    assert records.reads == 1  # the `as_of` check's read, under the turn; the first listing reuses it
    assert [op.kind for op in oplog.all("ws")] == ["item.create", "item.create"]  # listed, then placed
    assert oplog.all("ws")[0].data["fields"]["name"] == "a.pdf" and heard(notifier) == [
        {"status": "analysing", "version_id": "v1"}]
