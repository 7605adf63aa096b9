"""Two members upload a new version of one document at the same moment: only the newest is processed. An outside
tester saw the other one's upload row say "uploaded: waiting for processing" and vanish, and the document then
show someone else's file under the name just replaced, without a word. The server now lists such a version in
the document's `passed_over`, and the uploader's page says so, with "Upload again"."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.browser.conftest import WebStack
from tests.browser.team import create_studio, open_in, upload, wait_until
from tests.e2e.documents_samples import letter_pdf

pytestmark = pytest.mark.timeout(300)


def test_a_version_overtaken_by_another_members_tells_its_uploader(web_stack: WebStack, browser: Any) -> None:
    rest = web_stack.stack.rest
    bob = {"Authorization": f"Bearer {web_stack.stack.token('bob')}"}
    studio = create_studio(web_stack, f"Race {uuid.uuid4().hex[:6]}")
    plan = upload(web_stack, "bob", "plan.pdf", letter_pdf(pages=1, text="First"), studio)
    document = f"{rest}/workspaces/{studio}/documents/{plan}"
    row = f'#documents li[data-doc="{plan}"]'
    bobs_body = letter_pdf(pages=2, text="Bob's")
    bobs = requests.post(f"{rest}/workspaces/{studio}/uploads", headers=bob, timeout=15, json={
        "filename": "plan bob.pdf", "size": len(bobs_body), "content_type": "application/pdf",
        "document_id": plan}).json()
    alices: dict[str, str] = {}

    def alices_put_then_bobs(route: Any) -> None:
        """Alice's file reaches the bucket; Bob's arrives just after it, before her page hears back: hers
        is the older version, and neither has been processed yet."""
        if route.request.method != "PUT":
            route.continue_()
            return
        response = route.fetch()
        alices["version"] = response.headers["x-amz-version-id"]
        put = requests.put(bobs["url"], data=bobs_body, headers=bobs["headers"], timeout=30)
        assert put.status_code == 200, put.text
        route.fulfill(response=response)

    person = open_in(browser, web_stack, studio, "alice")
    page = person.page
    try:
        page.wait_for_selector(f"{row}[data-status=ready]", timeout=120_000)
        page.route(_sources, alices_put_then_bobs)
        with page.expect_file_chooser() as chooser:
            page.click(f"{row} .new-version")
        chooser.value.set_files(files=[{"name": "plan alice.pdf", "mimeType": "application/pdf",
                                        "buffer": letter_pdf(pages=6, text="Alice's")}])
        told = page.locator('#uploads li.failed[data-file="plan alice.pdf"]')
        told.wait_for(timeout=120_000)
        assert "not kept: a newer version of plan.pdf" in told.text_content()
        assert "Upload yours again" in told.text_content()
        record = requests.get(document, headers=bob, timeout=15).json()
        assert alices["version"] in record["passed_over"], record
        wait_until(lambda: "2 pages" in page.locator(f"{row}[data-status=ready]").inner_text() if
                   page.locator(f"{row}[data-status=ready]").count() else False, page, "Bob's version ready")
        assert told.count() == 1  # still said once Bob's is ready: it is not hers
        page.unroute(_sources, alices_put_then_bobs)  # her next upload goes as any
        page.get_by_role("button", name="Upload plan alice.pdf again").click()
        wait_until(lambda: page.locator(f"{row}[data-status=ready]").count() == 1 and "6 pages" in
                   page.locator(f"{row}[data-status=ready]").inner_text(), page, "Alice's version ready", 120)
        wait_until(lambda: page.locator("#uploads li").count() == 0, page, "no upload row left")
        record = requests.get(document, headers=bob, timeout=15).json()
        assert record["page_count"] == 6 and record["version_id"] not in record["passed_over"]
    finally:
        person.context.close()


def _sources(url: str) -> bool:
    return "/source" in url
