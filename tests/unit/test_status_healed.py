"""A function that dies between a document record's change and the op that logs it (a job started, ready or
failed) must not leave members without that status for good: an outside tester killed the workers just after a
job's start, and the redelivered upload found the job, queued its pages and logged nothing; the document stayed
`analysing` for every member who joined, and its item never got its kind or page size. The redelivery (of the
upload, or of a page task of a job no longer tiling) now heals the item from the record, and sends nothing when
the item has it already."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.domain.documents import DocumentStatus, Job, JobState, TileOptions
from chalicelib.domain.tenancy import Account, Workspace
from chalicelib.services.document_jobs import JobLimits, JobStarter
from chalicelib.services.tiling import PageTiler
from tests.fakes import InMemoryTenancy, RecordingEvents
from tests.unit.test_status_on_its_op import ANALYSING, members_hear, sent
from tests.unit.test_tiling_requests import Records as JobRecords
from tests.unit.test_tiling_requests import job, task

STARTED = replace(ANALYSING, status=DocumentStatus.TILING, job_id="job-1", page_count=12, pages_done=3, kind="pdf",
                  page_width=2384, page_height=3370)
READY = replace(STARTED, status=DocumentStatus.READY, pages_done=12)


def _listed() -> tuple[Any, Any, Any, Any]:
    news, records, notifier, oplog = members_hear()
    news.status("ws", "doc-1", {"status": "analysing", "version_id": "v1"})
    sent(notifier)
    return news, records, notifier, oplog


def test_a_job_start_whose_op_was_lost_is_logged_and_heard_once():
    news, records, notifier, oplog = _listed()
    records.document = STARTED  # the start died after recording the job, before its `tiling` op
    news.heal("ws", "doc-1")
    [update] = sent(notifier)
    fields = update["op"]["data"]["fields"]
    assert fields["status"] == "tiling" and fields["job_id"] == "job-1" and fields["page_count"] == 12
    assert (fields["kind"], fields["page_width"], fields["page_height"]) == ("pdf", 2384, 3370)
    assert "pages_done" not in fields  # pages are counted live, not on the item
    assert update["progress"]["pages_done"] == 3 and update["final"] is False
    logged = len(oplog.all("ws"))
    news.heal("ws", "doc-1")  # another redelivery: the item has it, so nothing is logged or sent
    assert len(oplog.all("ws")) == logged and sent(notifier) == []


def test_a_ready_whose_op_was_lost_is_logged_and_heard_once_and_final():
    news, records, notifier, oplog = _listed()
    records.document = STARTED
    news.status("ws", "doc-1", {"status": "tiling", "job_id": "job-1", "page_count": 12, "pages_done": 0})
    sent(notifier)
    records.document = READY  # the worker that won `ready` died before logging it
    news.heal("ws", "doc-1")
    [ready] = sent(notifier)
    assert ready["op"]["data"]["fields"]["status"] == "ready" and ready["final"] is True
    assert ready["progress"]["pages_done"] == 12
    news.heal("ws", "doc-1")
    assert sent(notifier) == []


def test_a_ready_status_gives_the_item_what_a_lost_tiling_op_left_out():
    news, records, notifier, oplog = _listed()
    records.document = READY  # `tiling` never logged, and `ready` reports only its counts
    news.status("ws", "doc-1", {"status": "ready", "job_id": "job-1", "page_count": 12, "pages_done": 12},
                final=True)
    [ready] = sent(notifier)
    fields = ready["op"]["data"]["fields"]
    assert (fields["status"], fields["kind"], fields["page_width"], fields["page_height"]) == (
        "ready", "pdf", 2384, 3370)


def test_a_failure_whose_op_was_lost_is_logged_and_a_document_not_started_is_left_to_its_start():
    news, records, notifier, oplog = _listed()
    news.heal("ws", "doc-1")  # analysing: a redelivered upload runs its start again, which reports it
    assert sent(notifier) == []
    records.document = replace(ANALYSING, status=DocumentStatus.FAILED, reason_code="damaged",
                               reason="the file is damaged")
    news.heal("ws", "doc-1")
    [failed] = sent(notifier)
    assert failed["op"]["data"]["fields"]["reason_code"] == "damaged" and failed["final"] is True


class HealSpy:
    def __init__(self) -> None:
        self.healed: list[str] = []

    def heal(self, workspace_id: str, document_id: str) -> None:
        self.healed.append(document_id)


def _tiler(records: JobRecords, news: HealSpy) -> PageTiler:
    tenancy = InMemoryTenancy()
    tenancy.accounts["acc"] = Account("acc", "A", "team", 0)
    tenancy.workspaces["ws"] = Workspace("ws", "acc", "W", 0)
    return PageTiler(records, None, None, tenancy, RecordingEvents(), news, None,  # type: ignore[arg-type]
                     JobLimits())


def test_a_page_task_of_a_job_no_longer_tiling_heals_unless_the_job_was_superseded():
    for state, heals in ((JobState.READY, True), (JobState.FAILED, True), (JobState.SUPERSEDED, False)):
        done = replace(job("job-1"), state=state)
        spy = HealSpy()
        _tiler(JobRecords(done, first=True), spy).handle(task(done, 0))
        assert spy.healed == (["doc"] if heals else []), state


class StartRecords:
    """What JobStarter reads of a document whose job exists already (a redelivered upload)."""

    def __init__(self, existing: Job) -> None:
        self.existing = existing

    def get(self, workspace_id: str, document_id: str) -> Any:
        return replace(STARTED, document_id=document_id)

    def job(self, document_id: str, job_id: str) -> Job | None:
        return self.existing if job_id == self.existing.job_id else None


class Tasks:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, bodies: list[str]) -> None:
        self.sent.extend(bodies)


def test_a_redelivered_upload_that_finds_its_job_heals_before_queueing_its_pages():
    from chalicelib.domain.documents import job_id_for

    existing = Job("ws", "doc", job_id_for("v1", TileOptions(), 0), "v1", "pdf", JobState.TILING, 2, 0,
                   TileOptions().to_dict(), 0)
    order: list[str] = []

    class Spy(HealSpy):
        def heal(self, workspace_id: str, document_id: str) -> None:
            order.append("heal")

    class Queue(Tasks):
        def send(self, bodies: list[str]) -> None:
            order.extend(["queue"] * len(bodies))

    spy, tasks = Spy(), Queue()
    tenancy = InMemoryTenancy()
    tenancy.workspaces["ws"] = Workspace("ws", "acc", "W", 0)
    starter = JobStarter(StartRecords(existing), None, tasks, tenancy, RecordingEvents(), spy,  # type: ignore[arg-type]
                         None, JobLimits())  # type: ignore[arg-type]
    assert starter.start("ws", "doc", "v1", 10) == existing
    assert order == ["heal", "queue", "queue"]
