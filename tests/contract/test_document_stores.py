"""The document pipeline's adapters against the emulator: counting pages once, turning ready exactly once,
failing and superseding jobs, and the packed tile store's layout and reads."""

import json
import time

import pytest

from chalicelib.adapters import s3_tile_store
from chalicelib.adapters.dynamo_documents import DynamoDocumentStore
from chalicelib.adapters.dynamo_items import to_item
from chalicelib.adapters.dynamo_job_notes import doc_key
from chalicelib.adapters.dynamo_upload_deadlines import ABANDONED_KEPT_SECONDS
from chalicelib.adapters.dynamo_usage import DynamoUsageMeter, period_of
from chalicelib.adapters.s3_sources import S3SourceStore
from chalicelib.adapters.s3_tile_store import S3TileStore
from chalicelib.adapters.sqs_tasks import SqsTaskQueue
from chalicelib.domain.documents import Document, DocumentStatus, Job, JobState, PageRecord
from chalicelib.ports import PageRef


class Tile:
    def __init__(self, level: int, col: int, row: int, data: bytes, uniform: str | None = None) -> None:
        self.level, self.col, self.row, self.data, self.uniform = level, col, row, data, uniform


@pytest.fixture
def documents(stack, clients):
    return DynamoDocumentStore(clients["dynamodb"], stack.outputs["MainTableName"])


def _document(store: DynamoDocumentStore, pages: int = 2) -> tuple[Document, Job]:
    suffix = f"{time.time_ns():016x}"[-16:]
    document = Document("ws-c", f"doc-{suffix}", f"acc-{suffix}", "plan.pdf", "application/pdf",
                        DocumentStatus.AWAITING_UPLOAD, int(time.time()), "u1", 10)
    store.create(document)
    job = Job("ws-c", document.document_id, f"job-{suffix}", "v1", "pdf", JobState.TILING, pages, 0, {},
              int(time.time()))
    assert store.start_job(job, {"kind": "pdf", "version_id": "v1"}) is True
    assert store.start_job(job, {"kind": "pdf", "version_id": "v1"}) is False  # a redelivered start
    return document, job


def _record(page: int) -> PageRecord:
    return PageRecord(page, 100, 80, 7, 256, "jpeg", 8, 3, 1234)


def test_pages_count_once_and_the_document_turns_ready_exactly_once(documents, stack, clients):
    document, job = _document(documents)
    assert documents.page_done(document.account_id, job, _record(0)) is True
    assert documents.page_done(document.account_id, job, _record(0)) is False  # a duplicated task
    assert documents.finish(job, document.account_id) is False  # one page of two
    assert documents.page_done(document.account_id, job, _record(1)) is True
    fresh = documents.job(document.document_id, job.job_id)
    assert fresh is not None and fresh.pages_done == 2
    assert documents.finish(fresh, document.account_id) is True
    assert documents.finish(fresh, document.account_id) is False  # whoever comes second
    assert documents.get("ws-c", document.document_id).status is DocumentStatus.READY
    assert [r.page for r in documents.pages(document.document_id, job.job_id)] == [0, 1]
    usage = DynamoUsageMeter(clients["dynamodb"], stack.outputs["MainTableName"]).read(
        document.account_id, period_of(time.time()))
    assert usage["pages_processed"] == 2
    assert documents.fail(fresh, "x", "too late") is False  # a ready job cannot fail


def test_a_failed_job_fails_its_document_once_with_the_reason(documents):
    document, job = _document(documents)
    assert documents.fail(job, "corrupt", "page 2: the file is damaged") is True
    assert documents.fail(job, "corrupt", "again") is False
    stored = documents.get("ws-c", document.document_id)
    assert (stored.status, stored.reason_code, stored.reason) == (DocumentStatus.FAILED, "corrupt",
                                                                  "page 2: the file is damaged")
    assert [j.job_id for j in documents.jobs_in_state(JobState.FAILED, 100, None).items].count(job.job_id) == 1


def test_a_superseded_job_cannot_touch_the_document(documents):
    document, old = _document(documents, pages=1)
    new = Job("ws-c", document.document_id, old.job_id + "-2", "v2", "pdf", JobState.TILING, 1, 0, {},
              int(time.time()))
    assert documents.start_job(new, {"version_id": "v2"}) is True
    documents.page_done(document.account_id, old, _record(0))
    assert documents.finish(documents.job(document.document_id, old.job_id), document.account_id) is False
    assert documents.get("ws-c", document.document_id).job_id == new.job_id
    assert documents.job(document.document_id, old.job_id).state is JobState.SUPERSEDED  # not left tiling
    assert documents.fail(new, "x", "new news") is True
    assert documents.get("ws-c", document.document_id).status is DocumentStatus.FAILED


def test_packed_tiles_one_put_per_page_and_shared_uniform_tiles(stack, clients):
    store = S3TileStore(clients["s3"], stack.outputs["TilesBucketName"])
    ref = PageRef("ws-c", "doc-1", f"job-{time.time_ns()}", 0)
    white = b"\xff\xd8white-tile\xff\xd9"
    writer = store.writer(ref, "jpeg")
    writer.add(Tile(8, 0, 0, b"tile-a"))
    writer.add(Tile(8, 1, 0, white, uniform="ffffff"))
    writer.add(Tile(7, 0, 0, b"tile-b"))
    writer.attach("thumbnail", b"thumb")
    writer.attach("text", b"Grundriss EG")
    stored, puts = writer.close(300, 200, 256, 8)
    assert puts in (1, 2)  # the page, plus the shared white tile unless an earlier test stored it
    assert stored > 0

    second = store.writer(PageRef("ws-c", "doc-1", ref.job_id, 1), "jpeg")
    second.add(Tile(8, 0, 0, white, uniform="ffffff"))
    assert second.close(100, 100, 256, 7)[1] == 1  # the shared tile is not stored again

    reader = S3TileStore(clients["s3"], stack.outputs["TilesBucketName"])  # a fresh instance: no caches
    assert reader.read(ref, "8/0_0").data == b"tile-a"
    assert reader.read(ref, "7/0_0").data == b"tile-b"
    assert reader.read(ref, "8/1_0").data == white
    assert reader.read(ref, "@text").data.decode() == "Grundriss EG"
    assert reader.read(ref, "@thumbnail").content_type == "image/jpeg"
    assert reader.read(ref, "9/0_0") is None
    assert reader.read(PageRef("ws-c", "doc-1", ref.job_id, 5), "8/0_0") is None
    assert reader.etag(ref, "8/0_0") == reader.read(ref, "8/0_0").etag
    keys = [o["Key"] for o in clients["s3"].list_objects_v2(
        Bucket=stack.outputs["TilesBucketName"], Prefix=f"workspaces/ws-c/documents/doc-1/{ref.job_id}/")["Contents"]]
    assert sorted(k.rsplit("/", 1)[1] for k in keys) == ["p00000.tiles", "p00001.tiles"]


def test_an_index_longer_than_the_first_read_and_a_page_of_the_old_layout_are_read(stack, clients):
    """An index of more tiles than an A0 sheet has (7,200 entries) is longer than the reader's first ranged GET,
    which must then read the rest; pages stored before the one-object layout (a pack and an index beside it)
    stay readable."""
    bucket = stack.outputs["TilesBucketName"]
    store = S3TileStore(clients["s3"], bucket)
    ref = PageRef("ws-c", "doc-big", f"job-{time.time_ns()}", 0)
    writer = store.writer(ref, "jpeg")
    tiles = {f"{level}/{col}_{row}": f"tile {level} {col} {row}".encode() * 3
             for level in (13, 12, 11) for col in range(60) for row in range(40)}
    for name, data in tiles.items():
        level, _, place = name.partition("/")
        col, _, row = place.partition("_")
        writer.add(Tile(int(level), int(col), int(row), data))
    stored, puts = writer.close(15360, 10240, 256, 13)
    assert puts == 1
    head = clients["s3"].get_object(Bucket=bucket, Key=f"workspaces/ws-c/documents/doc-big/{ref.job_id}/p00000.tiles",
                                    Range="bytes=0-7")["Body"].read()
    assert int.from_bytes(head[4:], "big") > s3_tile_store.FIRST_READ  # the case under test
    reader = S3TileStore(clients["s3"], bucket)
    for name in ("13/0_0", "13/59_39", "12/31_17", "11/59_39"):
        assert reader.read(ref, name).data == tiles[name]

    old = PageRef("ws-c", "doc-old", f"job-{time.time_ns()}", 3)
    prefix = f"workspaces/ws-c/documents/doc-old/{old.job_id}/p00003"
    index = {"v": 1, "width": 300, "height": 200, "tile_size": 256, "max_level": 9, "format": "jpeg",
             "entries": {"9/0_0": ["p", 0, 5, "etag-a"], "9/1_0": ["p", 5, 6, "etag-b"]}}
    clients["s3"].put_object(Bucket=bucket, Key=f"{prefix}.pack", Body=b"firstsecond")
    clients["s3"].put_object(Bucket=bucket, Key=f"{prefix}.index.json", Body=json.dumps(index).encode())
    assert reader.read(old, "9/1_0").data == b"second"
    assert reader.read(old, "9/0_0").etag == "etag-a"
    assert reader.read(old, "8/0_0") is None


def test_sources_download_once_per_version_and_tasks_are_sent_in_batches(stack, clients, tmp_path):
    s3, bucket = clients["s3"], stack.outputs["DocumentsBucketName"]
    key = f"workspaces/ws-c/documents/doc-{time.time_ns():016x}"[-60:] + "/source"
    version = s3.put_object(Bucket=bucket, Key=key, Body=b"%PDF-1.7 one")["VersionId"]
    s3.put_object(Bucket=bucket, Key=key, Body=b"%PDF-1.7 two")
    sources = S3SourceStore(s3, bucket, cache_dir=str(tmp_path))
    path = sources.download(key, version)
    with open(path, "rb") as downloaded:
        assert downloaded.read() == b"%PDF-1.7 one"  # the version asked for, not the latest
    assert sources.download(key, version) == path

    queue = SqsTaskQueue(clients["sqs"], stack.outputs["TilesDeadLetterQueueName"])
    bodies = [json.dumps({"n": i}) for i in range(23)]
    queue.send(bodies)
    url = clients["sqs"].get_queue_url(QueueName=stack.outputs["TilesDeadLetterQueueName"])["QueueUrl"]
    seen: list[str] = []
    while len(seen) < 23:
        messages = clients["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        assert messages, f"only {len(seen)} of 23 tasks arrived"
        for m in messages:
            seen.append(m["Body"])
            clients["sqs"].delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert sorted(seen) == sorted(bodies)


def test_progress_is_coalesced_across_workers(documents):
    _, job = _document(documents, pages=3)
    assert documents.note_progress(job, 1) is True
    assert documents.note_progress(job, 2) is False  # another worker, within the same second
    time.sleep(0.15)
    assert documents.note_progress(job, 2, every_ms=100) is True
    assert documents.note_progress(job, 1, every_ms=0) is False  # never backwards


def test_an_upload_deadline_expires_the_document_by_ttl_until_its_upload_arrives(documents, stack, clients):
    table, suffix = stack.outputs["MainTableName"], f"{time.time_ns():016x}"[-16:]
    document = Document("ws-c", f"doc-{suffix}", "acc-c", "plan.pdf", "application/pdf",
                        DocumentStatus.AWAITING_UPLOAD, int(time.time()), "u1", 10, upload_deadline=1_000)

    def item() -> dict:
        key = to_item(doc_key("ws-c", document.document_id))
        return clients["dynamodb"].get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]

    documents.create(document)
    assert item()["expires_at"] == {"N": str(1_000 + ABANDONED_KEPT_SECONDS)}  # the table's TTL attribute
    assert documents.get("ws-c", document.document_id).abandoned(now=1_001)
    assert documents.extend_upload("ws-c", document.document_id, 5_000) is True
    assert documents.extend_upload("ws-c", document.document_id, 4_000) is False  # never earlier
    assert item()["expires_at"] == {"N": str(5_000 + ABANDONED_KEPT_SECONDS)}
    assert documents.get("ws-c", document.document_id).upload_deadline == 5_000
    documents.update("ws-c", document.document_id, {"name": "renamed.pdf"})  # not a status: nothing cleared
    assert documents.get("ws-c", document.document_id).upload_deadline == 5_000
    documents.update("ws-c", document.document_id, {"status": DocumentStatus.ANALYSING.value})  # it arrived
    stored = item()
    assert "expires_at" not in stored and "upload_deadline" not in stored
    assert documents.extend_upload("ws-c", document.document_id, 9_000) is False  # only while awaiting
    assert "expires_at" not in item()
    assert documents.extend_upload("ws-c", "doc-0000000000000000", 9_000) is False  # no such document
    assert documents.abandon_upload("ws-c", document.document_id) is False  # it has its upload


def test_a_document_whose_uploads_were_given_up_is_abandoned_at_once_and_a_new_grant_brings_it_back(documents):
    later = int(time.time()) + 3600
    document = Document("ws-c", f"doc-{time.time_ns():016x}"[-20:], "acc-c", "plan.pdf", "application/pdf",
                        DocumentStatus.AWAITING_UPLOAD, int(time.time()), "u1", 10, upload_deadline=later)
    documents.create(document)
    assert documents.abandon_upload("ws-c", document.document_id) is True
    assert documents.get("ws-c", document.document_id).abandoned(now=time.time())
    assert documents.extend_upload("ws-c", document.document_id, later) is True
    assert not documents.get("ws-c", document.document_id).abandoned(now=time.time())


def test_an_accepted_upload_clears_the_deadline_before_the_document_is_analysed(documents, stack, clients):
    suffix = f"{time.time_ns():016x}"[-16:]
    document = Document("ws-c", f"doc-{suffix}", "acc-c", "plan.pdf", "application/pdf",
                        DocumentStatus.AWAITING_UPLOAD, int(time.time()) - 7200, "u1", 10,
                        upload_deadline=int(time.time()) - 60)
    documents.create(document)
    assert documents.get("ws-c", document.document_id).abandoned(now=time.time())
    documents.upload_arrived("ws-c", document.document_id)  # late: past its deadline, yet accepted
    stored = documents.get("ws-c", document.document_id)
    assert stored.upload_deadline is None and not stored.abandoned(now=time.time())
    item = clients["dynamodb"].get_item(TableName=stack.outputs["MainTableName"],
                                        Key=to_item(doc_key("ws-c", document.document_id)))["Item"]
    assert "expires_at" not in item
    documents.upload_arrived("ws-c", document.document_id)  # a redelivery: nothing to do, no error
    documents.upload_arrived("ws-c", "doc-0000000000000000")  # none such: not created
    assert documents.get("ws-c", "doc-0000000000000000") is None


def test_a_tile_cut_short_or_an_index_of_another_version_is_an_error_not_a_tile(stack, clients):
    """S3 answers a range past an object's end with the bytes there are: a truncated object must not be served
    as a short tile (with an immutable ETag); an index the reader does not know is refused, not guessed at."""
    bucket = stack.outputs["TilesBucketName"]
    reader = S3TileStore(clients["s3"], bucket)

    def page(document_id: str, index: dict, tiles: bytes) -> PageRef:
        ref = PageRef("ws-c", document_id, f"job-{time.time_ns()}", 0)
        body = json.dumps(index).encode()
        key = f"workspaces/ws-c/documents/{document_id}/{ref.job_id}/p00000.tiles"
        clients["s3"].put_object(Bucket=bucket, Key=key, Body=b"KXT2" + len(body).to_bytes(4, "big") + body + tiles)
        return ref

    entries = {"9/0_0": ["p", 0, 100, "etag-of-100-bytes"]}
    short = page("doc-short", {"v": 1, "format": "jpeg", "entries": entries}, b"only8byt")
    with pytest.raises(ValueError, match="100 bytes in the index, 8 in the object"):
        reader.read(short, "9/0_0")
    future = page("doc-future", {"v": 2, "format": "jpeg", "entries": entries}, b"x" * 100)
    with pytest.raises(ValueError, match="not a tile index of version 1"):
        reader.read(future, "9/0_0")
