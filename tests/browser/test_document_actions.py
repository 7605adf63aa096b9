"""What a member can do to a document from its row in the web client (a helper found none: a corrected drawing
became a second document, and a wrong upload could not be taken away without the REST API): upload a New
version of it (editors and owners), and Remove it (owners, and the member who uploaded it) after a
confirmation that Escape or Cancel leaves without removing anything. Viewers see neither."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.browser.conftest import Team, WebStack
from tests.browser.team import create_studio, open_in, settle, upload
from tests.browser.test_landscape import wait_until
from tests.e2e.documents_samples import letter_pdf

pytestmark = pytest.mark.timeout(300)


def _row(doc: str, status: str | None = None) -> str:
    return f'#documents li[data-doc="{doc}"]' + (f"[data-status={status}]" if status else "")


def test_members_replace_and_remove_documents_from_their_rows(web_stack: WebStack, browser: Any) -> None:
    studio = create_studio(web_stack, f"Actions {uuid.uuid4().hex[:6]}")
    plan = upload(web_stack, "bob", "plan.pdf", letter_pdf(pages=1, text="plan first"), studio)
    brief = upload(web_stack, "alice", "brief.pdf", letter_pdf(pages=1, text="brief"), studio)
    people = {user: open_in(browser, web_stack, studio, user) for user in ("alice", "bob", "vera")}
    alice, bob, vera = people["alice"], people["bob"], people["vera"]
    rest, stack = web_stack.stack.rest, web_stack.stack
    try:
        for person in people.values():
            for doc in (plan, brief):
                person.page.wait_for_selector(_row(doc, "ready"), timeout=120_000)
        # Who sees what: viewers nothing; editors a New version, and Remove of their own uploads; owners all.
        assert vera.page.locator("#documents .new-version, #documents .remove").count() == 0
        assert bob.page.locator(f"{_row(plan)} .remove").count() == 1
        assert bob.page.locator(f"{_row(brief)} .remove").count() == 0  # alice's upload
        assert bob.page.locator(f"{_row(brief)} .new-version").count() == 1
        assert alice.page.locator(f"{_row(plan)} .remove").count() == 1  # the owner

        # bob pins a note on the plan (looking at its one page from its row): it says where it is pinned.
        bob.page.click(f"{_row(plan)} .doc-go")
        settle(bob.page)
        bob.page.fill("#note-input", "Check the stair width")
        bob.page.press("#note-input", "Enter")
        pinned = "#notes li .note-go[aria-label*='Check the stair width']"
        for person in (alice, bob, vera):
            wait_until(lambda p=person: "plan.pdf, page 1" in (p.page.locator(pinned).get_attribute("aria-label")
                                                                 if p.page.locator(pinned).count() else ""),
                       page=person.page, what=f"{person.user}: the note pinned on the plan", timeout=60)

        # bob uploads a corrected plan as a new version: still one document, now of two pages, for everyone; his
        # upload is listed, as a new version, until the document shows it (never as a second document).
        bob.page.evaluate("""() => { window.__uploads = new Set(); window.__most = 0;
            new MutationObserver(() => {
                document.querySelectorAll('#uploads li').forEach(li => window.__uploads.add(li.innerText));
                window.__most = Math.max(window.__most, document.querySelectorAll('#documents li').length);
            }).observe(document.getElementById('app'), {subtree: true, childList: true, characterData: true}); }""")
        with bob.page.expect_file_chooser() as chooser:
            bob.page.click(f"{_row(plan)} .new-version")
        chooser.value.set_files(files=[{"name": "plan v2.pdf", "mimeType": "application/pdf",
                                        "buffer": letter_pdf(pages=2, text="plan second")}])
        for person in (alice, bob, vera):
            wait_until(lambda p=person: p.page.locator(_row(plan, "ready")).inner_text().count("2 pages") == 1,
                       page=person.page, what=f"{person.user}: the new version ready", timeout=120)
            assert person.page.locator("#documents li").count() == 2, person.user
            assert person.page.locator(f"{_row(plan)} .doc-go").inner_text() == "plan.pdf"  # it keeps its name
            # Said where it can be seen, not only to screen readers (an outside tester saw versions change silently).
            wait_until(lambda p=person: p.page.locator("#doc-news li").all_inner_texts().count(
                "plan.pdf was updated: 2 pages\nDismiss") == 1, page=person.page,
                what=f"{person.user}: the new version told", timeout=30)
        assert bob.page.locator("#uploads li").count() == 0
        listed = bob.page.evaluate("[...window.__uploads]")
        assert any("New version of plan.pdf: plan v2.pdf" in text for text in listed), listed
        assert bob.page.evaluate("window.__most") == 2
        headers = {"Authorization": f"Bearer {stack.token('alice')}"}
        manifest = requests.get(f"{rest}/workspaces/{studio}/documents/{plan}", headers=headers, timeout=15).json()
        assert [p["page"] for p in manifest["pages"]] == [0, 1]

        # Remove asks first; Escape (and Cancel) keep the document, and give the focus back to Remove.
        deletes: list[str] = []
        alice.page.on("request", lambda r: deletes.append(r.url) if r.method == "DELETE" else None)
        alice.page.click(f"{_row(plan)} .remove")
        confirm = f"{_row(plan)} .confirm-remove"
        alice.page.wait_for_selector(confirm)
        assert alice.page.evaluate("document.activeElement.className") == "cancel"
        alice.page.keyboard.press("Escape")
        wait_until(lambda: alice.page.locator(confirm).count() == 0, page=alice.page, what="the question gone")
        assert alice.page.evaluate("document.activeElement.className") == "remove"
        alice.page.click(f"{_row(plan)} .remove")
        alice.page.click(f"{confirm} .cancel")
        assert deletes == [] and alice.page.locator(_row(plan)).count() == 1

        alice.page.click(f"{_row(plan)} .remove")
        with alice.page.expect_response(lambda r: r.request.method == "DELETE") as removed:
            alice.page.click(f"{confirm} .confirm")
        assert removed.value.status == 204, removed.value.text()
        for person in (alice, bob, vera):
            wait_until(lambda p=person: p.page.locator(_row(plan)).count() == 0, page=person.page,
                       what=f"{person.user}: the row gone", timeout=60)
            wait_until(lambda p=person: p.page.locator(f'.doc-label[data-doc="{plan}"]').count() == 0,
                       page=person.page, what=f"{person.user}: the landscape's label gone", timeout=60)
            assert person.page.locator(_row(brief, "ready")).count() == 1
        # Everyone is told, once (the remover by its own Remove); the note stays, and says its page was removed.
        for person in (alice, bob, vera):
            wait_until(lambda p=person: p.page.locator("#announcer").inner_text().count("plan.pdf was removed") == 1,
                       page=person.page, what=f"{person.user}: told of the removal", timeout=30)
            assert "on a removed document" in person.page.locator(pinned).get_attribute("aria-label")
            told = person.page.locator("#doc-news li", has_text="plan.pdf was removed")
            assert told.count() == (0 if person is alice else 1), person.user  # alice's own Remove said so itself
        gone = requests.get(f"{rest}/workspaces/{studio}/documents/{plan}", headers=headers, timeout=15)
        assert gone.status_code == 404, gone.text
        assert alice.page.locator("#errors li").count() == 0

        # A new version still going up when the document is removed: its row says it was not kept (it vanished).
        held: list[Any] = []

        def hold(route: Any) -> None:  # a function of its own: Playwright does not take a bound builtin
            held.append(route)

        bob.context.route(lambda url: "X-Amz-Signature" in url, hold)
        with bob.page.expect_file_chooser() as chooser:
            bob.page.click(f"{_row(brief)} .new-version")
        chooser.value.set_files(files=[{"name": "brief v2.pdf", "mimeType": "application/pdf",
                                        "buffer": letter_pdf(pages=1, text="brief second")}])
        wait_until(lambda: bool(held), page=bob.page, what="the PUT held", timeout=30)
        alice.page.click(f"{_row(brief)} .remove")
        alice.page.click(f"{_row(brief)} .confirm-remove .confirm")
        wait_until(lambda: bob.page.locator(_row(brief)).count() == 0, page=bob.page, what="brief gone", timeout=60)
        held[0].continue_()
        bob.page.locator("#uploads li.failed", has_text="not kept: the document was removed meanwhile").wait_for(
            timeout=60_000)

        # bob, demoted to viewer, loses his buttons within a heartbeat.
        member = f"{rest}/admin/workspaces/{studio}/members/bob"
        assert requests.put(member, headers=headers, json={"role": "viewer"}, timeout=15).status_code == 200
        wait_until(lambda: bob.page.locator("#documents .new-version").count() == 0, page=bob.page,
                   what="no New version for a viewer", timeout=60)
    finally:
        for person in people.values():
            person.context.close()


def test_a_document_removed_while_a_member_was_offline_is_announced_when_they_are_back(web_stack: WebStack,
                                                                                      team: Team) -> None:
    """As the chat they missed is: a tester's member saw the document leave the list without a word."""
    studio, (vera,) = team("Removed offline", "vera")
    doc = upload(web_stack, "alice", "gone-while-away.pdf", letter_pdf(pages=1, text="away"), studio)
    vera.page.wait_for_selector(_row(doc, "ready"), timeout=120_000)
    vera.context.set_offline(True)
    vera.page.wait_for_selector("#banner:not([hidden])")
    headers = {"Authorization": f"Bearer {web_stack.stack.token('alice')}"}
    removed = requests.delete(f"{web_stack.stack.rest}/workspaces/{studio}/documents/{doc}", headers=headers,
                              timeout=15)
    assert removed.status_code == 204, removed.text
    vera.context.set_offline(False)
    wait_until(lambda: vera.page.locator(_row(doc)).count() == 0, page=vera.page, what="the row gone", timeout=60)
    wait_until(lambda: vera.page.locator("#announcer").inner_text().count("gone-while-away.pdf was removed") == 1,
               page=vera.page, what="told of the removal", timeout=30)
    news = vera.page.locator("#doc-news li", has_text="gone-while-away.pdf was removed")
    assert news.count() == 1 and news.is_visible()
    news.get_by_role("button", name="Dismiss: gone-while-away.pdf was removed").click()
    assert vera.page.locator("#doc-news li").count() == 0
