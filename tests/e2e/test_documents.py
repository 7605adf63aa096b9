"""Documents through the whole local stack: presigned upload -> S3 notification -> analysis -> page tasks on
the tiles queue -> tiling workers -> packed tiles -> manifest and tiles over REST; progress on a websocket;
hostile inputs; redelivery; poisoned tasks."""

from __future__ import annotations

import asyncio
import io
import json
import time
import xml.etree.ElementTree as ET
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests
from kalexo_client import Disconnected, Event, Progress, WorkspaceClient

from chalicelib.domain.tile_plan import TilePlan
from tests.e2e.api_client import Api, wait_until
from tests.e2e.documents_samples import SAMPLES, letter_pdf

GRANT_S = 6 * 3600  # KALEXO_TILE_GRANT_SECONDS' default, which the local stack keeps

pytestmark = pytest.mark.e2e
WS = "ws-demo"


def upload(api: Api, name: str, body: bytes, content_type: str = "application/pdf") -> dict[str, Any]:
    grant = api.ok("POST", f"/workspaces/{WS}/uploads", {"filename": name, "size": len(body),
                                                          "content_type": content_type}, status=201)
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
    return grant


def settle(api: Api, document_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline, pause = time.time() + timeout, 0.2
    while time.time() < deadline:
        document = api.ok("GET", f"/workspaces/{WS}/documents/{document_id}")
        if document["status"] in ("ready", "failed"):
            return document
        time.sleep(pause)
        pause = min(1.0, pause * 1.5)  # within the e2e stack's small per-user request budget
    pytest.fail(f"document {document_id} still {document['status']} after {timeout} s")


def test_a_pdf_becomes_a_valid_pyramid_that_members_and_only_members_can_read(stack):
    from PIL import Image

    bob, vera, olga = (Api(stack, stack.token(u)) for u in ("bob", "vera", "olga"))
    grant = upload(bob, "site plan.pdf", letter_pdf(pages=3, text="Ground floor plan"))
    document = settle(bob, grant["document_id"])
    assert document["status"] == "ready", document
    assert (document["kind"], document["page_count"], document["pages_done"]) == ("pdf", 3, 3)
    assert document["name"] == "site plan.pdf"
    assert [p["page"] for p in document["pages"]] == [0, 1, 2]

    page = document["pages"][0]
    assert (page["width"], page["height"]) == (2550, 3300)  # letter at 300 dpi
    descriptor = requests.get(page["dzi"], timeout=10)
    assert descriptor.status_code == 200
    size = ET.fromstring(descriptor.text)[0].attrib
    plan = TilePlan(int(size["Width"]), int(size["Height"]))
    files = page["dzi"].removesuffix(".dzi") + "_files"
    for level in (plan.max_level, plan.max_level - 3, 0):  # every tile of three levels decodes at its size
        lv = plan.level(level)
        for col in range(lv.cols):
            for row in range(lv.rows):
                tile = requests.get(f"{files}/{level}/{col}_{row}.jpeg", timeout=10)
                assert tile.status_code == 200 and tile.headers["Content-Type"] == "image/jpeg"
                left, top, right, bottom = plan.tile_box(level, col, row)
                assert Image.open(io.BytesIO(tile.content)).size == (right - left, bottom - top)
    first = requests.get(f"{files}/{plan.max_level}/0_0.jpeg", timeout=10)
    assert "immutable" in first.headers["Cache-Control"] and "max-age" not in first.headers["Cache-Control"]
    # Fresh until the grant expires and no longer (a cache must not answer an expired grant): the grant's hour.
    fresh_until = parsedate_to_datetime(first.headers["Expires"]).timestamp()
    assert time.time() < fresh_until <= time.time() + GRANT_S + 3600 and fresh_until % 3600 == 0
    again = requests.get(f"{files}/{plan.max_level}/0_0.jpeg", headers={"If-None-Match": first.headers["ETag"]},
                         timeout=10)
    assert again.status_code == 304 and again.content == b""
    head = requests.head(f"{files}/{plan.max_level}/0_0.jpeg", timeout=10)  # HEAD wherever GET: the same headers
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == first.headers["ETag"]
    assert head.headers["Content-Type"] == "image/jpeg" and head.headers["Cache-Control"] == first.headers[
        "Cache-Control"] and head.headers["Access-Control-Allow-Origin"] == first.headers["Access-Control-Allow-Origin"]
    assert requests.head(page["dzi"], timeout=10).status_code == 200

    info = requests.get(page["iiif"], timeout=10).json()
    assert info["profile"] == "level0" and (info["width"], info["height"]) == (2550, 3300)
    iiif_tile = requests.get(f"{info['id']}/0,0,512,512/256,256/0/default.jpg", timeout=10)
    assert iiif_tile.content == requests.get(f"{files}/{plan.max_level - 1}/0_0.jpeg", timeout=10).content
    assert requests.get(f"{info['id']}/1,0,512,512/256,256/0/default.jpg", timeout=10).status_code == 400
    assert Image.open(io.BytesIO(requests.get(page["thumbnail"], timeout=10).content)).format == "JPEG"

    text = vera.ok("GET", f"/workspaces/{WS}/documents/{grant['document_id']}/pages/1/text")
    assert "Ground floor plan" in text["text"]
    count = vera.ok("GET", f"/workspaces/{WS}/documents/{grant['document_id']}")["page_count"]
    beyond = vera.call("GET", f"/workspaces/{WS}/documents/{grant['document_id']}/pages/{count}/text")
    assert beyond.status_code == 404 and beyond.json()["error"]["code"] == "no_such_page"  # pages count from 0
    for spelling in ("01", "001"):  # one spelling, as tiles have (an outside client found `01` answered)
        other = vera.call("GET", f"/workspaces/{WS}/documents/{grant['document_id']}/pages/{spelling}/text")
        assert other.status_code == 400 and other.json()["error"]["code"] == "bad_page", other.text
    # A page the document does not have is said so on the tile routes too (not "not ready": it never will be).
    absent = requests.get(page["dzi"].replace("/0/page.dzi", f"/{count + 5}/page.dzi"), timeout=10)
    assert absent.status_code == 404 and absent.json()["error"]["code"] == "no_such_page", absent.text
    assert vera.ok("GET", f"/workspaces/{WS}/documents")["items"][0]["document_id"] == grant["document_id"]
    # Another tenant learns nothing; a forged or altered grant opens nothing.
    assert olga.call("GET", f"/workspaces/{WS}/documents/{grant['document_id']}").status_code == 404
    assert olga.call("GET", f"/workspaces/{WS}/documents").status_code == 404
    grant_part = page["dzi"].split("/tiles/")[1].split("/")[0]
    forged = page["dzi"].replace(grant_part, grant_part[:-3] + ("AAA" if grant_part[-3:] != "AAA" else "BBB"))
    assert requests.get(forged, timeout=10).status_code == 404
    # A viewer reads but does not reprocess.
    assert vera.call("POST", f"/workspaces/{WS}/documents/{grant['document_id']}/reprocess", {}).status_code == 403


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_hostile_and_odd_inputs_end_in_a_clear_state(stack, sample):
    bob = Api(stack, stack.token("bob"))
    body, declared, expected_status, expected_code = SAMPLES[sample]()
    grant = upload(bob, f"{sample}.bin", body, declared)
    document = settle(bob, grant["document_id"])
    if expected_status == "either":  # MuPDF repairs some damage: then it is processed, else refused clearly
        expected_status = document["status"]
        expected_code = document.get("reason_code")
    assert document["status"] == expected_status, document
    if expected_status == "failed":
        assert document["reason_code"] == expected_code and len(document["reason"]) > 10, document
    alice, deadline = Api(stack, stack.token("alice")), time.time() + 30
    while True:  # recorded just after the document's status, not before the status is readable
        events = alice.ok("GET", "/admin/events", workspace_id=WS, type=f"document.{expected_status}")["items"]
        if any(e["detail"].get("document_id") == grant["document_id"] for e in events) or time.time() > deadline:
            break
        time.sleep(0.5)
    assert any(e["detail"].get("document_id") == grant["document_id"] for e in events)


def test_empty_files_are_refused_before_upload(stack):
    bob = Api(stack, stack.token("bob"))
    refused = bob.call("POST", f"/workspaces/{WS}/uploads", {"filename": "empty.pdf", "size": 0,
                                                             "content_type": "application/pdf"})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "bad_body"


def test_progress_streams_to_members_and_ready_is_announced_once(stack):
    """Progress is a live push, not in the log: a member's client must hold one connection from the upload to
    `ready` to see every push. The test stack ends connections after 8 s, so an attempt whose connection ended
    (the client says Disconnected; it reconnects by itself) starts again with a new upload."""
    bob = Api(stack, stack.token("bob"))

    async def attempt() -> tuple[str, list[Progress]] | None:
        events: list[Event] = []
        async with WorkspaceClient(stack.ws, stack.token("alice"), WS, on_event=events.append) as alice:
            document_id = (await asyncio.to_thread(upload, bob, "progress.pdf", letter_pdf(pages=4)))["document_id"]

            def pushed() -> list[Progress]:
                return [e for e in events if isinstance(e, Progress) and e.document_id == document_id]

            await alice.wait_for(lambda: any(isinstance(e, Disconnected) for e in events)
                                 or any(p.status == "ready" for p in pushed()), 90)
            if any(isinstance(e, Disconnected) for e in events):
                return None
            return document_id, pushed()

    for _attempt in range(3):
        seen = asyncio.run(attempt())
        if seen is None:
            continue
        document_id, progress = seen
        statuses = [p.status for p in progress]
        assert statuses.count("ready") == 1 and statuses[-1] == "ready" and "tiling" in statuses
        assert progress[-1].final is True
        # The page's shape is known from analysis, before any page is tiled (letter: 612 x 792 points).
        tiling = next(p.detail for p in progress if p.status == "tiling")
        assert (tiling["page_width"], tiling["page_height"]) == (612, 792)
        document = bob.ok("GET", f"/workspaces/{WS}/documents/{document_id}")
        assert (document["page_width"], document["page_height"]) == (612, 792)
        return
    pytest.fail("the connection ended before the document was ready, three times")


def test_redelivered_tasks_change_nothing_and_a_poisoned_task_fails_its_document(stack):
    alice, bob = Api(stack, stack.token("alice")), Api(stack, stack.token("bob"))
    grant = upload(bob, "twice.pdf", letter_pdf(pages=2))
    document = settle(bob, grant["document_id"])
    assert document["status"] == "ready"
    usage_before = alice.ok("GET", "/admin/accounts/acc-demo/usage")["usage"].get("pages_processed")

    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.env["KALEXO_TILES_QUEUE"])["QueueUrl"]
    task = {"v": 1, "workspace_id": WS, "document_id": grant["document_id"], "job_id": document["job_id"],
            "page": 1, "version_id": document["version_id"], "kind": "pdf", "options": document["options"], "run": 0}
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(task))
    time.sleep(4)
    after = bob.ok("GET", f"/workspaces/{WS}/documents/{grant['document_id']}")
    assert after["status"] == "ready" and after["pages"] == document["pages"]
    assert alice.ok("GET", "/admin/accounts/acc-demo/usage")["usage"].get("pages_processed") == usage_before
    ready = alice.ok("GET", "/admin/events", workspace_id=WS, type="document.ready")["items"]
    assert sum(e["detail"]["document_id"] == grant["document_id"] for e in ready) == 1

    # A poisoned start task (a version that does not exist) fails on every attempt and reaches the dead-letter
    # queue. For a document that is ready, its rendition is kept and the event log says what failed.
    poisoned = {**task, "page": -1, "job_id": "job-poisoned", "version_id": "no-such-version", "run": 1}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(poisoned))
    assert _failed_event(alice, grant["document_id"])["detail"]["previous_kept"] is True
    kept = bob.ok("GET", f"/workspaces/{WS}/documents/{grant['document_id']}")
    assert kept["status"] == "ready" and kept["pages"] == document["pages"]
    assert alice.call("POST", f"/workspaces/{WS}/documents/{grant['document_id']}/retry").json()["error"][
        "code"] == "not_failed"

    # For a document with nothing to show, the document fails with a reason.
    fresh = bob.ok("POST", f"/workspaces/{WS}/uploads", {"filename": "never.pdf", "size": 100,
                                                          "content_type": "application/pdf"}, status=201)
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({**poisoned, "document_id": fresh["document_id"]}))
    _failed_event(alice, fresh["document_id"])
    failed = bob.ok("GET", f"/workspaces/{WS}/documents/{fresh['document_id']}")
    assert failed["status"] == "failed" and failed["reason_code"] == "processing_failed"
    assert "retries" in failed["reason"]
    assert failed["version_id"] == poisoned["version_id"]  # named: what an owner's retry would start again
    # A new version of it recovers it.
    body = letter_pdf(pages=1)
    again = bob.ok("POST", f"/workspaces/{WS}/uploads", {"filename": "never.pdf", "size": len(body),
                                                          "content_type": "application/pdf",
                                                          "document_id": fresh["document_id"]}, status=201)
    assert requests.put(again["url"], data=body, headers=again["headers"], timeout=30).status_code == 200
    deadline = time.time() + 60
    while (recovered := bob.ok("GET", f"/workspaces/{WS}/documents/{fresh['document_id']}"))["status"] != "ready":
        # Until the new version is in: the failure before it names the poisoned task's version (so an owner can
        # retry it), never the new one.
        assert time.time() < deadline and not (recovered["status"] == "failed" and recovered.get("version_id")
                                               not in (None, poisoned["version_id"])), recovered
        time.sleep(0.3)


def _failed_event(api: Api, document_id: str) -> dict[str, Any]:
    deadline = time.time() + 60
    while time.time() < deadline:
        for event in api.ok("GET", "/admin/events", workspace_id=WS, type="document.failed")["items"]:
            if event["detail"].get("document_id") == document_id:
                return dict(event)
        time.sleep(0.5)
    pytest.fail(f"no document.failed event for {document_id}")


def test_a_large_upload_goes_up_in_parts_and_resumes_after_a_drop(stack):
    """The test stack sends uploads over 8 MiB in parts of 16 MiB: a 17 MB image is two parts."""
    import os

    from PIL import Image

    out = io.BytesIO()
    Image.frombytes("RGB", (2400, 2400), os.urandom(2400 * 2400 * 3)).save(out, "PNG", compress_level=1)
    body = out.getvalue()
    bob, olga = Api(stack, stack.token("bob")), Api(stack, stack.token("olga"))
    grant = bob.ok("POST", f"/workspaces/{WS}/uploads", {"filename": "survey.png", "size": len(body),
                                                          "content_type": "image/png"}, status=201)
    assert grant["method"] == "multipart" and "url" not in grant
    multipart = grant["multipart"]
    assert multipart["part_count"] == 2 and len(multipart["parts"]) == 2
    part_size, token = multipart["part_size"], {"upload_token": multipart["upload_token"]}
    upload_path = f"/workspaces/{WS}/documents/{grant['document_id']}/upload"

    first = requests.put(multipart["parts"][0]["url"], data=body[:part_size], timeout=60)
    assert first.status_code == 200
    # The connection drops here, for long: past the document's upload deadline (moved into the past in the table,
    # as time would). The client asks what arrived and gets a fresh URL for the rest, and the document waits again.
    document_path = f"/workspaces/{WS}/documents/{grant['document_id']}"
    assert bob.ok("GET", document_path)["upload_deadline"] > time.time() + 24 * 3600
    stack.client("dynamodb").update_item(
        TableName=stack.env["KALEXO_MAIN_TABLE"],
        Key={"pk": {"S": f"WORKSPACE#{WS}"}, "sk": {"S": f"DOC#{grant['document_id']}"}},
        UpdateExpression="SET upload_deadline = :d", ExpressionAttributeValues={":d": {"N": "1000"}})
    assert bob.call("GET", document_path).status_code == 404
    assert bob.call("POST", upload_path + "/complete", token).json()["error"]["code"] == "parts_missing"
    status = bob.ok("POST", upload_path + "/status", token)
    assert bob.ok("GET", document_path)["upload_deadline"] > time.time() + 24 * 3600
    assert status["uploaded"] == [1] and [p["part_number"] for p in status["missing"]] == [2]
    assert requests.put(status["missing"][0]["url"], data=body[part_size:], timeout=60).status_code == 200
    # Another tenant cannot finish it, and a token for another document is refused.
    assert olga.call("POST", upload_path + "/complete", token).status_code == 404
    other = f"/workspaces/{WS}/documents/doc-0000000000000000/upload/complete"
    assert bob.call("POST", other, token).json()["error"]["code"] == "bad_upload_token"
    assert bob.ok("POST", upload_path + "/complete", token) == {
        "document_id": grant["document_id"], "size": len(body), "status": "uploaded"}
    document = settle(bob, grant["document_id"])
    assert document["status"] == "ready" and document["kind"] == "png"
    assert (document["pages"][0]["width"], document["pages"][0]["height"]) == (2400, 2400)


def test_an_upload_whose_analysis_keeps_failing_fails_its_document_and_stays_in_the_dlq(stack):
    """A notification for a version S3 no longer has: every delivery fails; the last one fails the document
    (it must not stay `analysing`), and the notification stays in the uploads dead-letter queue."""
    alice, bob = Api(stack, stack.token("alice")), Api(stack, stack.token("bob"))
    grant = bob.ok("POST", f"/workspaces/{WS}/uploads", {"filename": "vanished.pdf", "size": 100,
                                                          "content_type": "application/pdf"}, status=201)
    notification = {"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": stack.env["KALEXO_DOCUMENTS_BUCKET"]},
        "object": {"key": grant["key"], "size": 100, "eTag": "x", "versionId": "gone-version", "sequencer": "1"}}}]}
    sqs = stack.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=stack.env["KALEXO_UPLOADS_QUEUE"])["QueueUrl"],
                     MessageBody=json.dumps(notification))
    event = _failed_event(alice, grant["document_id"])
    assert event["detail"]["code"] == "processing_failed" and event["detail"]["previous_kept"] is False
    document = bob.ok("GET", f"/workspaces/{WS}/documents/{grant['document_id']}")
    assert document["status"] == "failed" and "even after retries" in document["reason"]
    dlq = sqs.get_queue_url(QueueName=stack.env["KALEXO_UPLOADS_DLQ"])["QueueUrl"]
    deadline, found = time.time() + 20, False
    while time.time() < deadline and not found:
        for message in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []):
            if grant["key"] in message["Body"]:
                found = True
                sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"],
                                              VisibilityTimeout=0)
    assert found, "the notification is kept in the dead-letter queue"


def _tile_keys(stack: Any, document_id: str) -> list[str]:
    s3 = stack.client("s3")
    bucket = stack.env["KALEXO_TILES_BUCKET"]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                         Prefix=f"workspaces/{WS}/documents/{document_id}/")
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def test_superseded_tiles_go_when_the_new_job_is_ready_and_a_removed_documents_objects_go(stack):
    """Reprocessing leaves the new job's tiles only, once it is ready; removing the document deletes its tiles
    and leaves its source restorable (a delete marker over its versions) until the lifecycle's expiry."""
    alice = Api(stack, stack.token("alice"))
    grant = upload(alice, "superseded.pdf", letter_pdf(2, text="superseded"))
    document_id = grant["document_id"]
    first = settle(alice, document_id)
    assert first["status"] == "ready"
    assert {k.split("/")[4] for k in _tile_keys(stack, document_id)} == {first["job_id"]}
    alice.ok("POST", f"/workspaces/{WS}/documents/{document_id}/reprocess", {"options": {"tile_size": 512}},
             status=202)
    second = wait_until(lambda: (d := alice.ok("GET", f"/workspaces/{WS}/documents/{document_id}"))["status"] ==
                       "ready" and d["job_id"] != first["job_id"] and d, "the reprocessed job ready", 90)
    wait_until(lambda: {k.split("/")[4] for k in _tile_keys(stack, document_id)} == {second["job_id"]},
              "only the new job's tiles")
    assert requests.get(second["pages"][0]["dzi"], timeout=10).status_code == 200  # the new tiles are served
    dzi = second["pages"][0]["dzi"]
    tile = dzi.replace(".dzi", "_files/12/0_0.jpeg")  # the finest level's first tile: drawn on, in the pack
    assert requests.get(tile, timeout=10).status_code == 200

    assert alice.call("DELETE", f"/workspaces/{WS}/documents/{document_id}").status_code == 204
    wait_until(lambda: not _tile_keys(stack, document_id), "the removed document's tiles deleted")
    # Its tiles are gone for the API too, even in the instance that served them a moment ago: 404, not 500.
    assert requests.get(tile, timeout=10).status_code == 404
    versions = stack.client("s3").list_object_versions(Bucket=stack.env["KALEXO_DOCUMENTS_BUCKET"],
                                                       Prefix=f"workspaces/{WS}/documents/{document_id}/")
    assert [m["IsLatest"] for m in versions.get("DeleteMarkers", [])] == [True]
    assert versions["Versions"], "the uploaded version stays, noncurrent, for the backup window"
    assert not any(v["IsLatest"] for v in versions["Versions"])


def test_an_upload_granted_and_never_sent_is_listed_until_its_deadline_then_gone(stack):
    bob = Api(stack, stack.token("bob"))
    before = int(time.time())
    grant = bob.ok("POST", f"/workspaces/{WS}/uploads", {"filename": "never sent.pdf", "size": 1000,
                                                          "content_type": "application/pdf"}, status=201)
    path = f"/workspaces/{WS}/documents/{grant['document_id']}"
    waiting = bob.ok("GET", path)
    assert waiting["status"] == "awaiting_upload"
    assert waiting["upload_deadline"] >= before + grant["expires_in"]  # the grant's URL, and some late time
    listed = {d["document_id"]: d for d in bob.ok("GET", f"/workspaces/{WS}/documents", limit=100)["items"]}
    assert listed[grant["document_id"]]["upload_deadline"] == waiting["upload_deadline"]

    # Its deadline passes (moved into the past in the table, as time would).
    stack.client("dynamodb").update_item(
        TableName=stack.env["KALEXO_MAIN_TABLE"],
        Key={"pk": {"S": f"WORKSPACE#{WS}"}, "sk": {"S": f"DOC#{grant['document_id']}"}},
        UpdateExpression="SET upload_deadline = :d", ExpressionAttributeValues={":d": {"N": str(before - 1)}})
    gone = bob.call("GET", path)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    listed = bob.ok("GET", f"/workspaces/{WS}/documents", limit=100)["items"]
    assert grant["document_id"] not in {d["document_id"] for d in listed}


def test_a_document_removed_while_it_is_tiled_stops_being_tiled_and_leaves_no_tiles(stack):
    alice = Api(stack, stack.token("alice"))
    grant = upload(alice, "long.pdf", letter_pdf(40, text="removed midway"))
    document_id = grant["document_id"]
    path = f"/workspaces/{WS}/documents/{document_id}"
    wait_until(lambda: (d := alice.ok("GET", path))["status"] == "tiling" and len(d["pages"]) >= 1 and d,
               "a first page tiled", 90)
    assert alice.call("DELETE", path).status_code == 204
    jobs = [j for j in alice.ok("GET", f"/workspaces/{WS}/jobs", limit="100")["items"]
            if j["document_id"] == document_id]
    assert len(jobs) == 1 and jobs[0]["state"] == "superseded", jobs
    assert jobs[0]["reason"] == "the document was removed", jobs  # at once: not at its last page's end
    wait_until(lambda: not _tile_keys(stack, document_id), "the removed document's tiles deleted", 90)
    # Pages in flight when it was removed may write after the sweep: each removes what it wrote. Once the tiles
    # queue holds nothing (visible, in flight or delayed), no page of it is being written any more.
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.env["KALEXO_TILES_QUEUE"])["QueueUrl"]
    wait_until(lambda: set(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed"])["Attributes"].values()) == {"0"}, "the tiles queue drained", 120)
    assert not _tile_keys(stack, document_id)
    final = next(j for j in alice.ok("GET", f"/workspaces/{WS}/jobs", limit="100")["items"]
                 if j["document_id"] == document_id)
    assert final["pages_done"] < final["page_count"] == 40, final  # the queued pages were skipped
