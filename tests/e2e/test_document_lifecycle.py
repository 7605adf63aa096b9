"""A document's life after its first upload, through the whole local stack: a large upload in parts that resumes
after a drop, an analysis that keeps failing (its document failed, its message in the DLQ), a new version's
tiles replacing the old job's, a grant never used, and a document removed while it is tiled."""

from __future__ import annotations

import io
import json
import math
import time
from typing import Any

import pytest
import requests

from tests.e2e.api_client import Api, assert_error, wait_until
from tests.e2e.documents_samples import letter_pdf
from tests.e2e.test_documents import WS, _failed_event, settle, upload

pytestmark = pytest.mark.e2e


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
    completed = bob.ok("POST", upload_path + "/complete", token)
    assert completed == {"document_id": grant["document_id"], "size": len(body), "status": "uploaded",
                         "version_id": completed["version_id"]}
    assert completed["version_id"] == stack.client("s3").head_object(
        Bucket=stack.env["KALEXO_DOCUMENTS_BUCKET"], Key=f"workspaces/{WS}/documents/{grant['document_id']}/source"
    )["VersionId"]
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
    first_page = first["pages"][0]
    assert first_page["width"] * first_page["height"] > 8_000_000  # a letter page at 300 dpi: 2550 x 3300
    options = {"tile_size": 512, "max_pixels": 2_000_000}  # the reprocess's options reach the tiling function
    alice.ok("POST", f"/workspaces/{WS}/documents/{document_id}/reprocess", {"options": options}, status=202)
    second = wait_until(lambda: (d := alice.ok("GET", f"/workspaces/{WS}/documents/{document_id}"))["status"] ==
                       "ready" and d["job_id"] != first["job_id"] and d, "the reprocessed job ready", 90)
    wait_until(lambda: {k.split("/")[4] for k in _tile_keys(stack, document_id)} == {second["job_id"]},
              "only the new job's tiles")
    assert requests.get(second["pages"][0]["dzi"], timeout=10).status_code == 200  # the new tiles are served
    page = second["pages"][0]
    assert (page["tile_size"], page["width"] / page["height"]) == (512, pytest.approx(2550 / 3300, rel=0.01))
    assert page["width"] * page["height"] <= 2_000_000
    finest = math.ceil(math.log2(max(page["width"], page["height"])))
    tile = page["dzi"].replace(".dzi", f"_files/{finest}/0_0.jpeg")  # the finest level's first tile, in the pack
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


def test_a_workspaces_tiling_settings_are_checked_when_set_and_used_for_its_uploads(stack):
    """`settings.tiling` holds the tile options every upload to the workspace is tiled with: refused when they
    are wrong (the upload would have fallen back to the defaults without a word), honoured when right."""
    alice = Api(stack, stack.token("alice"))
    for wrong in ({"max_pixels": 999_999}, {"max_pixels": 7e7}, {"dpi": "300"}, {"pixels": 1}, "fine", [1], None):
        refused = alice.call("POST", "/admin/accounts/acc-demo/workspaces",
                             {"name": "Wrong tiling", "settings": {"tiling": wrong}})
        assert assert_error(refused, 400) == "bad_settings", wrong
        assert "settings.tiling" in refused.json()["error"]["message"]
    ws = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {
        "name": "Small tiles", "owner_id": "alice", "settings": {"grid": 5, "tiling": {"max_pixels": 2_000_000}}},
        status=201)["workspace_id"]
    changed = alice.call("PATCH", f"/admin/workspaces/{ws}", {"settings": {"tiling": {"max_pixels": 0}}})
    assert assert_error(changed, 400) == "bad_settings"
    assert alice.ok("GET", f"/workspaces/{ws}")["settings"]["tiling"] == {"max_pixels": 2_000_000}
    def tiled(name: str) -> dict[str, Any]:
        body = letter_pdf(1, text=name)
        grant = alice.ok("POST", f"/workspaces/{ws}/uploads", {"filename": f"{name}.pdf", "size": len(body),
                                                                "content_type": "application/pdf"}, status=201)
        assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
        path = f"/workspaces/{ws}/documents/{grant['document_id']}"
        document = wait_until(lambda: (d := alice.ok("GET", path))["status"] in ("ready", "failed") and d,
                              f"{name} tiled", 90)
        assert document["status"] == "ready", document
        page: dict[str, Any] = document["pages"][0]
        assert page["width"] / page["height"] == pytest.approx(612 / 792, rel=0.01)
        return page

    small = tiled("small")
    assert 1_900_000 < small["width"] * small["height"] <= 2_000_000
    # A change applies to the very next upload, though the functions cache the workspace for a while.
    alice.ok("PATCH", f"/admin/workspaces/{ws}", {"settings": {"grid": 5, "tiling": {"max_pixels": 3_000_000}}})
    larger = tiled("larger")
    assert 2_900_000 < larger["width"] * larger["height"] <= 3_000_000
