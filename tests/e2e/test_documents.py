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
from tests.e2e.api_client import Api
from tests.e2e.documents_samples import SAMPLES, letter_pdf, pdf_damaged_at_page, pdf_missing_resource

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


def test_a_page_the_file_damages_is_shown_as_far_as_it_reads_and_its_manifest_entry_says_so(stack):
    bob = Api(stack, stack.token("bob"))
    grant = upload(bob, "sections.pdf", pdf_damaged_at_page(3, 1, "Sections"))
    document = settle(bob, grant["document_id"])
    assert (document["status"], document["page_count"], document.get("reason")) == ("ready", 3, None), document
    assert [p["page"] for p in document["pages"]] == [0, 1, 2]  # the damaged page is tiled (blank), not refused
    assert [p["damage"] for p in document["pages"]] == [None, "zlib error: incorrect header check", None]
    # A missing resource named with a stray byte: MuPDF's message is no text until cleaned, and the record storing
    # it once failed the whole document.
    named = settle(bob, upload(bob, "plané.pdf", pdf_missing_resource(b"Plan#E9", "Plans"))["document_id"])
    assert (named["status"], [p["damage"] for p in named["pages"]]) == (
        "ready", [None, "cannot find XObject resource 'Plan?'"]), named


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
