"""S3 -> SQS -> the app's SQS handler, retries and the dead-letter queue, through the real local stack."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

pytestmark = pytest.mark.e2e


def wait_for(predicate, timeout: float, interval: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


def test_presigned_upload_reaches_the_sqs_handler_through_the_notification(stack):
    from tests.e2e.api_client import Api

    alice = Api(stack, stack.token("alice"))
    stored_before = alice.ok("GET", "/admin/accounts/acc-demo/usage")["stored"]["bytes_stored"]
    s3 = stack.client("s3")
    bucket = stack.env["KALEXO_DOCUMENTS_BUCKET"]
    key = f"workspaces/ws-demo/uploads/{uuid.uuid4().hex}/site plan (rev B).pdf"
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key,
                                                          "ContentType": "application/pdf"}, ExpiresIn=300)
    body = b"%PDF-1.7\n" + b"0" * 2048
    assert requests.put(url, data=body, headers={"Content-Type": "application/pdf"}, timeout=10).status_code == 200
    ddb = stack.client("dynamodb")

    def recorded():
        rows = ddb.query(TableName=stack.env["KALEXO_MAIN_TABLE"], KeyConditionExpression="pk = :pk",
                         ExpressionAttributeValues={":pk": {"S": f"OBJECT#{bucket}/{key}"}})["Items"]
        return rows

    rows = wait_for(recorded, timeout=20)
    assert len(rows) == 1, stack.log()
    assert rows[0]["key"]["S"] == key  # decoded from the notification's URL-encoded key
    assert int(rows[0]["size"]["N"]) == len(body)
    # The object itself was stored with its body (moto keeps an empty body for a form content type).
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    # Metered for the workspace's account, and in its event log.
    assert alice.ok("GET", "/admin/accounts/acc-demo/usage")["stored"]["bytes_stored"] == stored_before + len(body)
    uploads = alice.ok("GET", "/admin/events", type="upload.received", workspace_id="ws-demo")["items"]
    assert any(e["detail"]["key"] == key for e in uploads)


def test_a_failing_handler_is_retried_then_the_message_lands_in_the_dlq(stack):
    sqs = stack.client("sqs")
    queue = sqs.get_queue_url(QueueName=stack.env["KALEXO_UPLOADS_QUEUE"])["QueueUrl"]
    dlq = sqs.get_queue_url(QueueName=stack.env["KALEXO_UPLOADS_DLQ"])["QueueUrl"]
    max_receive = json.loads(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["RedrivePolicy"])
                             ["Attributes"]["RedrivePolicy"])["maxReceiveCount"]
    poison = f"not an S3 notification {uuid.uuid4().hex}"
    sqs.send_message(QueueUrl=queue, MessageBody=poison)

    def dead_lettered():
        for message in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                           MessageSystemAttributeNames=["All"]).get("Messages", []):
            sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            if message["Body"] == poison:
                return message
        return None

    message = wait_for(dead_lettered, timeout=60, interval=0.5)
    assert message is not None, stack.log()
    assert int(message["Attributes"]["ApproximateReceiveCount"]) >= int(max_receive)
    failures = stack.log(tail=None).count("ingest_uploads failed on 1 message(s): MalformedNotification")
    assert failures >= int(max_receive), "each delivery was handed to the handler and failed"
    sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])


def test_an_upload_grant_is_a_working_presigned_put_and_the_storage_quota_holds(stack):
    from tests.e2e.api_client import Api, assert_error

    bob, admin = Api(stack, stack.token("bob")), Api(stack, stack.token("admin"))
    body = b"%PDF-1.7\n" + b"1" * 3000
    grant = bob.ok("POST", "/workspaces/ws-demo/uploads",
                   {"filename": "north elevation.pdf", "size": len(body), "content_type": "application/pdf"},
                   status=201)
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=10).status_code == 200
    stack.client("s3").head_object(Bucket=stack.env["KALEXO_DOCUMENTS_BUCKET"], Key=grant["key"])
    bucket, ddb = stack.env["KALEXO_DOCUMENTS_BUCKET"], stack.client("dynamodb")
    assert wait_for(lambda: ddb.query(TableName=stack.env["KALEXO_MAIN_TABLE"], KeyConditionExpression="pk = :pk",
                                      ExpressionAttributeValues={":pk": {"S": f"OBJECT#{bucket}/{grant['key']}"}}
                                      )["Items"], timeout=20)  # received: its reservation settled
    # What is stored and reserved by grants in flight (other tests') is what the plan counts.
    stored = admin.ok("GET", "/admin/accounts/acc-demo/usage")["stored"]["bytes_committed"]
    # Shrink the plan to that plus a little: the next upload is refused before anything is written.
    admin.ok("PATCH", "/admin/accounts/acc-demo", {"quota_overrides": {"max_storage_bytes": stored + 100}})
    try:
        refused = bob.call("POST", "/workspaces/ws-demo/uploads",
                           {"filename": "big.pdf", "size": 1000, "content_type": "application/pdf"})
        assert assert_error(refused, 403) == "storage_quota_exceeded"
        small = bob.ok("POST", "/workspaces/ws-demo/uploads",
                       {"filename": "small.pdf", "size": 50, "content_type": "application/pdf"}, status=201)
        assert small["key"] != grant["key"]
    finally:
        admin.ok("PATCH", "/admin/accounts/acc-demo", {"quota_overrides": {}})
    assert assert_error(Api(stack, stack.token("vera")).call(
        "POST", "/workspaces/ws-demo/uploads", {"filename": "a.pdf", "size": 10, "content_type": "application/pdf"}),
        403) == "role_too_low"


def test_a_put_other_than_its_grant_signs_is_refused_before_anything_is_stored(stack):
    """As S3 does (the emulator checks presigned URLs, local/emulator_presigned.py): a tester's PUT of more bytes
    than granted was stored locally, and its document waited for its deadline."""
    from tests.e2e.api_client import Api

    bob = Api(stack, stack.token("bob"))
    body = b"%PDF-1.7\n" + b"1" * 3000
    grant = bob.ok("POST", "/workspaces/ws-demo/uploads",
                   {"filename": "granted.pdf", "size": len(body), "content_type": "application/pdf"}, status=201)
    bigger = requests.put(grant["url"], data=body + b"2" * 5000, timeout=10,
                          headers={"Content-Type": grant["headers"]["Content-Type"]})
    assert bigger.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in bigger.content, bigger.text
    html = requests.put(grant["url"], data=body, headers={"Content-Type": "text/html"}, timeout=10)
    assert html.status_code == 403, html.text
    moved = requests.put(grant["url"].replace(grant["document_id"], "doc-someone-elses"), data=body,
                         headers=grant["headers"], timeout=10)
    assert moved.status_code == 403, moved.text
    versions = stack.client("s3").list_object_versions(Bucket=stack.env["KALEXO_DOCUMENTS_BUCKET"],
                                                       Prefix=grant["key"]).get("Versions", [])
    assert versions == []  # nothing stored
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=10).status_code == 200


def test_members_see_upload_progress_pushed_by_the_worker(stack):
    """The SQS worker (another process, no websocket event) pushes progress through the management API
    configured from settings, to a member's kalexo_client. Progress is a live push, not durable: if the test
    stack's 8 s connection limit ends the connection first (the client says Disconnected and reconnects by
    itself), the scenario starts again with a new upload."""
    import asyncio

    from kalexo_client import Disconnected, Event, Progress, WorkspaceClient

    from tests.e2e.api_client import Api

    bob = Api(stack, stack.token("bob"))

    async def attempt() -> Progress | None:
        events: list[Event] = []
        async with WorkspaceClient(stack.ws, stack.token("alice"), "ws-demo", on_event=events.append) as alice:
            body = b"%PDF-1.7\n" + b"2" * 500
            grant = await asyncio.to_thread(bob.ok, "POST", "/workspaces/ws-demo/uploads", {
                "filename": "progress.pdf", "size": len(body), "content_type": "application/pdf"}, status=201)
            put = await asyncio.to_thread(requests.put, grant["url"], data=body, headers=grant["headers"], timeout=10)
            assert put.status_code == 200

            def pushed() -> list[Progress]:
                return [e for e in events if isinstance(e, Progress) and e.document_id == grant["document_id"]]

            await alice.wait_for(lambda: bool(pushed()) or any(isinstance(e, Disconnected) for e in events), 60)
            return pushed()[0] if pushed() else None

    for _attempt in range(3):
        progress = asyncio.run(attempt())
        if progress is not None:
            # The body is not a readable PDF: analysis starts, then the document fails with a reason.
            assert progress.status in ("analysing", "failed")
            return
    pytest.fail("the connection ended before progress arrived, three times")


def test_a_received_upload_names_who_uploaded_it(stack):
    from tests.e2e.api_client import Api, wait_until
    from tests.e2e.documents_samples import letter_pdf
    from tests.e2e.test_documents import upload

    alice, bob = Api(stack, stack.token("alice")), Api(stack, stack.token("bob"))
    grant = upload(bob, "who sent this.pdf", letter_pdf(pages=1))

    def received():
        events = alice.ok("GET", "/admin/events", workspace_id="ws-demo", type="upload.received")["items"]
        return [e for e in events if e["detail"].get("document_id") == grant["document_id"]]

    mine = wait_until(received, "upload.received of the document", timeout=60)
    # The grant's holder, as upload.granted names them (the admin's log reads "bob uploaded", not "someone").
    assert [(e["user_id"], e["actor_id"], e["detail"]["key"]) for e in mine] == [("bob", "bob", grant["key"])]

    # The job's events name the version they processed, so each ties to its upload, and so to its uploader.
    def processed():
        events = alice.ok("GET", "/admin/events", workspace_id="ws-demo", type="document.")["items"]
        found = {e["type"]: e for e in events if e["detail"].get("document_id") == grant["document_id"]}
        return found if "document.ready" in found else None

    found = wait_until(processed, "document.ready of the document", timeout=120)
    version = mine[0]["detail"]["version_id"]
    assert found["document.analysed"]["detail"]["version_id"] == version
    assert found["document.ready"]["detail"]["version_id"] == version
    assert found["document.analysed"]["detail"]["job_id"] == found["document.ready"]["detail"]["job_id"]


def test_a_query_parameter_given_twice_is_refused_not_half_read(stack):
    from tests.e2e.api_client import Api, assert_error

    alice = Api(stack, stack.token("alice"))
    twice = alice.call("GET", "/admin/events", workspace_id="ws-demo", type=["upload.", "document."])
    assert assert_error(twice, 400) == "bad_query"
    assert "type" in twice.json()["error"]["message"]
    assert alice.ok("GET", "/admin/events", workspace_id="ws-demo", type="upload.")["items"] is not None
    # A time in seconds would be January 1970 in milliseconds: said so, not answered with an empty page.
    seconds = alice.call("GET", "/admin/events", workspace_id="ws-demo", until_ms=1_796_000_000)
    assert assert_error(seconds, 400) == "bad_range" and "looks like seconds" in seconds.json()["error"]["message"]
