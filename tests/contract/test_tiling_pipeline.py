"""The tiling services with their real adapters against the emulator, the queue drained by hand so a worker
can be made to die at chosen points: mid-page (nothing written) and after its tiles are written but before
the page is counted. Redelivery must complete the document with every tile identical to an undisturbed run."""

from __future__ import annotations

import time

import pytest

from chalicelib.adapters.dynamo_documents import DynamoDocumentStore
from chalicelib.adapters.s3_sources import S3SourceStore
from chalicelib.adapters.s3_tile_store import PackWriter, S3TileStore
from chalicelib.domain.documents import Document, DocumentStatus, Job, JobState, PageTask, TileOptions, source_key
from chalicelib.ports import PageRef
from chalicelib.services.tiling import PageTiler
from tests.contract.tiling_parts import new_document, tiling_parts
from tests.e2e.documents_samples import letter_pdf


class Crash(Exception):
    """Stands for the function instance dying."""


class CrashingTiles(S3TileStore):
    """Dies once per planned point: in the middle of a page, or after writing it."""

    def __init__(self, *args, plan: dict[int, str]) -> None:
        super().__init__(*args)
        self.plan = plan

    def writer(self, ref: PageRef, fmt: str) -> PackWriter:
        writer = super().writer(ref, fmt)
        when = self.plan.pop(ref.page, None)
        if when == "mid-page":
            add, count = writer.add, [0]

            def dying_add(piece) -> None:
                count[0] += 1
                if count[0] == 5:
                    raise Crash("killed mid-page")
                add(piece)
            writer.add = dying_add  # type: ignore[method-assign]
        elif when == "after-write":
            close = writer.close

            def dying_close(*args):
                close(*args)
                raise Crash("killed after writing, before counting")
            writer.close = dying_close  # type: ignore[method-assign]
        return writer


@pytest.fixture
def pipeline(stack, clients, tmp_path):
    def build(plan: dict[int, str]):
        tiles = CrashingTiles(clients["s3"], stack.outputs["TilesBucketName"], plan=plan)
        documents, starter, tiler = tiling_parts(stack, clients, str(tmp_path), tiles)
        return documents, starter, tiler, tiles
    return build


def _drain(clients, stack, tiler: PageTiler) -> int:
    """Deliver every task as Lambda would: a failed one stays on the queue and comes back."""
    sqs = clients["sqs"]
    url = sqs.get_queue_url(QueueName=stack.outputs["TilesQueueName"])["QueueUrl"]
    crashes = 0
    for _ in range(200):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                       VisibilityTimeout=1).get("Messages", [])
        if not messages:
            # Every count, not only the in-flight one: a crashed task's visibility can run out between the
            # empty receive and this read, and it is then visible again, not gone.
            counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed"])["Attributes"]
            if all(value == "0" for value in counts.values()):
                return crashes
            time.sleep(0.5)
            continue
        for message in messages:
            try:
                tiler.handle(message["Body"])
            except Crash:
                crashes += 1
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError("the queue never drained")


def _run(pipeline, clients, stack, plan: dict[int, str]) -> tuple[dict[str, bytes], int]:
    documents, starter, tiler, tiles = pipeline(plan)
    document_id = f"doc-{time.time_ns():016x}"[-20:]
    documents.create(Document("ws-t", document_id, "acc-t", "plan.pdf", "application/pdf",
                              DocumentStatus.AWAITING_UPLOAD, int(time.time()), "u", 0))
    body = letter_pdf(pages=3, text="Section A-A")
    version = clients["s3"].put_object(Bucket=stack.outputs["DocumentsBucketName"],
                                       Key=source_key("ws-t", document_id), Body=body)["VersionId"]
    job = starter.start("ws-t", document_id, version, len(body))
    assert job is not None and job.page_count == 3
    crashes = _drain(clients, stack, tiler)
    document = documents.get("ws-t", document_id)
    assert document is not None and document.status is DocumentStatus.READY, document
    assert documents.job(document_id, job.job_id).pages_done == 3  # nothing counted twice
    reader = S3TileStore(clients["s3"], stack.outputs["TilesBucketName"])
    found: dict[str, bytes] = {}
    for record in documents.pages(document_id, job.job_id):
        ref = PageRef("ws-t", document_id, job.job_id, record.page)
        for level in range(record.max_level + 1):
            from chalicelib.domain.tile_plan import TilePlan

            lv = TilePlan(record.width, record.height, record.tile_size).level(level)
            for col in range(lv.cols):
                for row in range(lv.rows):
                    tile = reader.read(ref, f"{level}/{col}_{row}")
                    assert tile is not None, (record.page, level, col, row)
                    found[f"{record.page}/{level}/{col}_{row}"] = tile.data
    return found, crashes


def test_a_worker_that_dies_mid_document_still_completes_it_with_every_tile_correct(pipeline, clients, stack):
    clean, clean_crashes = _run(pipeline, clients, stack, {})
    disturbed, crashes = _run(pipeline, clients, stack, {0: "mid-page", 2: "after-write"})
    assert clean_crashes == 0 and crashes == 2
    assert disturbed.keys() == clean.keys() and len(clean) > 100
    assert all(disturbed[k] == clean[k] for k in clean)  # byte for byte: rendering is deterministic


def test_an_older_versions_late_notification_does_not_replace_the_newer(pipeline, clients, stack, tmp_path):
    documents, starter, _, _ = pipeline({})
    document_id = f"doc-{time.time_ns():016x}"[-20:]
    documents.create(Document("ws-t", document_id, "acc-t", "plan.pdf", "application/pdf",
                              DocumentStatus.AWAITING_UPLOAD, int(time.time()), "u", 0))
    bucket, key = stack.outputs["DocumentsBucketName"], source_key("ws-t", document_id)
    first = clients["s3"].put_object(Bucket=bucket, Key=key, Body=letter_pdf(pages=1))["VersionId"]
    second = clients["s3"].put_object(Bucket=bucket, Key=key, Body=letter_pdf(pages=2))["VersionId"]
    newer = starter.start("ws-t", document_id, second, 0, only_if_latest=True)
    assert newer is not None and newer.page_count == 2
    assert starter.start("ws-t", document_id, first, 0, only_if_latest=True) is None  # arrived late: ignored
    assert documents.get("ws-t", document_id).version_id == second
    # The newer notification redelivered to another instance (an empty cache): the job exists, so it only asks
    # which version is the latest (a HEAD); it does not download the file again.
    calls: list[str] = []
    starter._sources = CountingSources(clients["s3"], stack.outputs["DocumentsBucketName"],
                                       cache_dir=str(tmp_path / "other-instance"), calls=calls)
    again = starter.start("ws-t", document_id, second, 0, only_if_latest=True)
    assert again is not None and again.job_id == newer.job_id
    assert calls == ["latest_version"]


class CountingSources(S3SourceStore):
    def __init__(self, *args, calls: list[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.calls = calls

    def download(self, key: str, version_id: str) -> str:
        self.calls.append("download")
        return super().download(key, version_id)

    def download_latest(self, key: str, version_id: str) -> str | None:
        self.calls.append("download_latest")
        return super().download_latest(key, version_id)

    def latest_version(self, key: str) -> str:
        self.calls.append("latest_version")
        return super().latest_version(key)


class CountingTiles(CrashingTiles):
    """Counts the listings of a document's jobs (an S3 LIST each)."""

    listed = 0

    def jobs(self, workspace_id: str, document_id: str) -> list[str]:
        self.listed += 1
        return super().jobs(workspace_id, document_id)


def test_a_documents_first_job_lists_no_superseded_tiles_and_a_second_still_removes_them(stack, clients, tmp_path):
    tiles = CountingTiles(clients["s3"], stack.outputs["TilesBucketName"], plan={})
    documents, starter, tiler = tiling_parts(stack, clients, str(tmp_path), tiles)
    document_id, version = new_document(stack, clients, documents, letter_pdf(pages=2))
    first = starter.start("ws-t", document_id, version, 0)
    assert first is not None and documents.tiling_job(document_id, first.job_id) == (first, True)
    _drain(clients, stack, tiler)
    assert documents.get("ws-t", document_id).status is DocumentStatus.READY
    assert tiles.listed == 0 and tiles.jobs("ws-t", document_id) == [first.job_id]
    task = PageTask("ws-t", document_id, first.job_id, 1, version, first.kind, TileOptions.from_dict(first.options))
    tiler.handle(task.to_json())  # a redelivered last page of the ready job: nothing happens
    assert tiles.listed == 1  # the check's own listing just above
    second = starter.start("ws-t", document_id, version, 0, run=1)  # reprocessed: a second job
    assert second is not None and documents.tiling_job(document_id, second.job_id) == (second, False)
    _drain(clients, stack, tiler)
    assert documents.get("ws-t", document_id).job_id == second.job_id
    assert tiles.listed == 2 and tiles.jobs("ws-t", document_id) == [second.job_id]  # the first job's tiles gone


def test_a_job_recorded_after_another_is_not_marked_first_even_if_its_start_read_no_job(stack, clients):
    documents = DynamoDocumentStore(clients["dynamodb"], stack.outputs["MainTableName"])
    document_id = f"doc-{time.time_ns():016x}"[-20:]
    documents.create(Document("ws-t", document_id, "acc-t", "plan.pdf", "application/pdf",
                              DocumentStatus.AWAITING_UPLOAD, int(time.time()), "u", 0))

    def job(job_id: str) -> Job:
        return Job("ws-t", document_id, job_id, "v", "pdf", JobState.TILING, 1, 0, {}, int(time.time()))
    # Two starts that both read the document naming no job: the one recorded second is not the first.
    assert documents.start_job(job("job-a"), {}, first=True)
    assert documents.start_job(job("job-b"), {}, first=True)
    assert [(found or (None, None))[1] for found in (documents.tiling_job(document_id, "job-a"),
                                                     documents.tiling_job(document_id, "job-b"))] == [True, False]
    assert documents.get("ws-t", document_id).job_id == "job-b"
    assert not documents.start_job(job("job-b"), {}, first=True)  # a redelivered start: the job exists
