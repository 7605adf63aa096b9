"""Uploads whose file never came (a tab closed mid-upload) hold their size of the plan's storage for over an hour.
An outside tester was refused room for "bytes reserved by uploads in progress" with nothing to see or cancel; a
refusal for storage now lists the member's own unfinished uploads, each with Cancel, which gives its room back."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from tests.browser.conftest import WebStack
from tests.browser.team import create_studio, open_in, wait_until
from tests.e2e.documents_samples import letter_pdf

pytestmark = pytest.mark.timeout(300)


def test_a_storage_refusal_lists_the_members_unfinished_uploads_to_cancel(web_stack: WebStack,
                                                                          browser: Any) -> None:
    rest = web_stack.stack.rest
    admin = {"Authorization": f"Bearer {web_stack.stack.token('admin')}"}
    bob = {"Authorization": f"Bearer {web_stack.stack.token('bob')}"}
    studio = create_studio(web_stack, f"Full {uuid.uuid4().hex[:6]}")
    body = letter_pdf(pages=1, text="Sections")
    lost = requests.post(f"{rest}/workspaces/{studio}/uploads", headers=bob, timeout=15, json={
        "filename": "lost.pdf", "size": 50_000, "content_type": "application/pdf"}).json()  # never PUT

    def stored() -> dict[str, int]:
        return dict(requests.get(f"{rest}/admin/accounts/acc-demo/usage", headers=admin, timeout=15).json()["stored"])

    def limit(value: int | None) -> None:
        changed = requests.patch(f"{rest}/admin/accounts/acc-demo", headers=admin, timeout=15,
                                 json={"quota_overrides": {"max_storage_bytes": value}})
        assert changed.status_code == 200, changed.text

    limit(stored()["bytes_committed"] + len(body) - 1)  # the new file fits only once the lost grant's room is back
    person = None
    try:
        person = open_in(browser, web_stack, studio, "bob")
        page = person.page
        _choose(page, "sections.pdf", body)
        refused = page.locator('#uploads li.failed[data-file="sections.pdf"]')
        refused.wait_for(timeout=60_000)
        assert "reserved by uploads in progress" in refused.inner_text()
        waiting = page.locator(f'#uploads li[data-waiting="true"][data-doc="{lost["document_id"]}"]')
        waiting.wait_for(timeout=30_000)
        assert "lost.pdf" in waiting.inner_text() and "did not finish" in waiting.inner_text()
        held = stored()["bytes_reserved"]
        waiting.get_by_role("button", name="Cancel the upload of lost.pdf").click()
        wait_until(lambda: waiting.count() == 0, page, "the unfinished upload gone from the list")
        assert stored()["bytes_reserved"] == held - 50_000  # its room given back at once
        gone = requests.get(f"{rest}/workspaces/{studio}/documents/{lost['document_id']}", headers=bob, timeout=15)
        assert gone.status_code == 404
        # The file that was refused now fits.
        page.get_by_role("button", name="Dismiss sections.pdf").click()
        _choose(page, "sections.pdf", body)
        page.wait_for_selector('#documents li[data-status=ready]:has-text("sections.pdf")', timeout=120_000)
    finally:
        limit(None)
        if person is not None:
            person.context.close()


def test_an_unfinished_upload_leaves_the_list_at_its_deadline(web_stack: WebStack, browser: Any) -> None:
    """Its room is back then, and the API no longer lists it (an outside tester's row stayed until Cancel)."""
    stack, admin = web_stack.stack, {"Authorization": f"Bearer {web_stack.stack.token('admin')}"}
    bob = {"Authorization": f"Bearer {stack.token('bob')}"}
    studio = create_studio(web_stack, f"Lapse {uuid.uuid4().hex[:6]}")
    lost = requests.post(f"{stack.rest}/workspaces/{studio}/uploads", headers=bob, timeout=15, json={
        "filename": "lost.pdf", "size": 50_000, "content_type": "application/pdf"}).json()
    deadline = int(time.time()) + 25  # as if granted long ago
    stack.client("dynamodb").update_item(
        TableName=stack.env["KALEXO_MAIN_TABLE"],
        Key={"pk": {"S": f"WORKSPACE#{studio}"}, "sk": {"S": f"DOC#{lost['document_id']}"}},
        UpdateExpression="SET upload_deadline = :d", ExpressionAttributeValues={":d": {"N": str(deadline)}})
    usage = requests.get(f"{stack.rest}/admin/accounts/acc-demo/usage", headers=admin, timeout=15).json()["stored"]
    changed = requests.patch(f"{stack.rest}/admin/accounts/acc-demo", headers=admin, timeout=15, json={
        "quota_overrides": {"max_storage_bytes": usage["bytes_committed"] + 10}})  # (reserved bytes included)
    assert changed.status_code == 200, changed.text
    person = None
    try:
        person = open_in(browser, web_stack, studio, "bob")
        page = person.page
        _choose(page, "big.pdf", letter_pdf(pages=1, text="Big"))
        waiting = page.locator(f'#uploads li[data-waiting="true"][data-doc="{lost["document_id"]}"]')
        waiting.wait_for(timeout=30_000)
        assert time.time() < deadline, "listed too late to watch it lapse"
        wait_until(lambda: waiting.count() == 0, page, "the lapsed upload gone from the list", timeout=120)
        assert time.time() >= deadline  # not before its room came back
        gone = requests.get(f"{stack.rest}/workspaces/{studio}/documents/{lost['document_id']}", headers=bob,
                            timeout=15)
        assert gone.status_code == 404
    finally:
        requests.patch(f"{stack.rest}/admin/accounts/acc-demo", headers=admin, timeout=15,
                       json={"quota_overrides": {"max_storage_bytes": None}})
        if person is not None:
            person.context.close()


def _choose(page: Any, name: str, body: bytes) -> None:
    """The file picked for upload, once the page lets this member upload."""
    page.wait_for_selector("#upload-button:not([hidden])", timeout=60_000)
    page.set_input_files("#file-input", files=[{"name": name, "mimeType": "application/pdf", "buffer": body}])
