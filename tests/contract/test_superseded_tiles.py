"""A superseded job's tiles do not outlive it: the tiling services with their real adapters against the emulator,
page tasks handled one at a time in a chosen order, so that a newer job's `ready` (whose sweep removes only the
jobs already out of `tiling`) falls where the races put it on AWS."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from chalicelib.adapters.dynamo_documents import DynamoDocumentStore
from chalicelib.adapters.s3_tile_store import PackWriter, S3TileStore
from chalicelib.domain.documents import DocumentStatus, Job, JobState, PageTask, TileOptions
from chalicelib.ports import PageRef
from chalicelib.services.tiling import PageTiler
from tests.contract.tiling_parts import new_document, tiling_parts
from tests.e2e.documents_samples import letter_pdf


class HookedTiles(S3TileStore):
    """Runs `before[(job, page)]` when that page's writer is made: after the worker checked its job was tiling,
    before it writes a byte (where a paused function instance resumes)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.before: dict[tuple[str, int], Callable[[], None]] = {}

    def writer(self, ref: PageRef, fmt: str) -> PackWriter:
        hook = self.before.pop((ref.job_id, ref.page), None)
        if hook is not None:
            hook()
        return super().writer(ref, fmt)


@pytest.fixture
def setup(stack, clients, tmp_path):
    tiles = HookedTiles(clients["s3"], stack.outputs["TilesBucketName"])
    documents, _, tiler = tiling_parts(stack, clients, str(tmp_path), tiles)
    document_id, version = new_document(stack, clients, documents, letter_pdf(pages=2, text="Level 3"))
    return documents, tiler, tiles, document_id, version


def _job(document_id: str, job_id: str, version: str) -> Job:
    return Job("ws-t", document_id, job_id, version, "pdf", JobState.TILING, 2, 0, TileOptions().to_dict(),
               int(time.time()))


def _page(tiler: PageTiler, job: Job, page: int) -> None:
    tiler.handle(PageTask("ws-t", job.document_id, job.job_id, page, job.version_id, job.kind,
                          TileOptions.from_dict(job.options)).to_json())


def _state(documents: DynamoDocumentStore, job: Job) -> JobState:
    found = documents.job(job.document_id, job.job_id)
    assert found is not None
    return found.state


def test_racing_first_starts_leave_only_the_newer_jobs_tiles(setup) -> None:
    documents, tiler, tiles, document_id, version = setup
    # Two starts that both read the document naming no job (two deliveries of a first upload's notification):
    # the one recorded second points the document at itself, and the first stays `tiling` to its end.
    older, newer = _job(document_id, "job-a", version), _job(document_id, "job-b", version)
    assert documents.start_job(older, {}, first=True) and documents.start_job(newer, {}, first=True)
    _page(tiler, older, 0)
    _page(tiler, newer, 0)
    _page(tiler, newer, 1)
    document = documents.get("ws-t", document_id)
    assert document is not None and document.status is DocumentStatus.READY and document.job_id == "job-b"
    # The newer job's sweep kept the older job's tiles: it was still tiling, and may yet write more.
    assert sorted(tiles.jobs("ws-t", document_id)) == ["job-a", "job-b"] and _state(documents, older) is JobState.TILING
    _page(tiler, older, 1)  # its last page: it concludes superseded, and its tiles go with it
    assert _state(documents, older) is JobState.SUPERSEDED
    assert tiles.jobs("ws-t", document_id) == ["job-b"]
    assert documents.get("ws-t", document_id).job_id == "job-b"
    assert tiles.read(PageRef("ws-t", document_id, "job-b", 1), "@thumbnail") is not None  # the newer job is whole


def test_a_page_written_after_the_newer_jobs_sweep_is_removed_by_its_own_worker(setup) -> None:
    documents, tiler, tiles, document_id, version = setup
    older, newer = _job(document_id, "job-a", version), _job(document_id, "job-b", version)
    assert documents.start_job(older, {}, first=True)
    _page(tiler, older, 0)

    def reprocessed_meanwhile() -> None:
        # While this worker is paused between its check and its write, a new job starts (superseding this one,
        # as the starter does) and finishes, sweeping what the older job had written so far.
        assert documents.start_job(newer, {})
        documents.set_job_state(older, JobState.SUPERSEDED, "superseded by job-b")
        _page(tiler, newer, 0)
        _page(tiler, newer, 1)
        assert tiles.jobs("ws-t", document_id) == ["job-b"]
    tiles.before[("job-a", 1)] = reprocessed_meanwhile
    _page(tiler, older, 1)  # resumes, writes its page, finds its job superseded and removes its tiles
    assert not tiles.before, "the hook did not run"
    assert tiles.jobs("ws-t", document_id) == ["job-b"]
    document = documents.get("ws-t", document_id)
    assert document is not None and document.status is DocumentStatus.READY and document.job_id == "job-b"
    _page(tiler, older, 1)  # a redelivery of the same task changes nothing
    assert tiles.jobs("ws-t", document_id) == ["job-b"]
