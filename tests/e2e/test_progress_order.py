"""A document's progress never goes backwards as members see it, whatever order the tiling workers finish in
(issue 14: `tiling pages_done` went 10 then 9 with two racing workers, and a late `tiling 0` came after pages
were done).

A stack of its own with three tiling workers, and the reviewer's race made likely on purpose: the emulator's
DynamoDB answers a share of the workspace's connection lookups (made between a worker's count being accepted and
its message being sent) 1.5 s late, so one worker's report is held up while the others go on."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests
from websockets.sync.client import ClientConnection, connect

from tests.e2e.api_client import Api
from tests.e2e.documents_samples import letter_pdf

pytestmark = pytest.mark.e2e

PAGES = 30
RANK = {"analysing": 0, "tiling": 1, "ready": 2, "failed": 2}


def progress_of(ws: ClientConnection, document_id: str, until: Any, ceiling_s: float) -> list[dict[str, Any]]:
    """Reports about the document, in arrival order, up to the first one `until` accepts: `progress` messages,
    and the ops that carry a change of status (docs/protocol.md)."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + ceiling_s
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=max(1.0, deadline - time.monotonic())))
        if message.get("action") in ("progress", "op") and "progress" in message and \
                message.get("subject") == document_id:
            seen.append(message["progress"])
            if until(message):
                return seen
        elif until(message):
            return seen
    pytest.fail(f"no end of progress within {ceiling_s} s: {seen}")


def tiles_queue_idle(stack) -> bool:
    """Every page task handled (each handler sends its progress before its message is deleted)."""
    sqs = stack.client("sqs")
    url = sqs.get_queue_url(QueueName=stack.env["KALEXO_TILES_QUEUE"])["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return {attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]} == {"0"}


def assert_never_backwards(reports: list[dict[str, Any]]) -> None:
    order = [(RANK[r["status"]], r.get("pages_done", 0) if r["status"] == "tiling" else 0) for r in reports]
    assert order == sorted(order), [(r["status"], r.get("pages_done")) for r in reports]
    assert reports[-1]["status"] == "ready" and reports[-1]["pages_done"] == PAGES


def test_progress_never_goes_backwards_whatever_order_workers_finish(tmp_path):
    from tests.e2e.stack import start_stack, stop_stack

    stack = start_stack(tmp_path / "progress", "--workers", "3")
    try:
        alice = Api(stack, stack.token("alice"))
        workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": "Progress"},
                             status=201)["workspace_id"]
        alice.ok("PUT", f"/admin/workspaces/{workspace}/members/bob", {"role": "editor"})
        stack.cfg.faults_path.write_text(json.dumps([{
            "action": "Query", "contains": f"WS#{workspace}", "when": "delay", "delay_ms": 1500,
            "probability": 0.3, "count": 12}]))
        body = letter_pdf(pages=PAGES, text=f"Progress {uuid.uuid4().hex[:4]}")
        with connect(f"{stack.ws}/?token={stack.token('bob')}&workspace={workspace}", open_timeout=30) as bob:
            grant = alice.ok("POST", f"/workspaces/{workspace}/uploads", {
                "filename": "long.pdf", "size": len(body), "content_type": "application/pdf"}, status=201)
            assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
            document_id = grant["document_id"]
            reports = progress_of(bob, document_id, lambda m: m.get("final"), ceiling_s=600)
            deadline = time.monotonic() + 300
            while not tiles_queue_idle(stack) and time.monotonic() < deadline:
                time.sleep(0.5)  # a polling interval, not a wait for time to pass: the ceiling is generous
            assert tiles_queue_idle(stack), "page tasks still in flight after 300 s"
            # Everything the workers sent went out before the queue emptied: a pong comes after all of it.
            bob.send(json.dumps({"action": "ping", "id": "last"}))
            reports += progress_of(bob, document_id, lambda m: m.get("action") == "pong", ceiling_s=60)
        assert_never_backwards(reports)
        assert sum(r["status"] == "tiling" for r in reports) >= 2  # pages were reported on the way
    finally:
        stack.cfg.faults_path.unlink(missing_ok=True)
        stop_stack(stack)
