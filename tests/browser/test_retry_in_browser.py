"""Retry in the web client, for a failure that may pass later (issue 15): a document whose analysis kept
failing (a crash or a timeout, `processing_failed`) is offered a Retry, to its owner only; pressing it queues
the document again and says so. A damaged file offers none (test_teamwork.py): it would fail the same way.

The failure is made the way the e2e tests make it: a start task naming a version that does not exist, sent to
the tiles queue, fails on every attempt and reaches the dead-letter queue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.browser.conftest import UserPage, WebStack
from tests.browser.team import create_studio, open_in

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def owner_and_editor(web_stack: WebStack, browser: Any) -> Iterator[tuple[str, UserPage, UserPage]]:
    studio = create_studio(web_stack, "Retry studio")
    opened: list[UserPage] = []
    try:
        for user in ("alice", "bob"):
            opened.append(open_in(browser, web_stack, studio, user))
        yield studio, opened[0], opened[1]
    finally:
        for person in opened:
            person.context.close()


Team = tuple[str, UserPage, UserPage]


def test_the_owner_retries_a_document_whose_processing_failed(web_stack: WebStack, owner_and_editor: Team) -> None:
    studio, alice, bob = owner_and_editor
    stack = web_stack.stack
    grant = requests.post(f"{stack.rest}/workspaces/{studio}/uploads", timeout=15,
                          headers={"Authorization": f"Bearer {stack.token('alice')}"},
                          json={"filename": "lost.pdf", "size": 100, "content_type": "application/pdf"})
    assert grant.status_code == 201, grant.text
    document = grant.json()["document_id"]
    sqs = stack.client("sqs")
    queue = sqs.get_queue_url(QueueName=stack.env["KALEXO_TILES_QUEUE"])["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({
        "v": 1, "workspace_id": studio, "document_id": document, "job_id": "job-poisoned", "page": -1,
        "version_id": "no-such-version", "kind": "pdf", "options": {}, "run": 1}))

    row = f'#documents li[data-doc="{document}"][data-status=failed]'
    for person in (alice, bob):
        person.page.wait_for_selector(row, timeout=90_000)
    assert "could not be analysed, even after retries" in alice.page.locator(row).inner_text()
    assert alice.page.locator(f"{row} .retry").is_visible()
    assert alice.page.locator(f'.doc-card[data-doc="{document}"] .retry').count() == 1
    assert bob.page.locator("#documents .retry, .doc-card .retry").count() == 0  # editors do not retry
    with alice.page.expect_response(lambda r: r.url.endswith("/retry")) as retried:
        alice.page.locator(f"{row} .retry").click()
    assert retried.value.status == 202, retried.value.text()
    alice.page.wait_for_selector('#announcer:has-text("lost.pdf: processing again")')
    assert alice.page.locator("#errors li").count() == 0
