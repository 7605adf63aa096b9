"""A job's `ready` that finds its document on a newer job (its function paused between the job's end and the
report while the newer version started) was never heard: its version is listed in `passed_over`, record then
item, so its uploader is told rather than left guessing (outside tester 5). A reprocessing of the same version
passes nothing over (chalicelib/services/document_news.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.domain.documents import Document, DocumentStatus, Job, JobState
from chalicelib.services.document_news import DocumentNews
from chalicelib.services.fanout import Fanout
from chalicelib.services.progress import ProgressPublisher
from chalicelib.services.workspace_log import WorkspaceLog
from tests.fakes import FakeNotifier, InMemoryConnectionStore, InMemoryOpLog, InMemorySnapshots
from tests.unit.test_progress_order import Turns

ALICES = Document("ws", "doc-1", "acc", "a.pdf", "application/pdf", DocumentStatus.TILING, 0, "bob", job_id="job-2",
                  version_id="v-alice", page_count=1, passed_over=["v-older"])
BOBS = Job("ws", "doc-1", "job-1", "v-bob", "pdf", JobState.READY, 2, 2, {}, 0)


class Records:
    def __init__(self, document: Document, jobs: list[Job]) -> None:
        self.document, self.jobs = document, {j.job_id: j for j in jobs}

    def get(self, workspace_id: str, document_id: str) -> Document | None:
        return self.document

    def job(self, document_id: str, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def update(self, workspace_id: str, document_id: str, changes: dict[str, Any]) -> None:
        self.document = replace(self.document, **changes)


def reporter(records: Records) -> tuple[DocumentNews, InMemoryOpLog]:
    store, oplog = InMemoryConnectionStore(), InMemoryOpLog()
    store.put("c1", "vera", "ws", {})
    progress = ProgressPublisher(Fanout(FakeNotifier(), store), store, min_interval_s=0)
    return DocumentNews(WorkspaceLog(oplog, InMemorySnapshots()), records, progress, None,  # type: ignore[arg-type]
                        Turns()), oplog


def test_a_ready_heard_after_a_newer_job_started_lists_its_version() -> None:
    records = Records(ALICES, [BOBS])
    news, oplog = reporter(records)
    news.status("ws", "doc-1", {"status": "tiling", "job_id": "job-2", "pages_done": 0, "page_count": 1,
                                "passed_over": ["v-older"]})
    news.status("ws", "doc-1", {"status": "ready", "job_id": "job-1", "pages_done": 2, "page_count": 2}, final=True)
    assert records.document.passed_over == ["v-bob", "v-older"]  # newest first
    item = WorkspaceLog(oplog, InMemorySnapshots()).current("ws").items["doc:doc-1"]
    assert item.fields["passed_over"] == ["v-bob", "v-older"] and item.fields["status"] == "tiling"
    assert item.fields["version_id"] == "v-alice"
    # Alice's own `tiling` report, coming later (a redelivery heals it), keeps the record's list, not its own.
    news.status("ws", "doc-1", {"status": "tiling", "job_id": "job-2", "pages_done": 0, "page_count": 1,
                                "passed_over": ["v-older"]})
    assert WorkspaceLog(oplog, InMemorySnapshots()).current("ws").items["doc:doc-1"].fields["passed_over"] == [
        "v-bob", "v-older"]


def test_a_reprocessing_of_the_same_version_passes_nothing_over() -> None:
    records = Records(replace(ALICES, version_id="v-bob", passed_over=None), [BOBS])
    news, _ = reporter(records)
    news.status("ws", "doc-1", {"status": "ready", "job_id": "job-1", "pages_done": 2, "page_count": 2}, final=True)
    assert records.document.passed_over is None


def test_a_ready_the_record_has_moved_past_for_another_reason_lists_nothing() -> None:
    failed = replace(BOBS, state=JobState.FAILED)
    records = Records(ALICES, [failed])
    news, _ = reporter(records)
    news.status("ws", "doc-1", {"status": "ready", "job_id": "job-1", "pages_done": 2, "page_count": 2}, final=True)
    assert records.document.passed_over == ["v-older"]
