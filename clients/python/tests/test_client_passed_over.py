"""Two members send a new version of one document at the same moment: the newer is processed, and the other's
wait ends by saying its version was passed over (the document's `passed_over`), not with the winner's `ready`
as if it were its own (what `kalexo documents upload --wait` reported before)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import Space, two_page_pdf
from kalexo_client import WorkspaceClient, upload_and_wait, wait_document
from kalexo_client.documents import Baseline, passed_over, poll_until_processed

pytestmark = pytest.mark.e2e
CEILING = 180.0


def _put(grant: dict[str, Any], body: bytes) -> str:
    response = requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30)
    assert response.status_code == 200, response.text
    return str(response.headers["x-amz-version-id"])


def test_a_wait_for_a_version_passed_over_ends_saying_so(space: Space, tmp_path: Path) -> None:
    alice, bob = space.api("alice"), space.api("bob")
    first = two_page_pdf(tmp_path / "plan.pdf", pages=1)
    upload, _ = asyncio.run(upload_and_wait(bob, space.stack.ws, space.token("bob"), space.workspace, first,
                                            timeout=CEILING))
    document_id = upload.document_id
    shown = bob.document(space.workspace, document_id)
    alices_body = two_page_pdf(tmp_path / "alice.pdf", pages=6).read_bytes()
    bobs_body = two_page_pdf(tmp_path / "bob.pdf", pages=2).read_bytes()
    grants = [api.request_upload(space.workspace, name, len(body), "application/pdf", document_id)
              for api, name, body in ((alice, "alice.pdf", alices_body), (bob, "bob.pdf", bobs_body))]

    async def scenario() -> tuple[str, str, Any]:
        async with WorkspaceClient(space.stack.ws, space.token("alice"), space.workspace) as client:
            before = client.items[f"doc:{document_id}"]
            # Alice's file reaches the bucket a moment before Bob's: hers is the older version.
            alices, bobs = _put(grants[0], alices_body), _put(grants[1], bobs_body)
            item = await wait_document(client, document_id, timeout=CEILING, version=alices,
                                       baseline=Baseline(before.version, str(before.fields["job_id"])))
        return alices, bobs, item

    alices, bobs, item = asyncio.run(scenario())
    assert passed_over(item.fields, alices) and not passed_over(item.fields, bobs)
    assert item.fields["version_id"] == bobs  # the item names the version of the job it shows
    # Without a websocket, read over REST: the same answer.
    document = poll_until_processed(alice, space.workspace, document_id, baseline_job=str(shown["job_id"]),
                                    version=alices, timeout=CEILING)
    assert passed_over(document, alices)
    # Bob's wait for his own ends with his version ready, and it is the one shown.
    ready = poll_until_processed(bob, space.workspace, document_id, baseline_job=str(shown["job_id"]),
                                 version=bobs, timeout=CEILING)
    assert (ready["status"], ready["version_id"], ready["page_count"]) == ("ready", bobs, 2)
    assert alices in ready["passed_over"] and bobs not in ready["passed_over"]
