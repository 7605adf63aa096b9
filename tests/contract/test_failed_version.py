"""A new version that fails while it is tiled gives its document back to the ready version it replaced, which
the docs promise ("a new version that fails leaves a document that was ready with its previous rendition"): the
tiling services with their real adapters on the emulator, page tasks handled one at a time. Before, only a
version refused at analysis did; one that failed at a page (or whose retries were spent) failed the document,
whose earlier pages no manifest listed any more."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.dynamo_documents import DynamoDocumentStore
from chalicelib.domain.documents import DocumentStatus, Job, JobState, PageTask, TileOptions, source_key
from chalicelib.ports import PageRef
from chalicelib.services.document_jobs import JobStarter
from chalicelib.services.tiling import PageTiler
from tests.contract.test_superseded_tiles import HookedTiles
from tests.contract.tiling_parts import new_document, tiling_parts
from tests.e2e.documents_samples import letter_pdf


@pytest.fixture
def parts(stack, clients, tmp_path):
    tiles = HookedTiles(clients["s3"], stack.outputs["TilesBucketName"])
    documents, starter, tiler = tiling_parts(stack, clients, str(tmp_path), tiles)
    return documents, starter, tiler, tiles


def _page(tiler: PageTiler, job: Job, page: int) -> None:
    tiler.handle(_task(job, page))


def _task(job: Job, page: int) -> str:
    return PageTask("ws-t", job.document_id, job.job_id, page, job.version_id, job.kind,
                    TileOptions.from_dict(job.options)).to_json()


def _version(stack: Any, clients: Any, document_id: str, body: bytes) -> str:
    return str(clients["s3"].put_object(Bucket=stack.outputs["DocumentsBucketName"],
                                        Key=source_key("ws-t", document_id), Body=body)["VersionId"])


def _ready(starter: JobStarter, tiler: PageTiler, document_id: str, version: str) -> Job:
    job = starter.start("ws-t", document_id, version, 0)
    assert job is not None
    for page in range(job.page_count):
        _page(tiler, job, page)
    return job


def _state(documents: DynamoDocumentStore, job: Job) -> JobState:
    found = documents.job(job.document_id, job.job_id)
    assert found is not None
    return found.state


def test_a_version_failing_at_a_page_gives_the_document_back_to_the_ready_one(stack, clients, parts) -> None:
    documents, starter, tiler, tiles = parts
    document_id, first_version = new_document(stack, clients, documents, letter_pdf(pages=2, text="First"))
    first = _ready(starter, tiler, document_id, first_version)
    shown = documents.get("ws-t", document_id)
    assert shown is not None and shown.status is DocumentStatus.READY

    second_version = _version(stack, clients, document_id, letter_pdf(pages=3, text="Second"))
    second = starter.start("ws-t", document_id, second_version, 0)
    assert second is not None and second.previous is not None and second.previous["job_id"] == first.job_id
    tiling = documents.get("ws-t", document_id)
    assert tiling is not None and (tiling.status, tiling.job_id) == (DocumentStatus.TILING, second.job_id)
    _page(tiler, second, 0)

    def retries_spent_meanwhile() -> None:
        # While this worker is paused before it writes page 2, page 1's retries are spent (dead-letter queue).
        tiler.dead_letter(_task(second, 1))
        back = documents.get("ws-t", document_id)
        assert back is not None and back.job_id == first.job_id and back.status is DocumentStatus.READY
    tiles.before[(second.job_id, 2)] = retries_spent_meanwhile
    _page(tiler, second, 2)  # writes its page, finds its job failed and shown no more, and removes its tiles
    assert not tiles.before, "the hook did not run"

    document = documents.get("ws-t", document_id)
    assert document is not None
    assert (document.status, document.job_id, document.version_id) == (DocumentStatus.READY, first.job_id,
                                                                         first_version)
    assert (document.page_count, document.pages_done) == (2, 2)
    assert (document.reason_code, document.refused_version_id) == ("processing_failed", second_version)
    assert (document.page_width, document.page_height, document.kind) == (shown.page_width, shown.page_height,
                                                                           shown.kind)
    assert _state(documents, second) is JobState.FAILED and _state(documents, first) is JobState.READY
    assert [p.page for p in documents.pages(document_id, first.job_id)] == [0, 1]
    assert tiles.jobs("ws-t", document_id) == [first.job_id]  # the failed job's tiles went, the shown ones stay
    assert tiles.read(PageRef("ws-t", document_id, first.job_id, 1), "@thumbnail") is not None

    # The next good version replaces the shown one as usual, and clears the refusal.
    third_version = _version(stack, clients, document_id, letter_pdf(pages=1, text="Third"))
    third = _ready(starter, tiler, document_id, third_version)
    assert third.previous is not None and third.previous["job_id"] == first.job_id
    document = documents.get("ws-t", document_id)
    assert document is not None and (document.status, document.job_id) == (DocumentStatus.READY, third.job_id)
    assert (document.reason_code, document.refused_version_id, document.page_count) == (None, None, 1)
    assert tiles.jobs("ws-t", document_id) == [third.job_id]


def test_a_first_version_failing_at_a_page_fails_the_document_counting_the_pages_it_shows(stack, clients,
                                                                                          parts) -> None:
    documents, starter, tiler, tiles = parts
    document_id, version = new_document(stack, clients, documents, letter_pdf(pages=3, text="Only"))
    job = starter.start("ws-t", document_id, version, 0)
    assert job is not None and job.previous is None
    _page(tiler, job, 0)
    tiles.before[(job.job_id, 2)] = lambda: tiler.dead_letter(_task(job, 1))  # page 1 fails while 2 is tiled
    _page(tiler, job, 2)  # its page is written after the failure: not counted, not listed
    assert not tiles.before, "the hook did not run"
    document = documents.get("ws-t", document_id)
    assert document is not None and (document.status, document.job_id) == (DocumentStatus.FAILED, job.job_id)
    assert document.reason_code == "processing_failed" and document.refused_version_id is None
    concluded = documents.job(document_id, job.job_id)
    assert concluded is not None and concluded.state is JobState.FAILED
    # One count everywhere: the record's, the job's, and the pages the manifest lists.
    assert (document.pages_done, concluded.pages_done, document.page_count) == (1, 1, 3)
    assert [p.page for p in documents.pages(document_id, job.job_id)] == [0]
    # The page written after the failure is not listed, and its tiles went with it.
    stored = clients["s3"].list_objects_v2(Bucket=stack.outputs["TilesBucketName"],
                                           Prefix=f"workspaces/ws-t/documents/{document_id}/{job.job_id}/")
    assert {o["Key"].rsplit("/", 1)[1].split(".")[0] for o in stored.get("Contents", [])} == {"p00000"}


@pytest.fixture
def accepting(stack, clients, tmp_path):
    """Parts whose starter asks `accepted` (a set of version ids the test fills) whether an upload was accepted."""
    accepted: set[str] = set()
    tiles = HookedTiles(clients["s3"], stack.outputs["TilesBucketName"])
    documents, starter, tiler = tiling_parts(stack, clients, str(tmp_path), tiles,
                                             lambda key, version: version in accepted)
    return documents, starter, tiler, accepted


def _shown_after_processing(documents: DynamoDocumentStore, tiler: PageTiler, document_id: str) -> Job:
    """Tiles every page of the job the document now points at (its tasks are on the queue; handled here)."""
    document = documents.get("ws-t", document_id)
    assert document is not None and document.job_id and document.status is DocumentStatus.TILING, document
    job = documents.job(document_id, document.job_id)
    assert job is not None
    for page in range(job.page_count):
        _page(tiler, job, page)
    return job


def test_a_version_overtaken_before_analysis_is_processed_when_the_newer_one_is_refused(stack, clients,
                                                                                         accepting) -> None:
    documents, starter, tiler, accepted = accepting
    document_id, first_version = new_document(stack, clients, documents, letter_pdf(pages=1, text="First"))
    accepted.add(first_version)
    _ready(starter, tiler, document_id, first_version)
    # Bob's version arrives, then one whose upload was not accepted (a revoked grant's, before it is deleted),
    # then Alice's, a moment later and corrupt: the notifications of the first two found a newer version latest.
    bobs = _version(stack, clients, document_id, letter_pdf(pages=2, text="Bob's"))
    unaccepted = _version(stack, clients, document_id, letter_pdf(pages=3, text="Not accepted"))
    alices = _version(stack, clients, document_id, b"%PDF-1.7\n" + bytes(5120))
    accepted.update({bobs, alices})
    assert starter.start("ws-t", document_id, alices, 0, only_if_latest=True) is None  # refused at analysis
    job = _shown_after_processing(documents, tiler, document_id)
    assert (job.version_id, job.page_count) == (bobs, 2) and unaccepted not in (job.version_id,)
    document = documents.get("ws-t", document_id)
    assert document is not None and (document.status, document.version_id) == (DocumentStatus.READY, bobs)
    assert document.refused_version_id is None and document.reason_code is None
    assert document.passed_over is None  # Bob's version was shown after all: its uploader is told nothing else


def test_a_version_superseded_by_one_that_fails_while_tiled_is_processed_again(stack, clients, accepting) -> None:
    documents, starter, tiler, accepted = accepting
    document_id, first_version = new_document(stack, clients, documents, letter_pdf(pages=1, text="First"))
    first = _ready(starter, tiler, document_id, first_version)
    bobs = _version(stack, clients, document_id, letter_pdf(pages=2, text="Bob's"))
    accepted.update({first_version, bobs})
    bob_job = starter.start("ws-t", document_id, bobs, 0, only_if_latest=True)
    assert bob_job is not None and bob_job.previous and bob_job.previous["job_id"] == first.job_id
    _page(tiler, bob_job, 0)
    alices = _version(stack, clients, document_id, letter_pdf(pages=2, text="Alice's"))
    accepted.add(alices)
    alice_job = starter.start("ws-t", document_id, alices, 0, only_if_latest=True)
    # Bob's job, still tiling, is superseded; Alice's keeps what Bob's kept: the ready first version.
    assert alice_job is not None and alice_job.previous and alice_job.previous["job_id"] == first.job_id
    assert _state(documents, bob_job) is JobState.SUPERSEDED
    assert _passed_over(documents, document_id) == [bobs]  # Bob is told his version is not the one shown
    tiler.dead_letter(_task(alice_job, 1))  # Alice's fails: the first version shows, then Bob's is started again
    again = _shown_after_processing(documents, tiler, document_id)
    assert again.version_id == bobs and again.job_id != bob_job.job_id and again.run > 0
    document = documents.get("ws-t", document_id)
    assert document is not None and (document.status, document.job_id) == (DocumentStatus.READY, again.job_id)
    assert document.passed_over == []  # shown after all
    assert [p.page for p in documents.pages(document_id, again.job_id)] == [0, 1]


def _first_version_tiling(stack: Any, clients: Any, documents: DynamoDocumentStore, starter: JobStarter,
                          tiler: PageTiler) -> tuple[str, str, Job]:
    """A new document whose first version (3 pages) has one page tiled: nothing is ready yet."""
    document_id, first_version = new_document(stack, clients, documents, letter_pdf(pages=3, text="First"))
    first = starter.start("ws-t", document_id, first_version, 0)
    assert first is not None
    _page(tiler, first, 0)
    return document_id, first_version, first


def test_a_version_failing_after_it_displaced_one_still_tiling_gives_that_one_back(stack, clients, accepting) -> None:
    documents, starter, tiler, accepted = accepting
    document_id, first_version, first = _first_version_tiling(stack, clients, documents, starter, tiler)
    accepted.add(first_version)
    second_version = _version(stack, clients, document_id, letter_pdf(pages=2, text="Second"))
    accepted.add(second_version)
    second = starter.start("ws-t", document_id, second_version, 0, only_if_latest=True)
    assert second is not None and second.previous is None and second.displaced_version == first_version
    assert _state(documents, first) is JobState.SUPERSEDED and _passed_over(documents, document_id) == [first_version]
    tiler.dead_letter(_task(second, 1))  # the second fails: the first version is processed again, as a new run
    again = _shown_after_processing(documents, tiler, document_id)
    assert (again.version_id, again.page_count) == (first_version, 3) and again.run > 0
    document = documents.get("ws-t", document_id)
    assert document is not None and (document.status, document.job_id) == (DocumentStatus.READY, again.job_id)


def test_racing_versions_over_one_still_tiling_keep_the_other_members(stack, clients, accepting) -> None:
    documents, starter, tiler, accepted = accepting
    document_id, first_version, _ = _first_version_tiling(stack, clients, documents, starter, tiler)
    bobs = _version(stack, clients, document_id, letter_pdf(pages=2, text="Bob's"))  # overtaken before analysis
    alices = _version(stack, clients, document_id, letter_pdf(pages=2, text="Alice's"))
    accepted.update({first_version, bobs, alices})
    alice_job = starter.start("ws-t", document_id, alices, 0, only_if_latest=True)
    assert alice_job is not None and alice_job.displaced_version == first_version
    # Bob's, overtaken before analysis, and the first, superseded part-way: newest first.
    assert _passed_over(documents, document_id) == [bobs, first_version]
    assert starter.start("ws-t", document_id, bobs, 0, only_if_latest=True) is None  # its late notification
    assert _passed_over(documents, document_id) == [bobs, first_version]
    tiler.dead_letter(_task(alice_job, 0))
    job = _shown_after_processing(documents, tiler, document_id)
    assert (job.version_id, job.run) == (bobs, 0)
    document = documents.get("ws-t", document_id)
    assert document is not None and (document.status, document.version_id) == (DocumentStatus.READY, bobs)
    assert document.passed_over == [first_version]  # Bob's is shown after all; the first never will be


def test_a_page_whose_last_attempt_died_before_counting_leaves_no_tiles(stack, clients, parts) -> None:
    documents, starter, tiler, tiles = parts
    document_id, version = new_document(stack, clients, documents, letter_pdf(pages=2, text="Crash"))
    job = starter.start("ws-t", document_id, version, 0)
    assert job is not None
    _page(tiler, job, 0)
    writer = tiles.writer(PageRef("ws-t", document_id, job.job_id, 1), "jpeg")  # page 1's last attempt wrote,
    writer.attach("text", b"written, then the function died before counting it")
    writer.close(612, 792, 256, 0)
    documents.note_error(job, 0, "ClientError: TransactWriteItems failed")  # another page's, earlier
    tiler.dead_letter(_task(job, 1))  # ... and its retries are spent
    stored = clients["s3"].list_objects_v2(Bucket=stack.outputs["TilesBucketName"],
                                           Prefix=f"workspaces/ws-t/documents/{document_id}/{job.job_id}/")
    assert {o["Key"].rsplit("/", 1)[1].split(".")[0] for o in stored.get("Contents", [])} == {"p00000"}
    document = documents.get("ws-t", document_id)
    assert document is not None and (document.status, document.pages_done) == (DocumentStatus.FAILED, 1)
    # The reason is for people: this page, nothing of another page's error or of the service's own text (an
    # outside client saw "page 2 ... (last error: page 10: InternalServerError ...)"); administrators get it.
    assert document.reason == "page 2 could not be processed, even after retries: retry it later"
    [failed] = [e for e in tiler._events.events if e.type == "document.failed"]
    assert failed.detail["error"] == "page 1: ClientError: TransactWriteItems failed"


def test_a_version_refused_before_is_not_tried_again_after_a_later_refusal(stack, clients, accepting) -> None:
    """Two corrupt versions in turn: the second's refusal must not process the first again (it would be refused
    again, and the document would name that older refusal last, which an uploader waiting for its own misses)."""
    documents, starter, tiler, accepted = accepting
    document_id, first_version = new_document(stack, clients, documents, letter_pdf(pages=1, text="First"))
    first = _ready(starter, tiler, document_id, first_version)
    refusals = []
    for _ in range(2):
        version = _version(stack, clients, document_id, b"%PDF-1.7\n" + bytes(range(256)) * 20)
        accepted.add(version)
        assert starter.start("ws-t", document_id, version, 0, only_if_latest=True) is None
        refusals.append(version)
        document = documents.get("ws-t", document_id)
        assert document is not None and (document.status, document.job_id) == (DocumentStatus.READY, first.job_id)
        assert document.refused_version_id == version, (document.refused_version_id, refusals)
    listed = [j for j in documents.jobs("ws-t", 100, None).items if j.document_id == document_id]
    assert sorted(j.version_id for j in listed if j.state is JobState.FAILED) == sorted(refusals)
    # A good version after them passes over neither: their uploaders were told why each was refused.
    good = _version(stack, clients, document_id, letter_pdf(pages=1, text="Good"))
    assert starter.start("ws-t", document_id, good, 0, only_if_latest=True) is not None
    assert _passed_over(documents, document_id) is None


def _passed_over(documents: DynamoDocumentStore, document_id: str) -> list[str] | None:
    document = documents.get("ws-t", document_id)
    assert document is not None
    return document.passed_over
