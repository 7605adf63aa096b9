"""What the tiling worker asks of its stores for one page (each call is an AWS request): a document's first job
lists no superseded tiles, its last page is not read back to learn it is complete, and a second job, a
redelivered task or a page counted by another delivery still get the reads they need."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from chalicelib.domain.documents import Job, JobState, PageRecord, PageTask, TileOptions
from chalicelib.domain.tenancy import Account, Workspace
from chalicelib.services.document_jobs import JobLimits
from chalicelib.services.tiling import PageTiler
from tests.e2e.documents_samples import letter_pdf
from tests.fakes import InMemoryTenancy, RecordingEvents


class Records:
    """DocumentRecords for the tiler, as the DynamoDB adapter behaves, counting its job reads."""

    def __init__(self, job: Job, first: bool) -> None:
        self.jobs = {job.job_id: job}
        self.first = {job.job_id: first}
        self.pages: dict[tuple[str, int], PageRecord] = {}
        self.reads: list[str] = []
        self.finished: list[str] = []

    def tiling_job(self, document_id: str, job_id: str) -> tuple[Job, bool] | None:
        self.reads.append(job_id)
        return (self.jobs[job_id], self.first[job_id]) if job_id in self.jobs else None

    def job(self, document_id: str, job_id: str) -> Job | None:
        self.reads.append(job_id)
        return self.jobs.get(job_id)

    def page(self, document_id: str, job_id: str, page: int) -> PageRecord | None:
        return self.pages.get((job_id, page))

    def page_done(self, account_id: str, job: Job, record: PageRecord) -> bool:
        if (job.job_id, record.page) in self.pages:
            return False
        self.pages[(job.job_id, record.page)] = record
        stored = self.jobs[job.job_id]
        self.jobs[job.job_id] = replace(stored, pages_done=stored.pages_done + 1)
        return True

    def note_progress(self, job: Job, pages_done: int) -> bool:
        return True

    def finish(self, job: Job, account_id: str) -> bool:
        stored = self.jobs[job.job_id]  # the write's own condition, whatever the caller believes
        if stored.state is not JobState.TILING or stored.pages_done != stored.page_count:
            return False
        self.jobs[job.job_id] = replace(stored, state=JobState.READY)
        self.finished.append(job.job_id)
        return True


class Writer:
    def add(self, *args: Any) -> None: ...

    def attach(self, *args: Any) -> None: ...

    def close(self, *args: Any) -> tuple[int, int]:
        return 100, 2


class Tiles:
    def __init__(self, stored: list[str]) -> None:
        self.stored, self.listed, self.forgotten = stored, 0, list[str]()

    def writer(self, ref: Any, fmt: str) -> Writer:
        return Writer()

    def jobs(self, workspace_id: str, document_id: str) -> list[str]:
        self.listed += 1
        return list(self.stored)

    def forget(self, workspace_id: str, document_id: str, job_id: str | None = None, page: int | None = None) -> int:
        self.forgotten.append(str(job_id) if page is None else f"{job_id}/{page}")
        return 1


class Sources:
    def __init__(self, path: str) -> None:
        self.path = path

    def download(self, key: str, version_id: str) -> str:
        return self.path


def tiler(tmp_path: Any, records: Records, tiles: Tiles) -> PageTiler:
    path = tmp_path / "doc.pdf"
    path.write_bytes(letter_pdf(pages=2))
    tenancy = InMemoryTenancy()
    tenancy.accounts["acc"] = Account("acc", "A", "team", 0)
    tenancy.workspaces["ws"] = Workspace("ws", "acc", "W", 0)
    return PageTiler(records, Sources(str(path)), tiles, tenancy, RecordingEvents(), None,  # type: ignore[arg-type]
                     None, JobLimits())  # type: ignore[arg-type]


def job(job_id: str, pages: int = 2) -> Job:
    return Job("ws", "doc", job_id, "v1", "pdf", JobState.TILING, pages, 0, TileOptions(tile_size=512).to_dict(), 0)


def task(of: Job, page: int) -> str:
    return PageTask("ws", "doc", of.job_id, page, "v1", "pdf", TileOptions(tile_size=512)).to_json()


def test_a_first_jobs_pages_list_nothing_and_only_the_page_before_the_last_reads_the_job_again(tmp_path):
    first = job("job-1")
    records, tiles = Records(first, first=True), Tiles([])
    worker = tiler(tmp_path, records, tiles)
    worker.handle(task(first, 0))
    assert records.reads == ["job-1", "job-1"]  # the task's read, and the count read again (1 of 2 done then)
    worker.handle(task(first, 1))
    assert records.reads == ["job-1"] * 3  # the last page: complete from its own read and count
    assert records.finished == ["job-1"] and tiles.listed == 0
    worker.handle(task(first, 1))  # redelivered after `ready`: nothing more
    assert records.finished == ["job-1"] and tiles.listed == 0


def test_a_second_job_still_removes_the_tiles_of_the_one_it_replaced(tmp_path):
    second = job("job-2", pages=1)
    records, tiles = Records(second, first=False), Tiles(["job-1", "job-2"])
    records.jobs["job-1"] = replace(job("job-1"), state=JobState.READY)
    tiler(tmp_path, records, tiles).handle(task(second, 0))
    assert records.finished == ["job-2"] and tiles.listed == 1 and tiles.forgotten == ["job-1"]


def test_a_page_another_delivery_counted_reads_the_job_again_before_finishing(tmp_path):
    only = job("job-1", pages=1)
    records, tiles = Records(only, first=True), Tiles([])
    records.page_done("acc", only, PageRecord(0, 10, 10, 0, 512, "webp", 1, 0, 1))  # counted, not finished
    tiler(tmp_path, records, tiles).handle(task(only, 0))
    assert records.reads == ["job-1", "job-1"] and records.finished == ["job-1"] and tiles.listed == 0


def test_a_job_failed_meanwhile_is_not_finished_by_its_last_page(tmp_path):
    only = job("job-1", pages=1)
    records, tiles = Records(only, first=False), Tiles(["job-1"])

    class FailedMeanwhile(Records):
        def page_done(self, account_id: str, job: Job, record: PageRecord) -> bool:
            counted = super().page_done(account_id, job, record)
            self.jobs[job.job_id] = replace(self.jobs[job.job_id], state=JobState.FAILED)
            return counted
    records = FailedMeanwhile(only, first=False)
    tiler(tmp_path, records, tiles).handle(task(only, 0))
    assert records.finished == [] and tiles.listed == 0


def test_a_damaged_pages_reason_reads_as_one_sentence_after_its_page_number(tmp_path):
    """A tester saw "failed: page 6: The file is damaged": the reason goes on in lower case after "page N: "."""
    only = job("job-1", pages=1)

    class Failing(Records):
        reasons: list[str] = []

        def fail(self, job: Job, code: str, reason: str, pages_done: int | None = None) -> bool:
            self.reasons.append(reason)
            return False

    records = Failing(only, first=True)
    worker = tiler(tmp_path, records, Tiles([]))
    (tmp_path / "doc.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00" * 64)  # not a PDF past its first bytes
    worker.handle(task(only, 0))
    assert records.reasons and records.reasons[0].startswith("page 1: the file is damaged"), records.reasons
