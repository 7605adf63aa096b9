"""What an open page does when things change under it, as a helper using the product in a browser found them:
a member demoted to viewer kept the Upload button and note form (and the refusal's error stayed after being
made an editor again); a removed member's page looped on "reconnecting" forever, showing everything; the screen
readers' live region read out the whole recent chat at sign-in; notes written offline did not show; an open
edit silently replaced another member's; an upload cut off by the network was shown as refused, with no Retry."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
import requests
from websockets.sync.client import connect

from tests.browser.conftest import WebStack
from tests.browser.team import create_studio, open_in
from tests.browser.test_landscape import drawing
from tests.browser.test_landscape import wait_until as wait_in_page
from tests.browser.test_sync_in_browser import wait_until

pytestmark = pytest.mark.timeout(300)


def _chat(web_stack: WebStack, workspace: str, *texts: str) -> None:
    with connect(f"{web_stack.stack.ws}/?token={web_stack.stack.token('alice')}") as ws:
        for text in texts:
            ws.send(json.dumps({"action": "chat", "workspace": workspace, "text": text, "id": text}))
            while json.loads(ws.recv(timeout=20)).get("id") != text:
                pass


def _announced(page: Any) -> list[str]:
    return [str(t) for t in page.locator("#announcer p").all_inner_texts()]


def test_a_page_follows_its_members_role_and_removal_and_announces_only_news(web_stack: WebStack,
                                                                               browser: Any) -> None:
    studio = create_studio(web_stack, f"Access {uuid.uuid4().hex[:6]}")
    _chat(web_stack, studio, "said before bob came 1", "said before bob came 2", "said before bob came 3")
    bob = open_in(browser, web_stack, studio, "bob")
    opened: list[str] = []
    bob.page.on("websocket", lambda ws: opened.append(ws.url))
    try:
        bob.page.wait_for_selector("#chat-log li:has-text('said before bob came 3')")
        assert not any("says:" in line for line in _announced(bob.page))  # history is read, not announced
        _chat(web_stack, studio, "said while bob was there")
        wait_until(lambda: "alice says: said while bob was there" in _announced(bob.page), what="live chat announced")
        assert bob.page.locator("#upload-button").is_visible()

        rest, headers = web_stack.stack.rest, {"Authorization": f"Bearer {web_stack.stack.token('alice')}"}
        member = f"{rest}/admin/workspaces/{studio}/members/bob"
        assert requests.put(member, headers=headers, json={"role": "viewer"}, timeout=15).status_code == 200
        # Within a heartbeat (18 s): the pong says the role now.
        wait_until(lambda: not bob.page.locator("#upload-button").is_visible(), timeout=60,
                   what="no Upload for a viewer")
        assert bob.page.locator("#note-form").is_hidden() and "viewer" in bob.page.inner_text("#me")
        assert requests.put(member, headers=headers, json={"role": "editor"}, timeout=15).status_code == 200
        wait_until(lambda: bob.page.locator("#upload-button").is_visible(), timeout=60, what="Upload again")
        assert "editor" in bob.page.inner_text("#me")

        assert requests.delete(member, headers=headers, timeout=15).status_code == 204
        wait_until(lambda: bob.page.get_attribute("#connection", "data-state") == "removed", timeout=60,
                   what="the page to say bob was removed")
        assert "no longer a member" in bob.page.inner_text("#banner")
        assert not bob.page.locator("#upload-button").is_visible() and bob.page.locator("#note-form").is_hidden()
        # Half stopped before: the banner lay over Sign out, chat still took messages, people still showed.
        assert bob.page.locator("#chat-input").is_disabled() and bob.page.locator("#people li").count() == 0
        covering = bob.page.evaluate("""() => { const r = document.getElementById('signout').getBoundingClientRect();
            return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2).id; }""")
        assert covering == "signout"
        assert "no longer a member" in bob.page.locator("#workspace-select option:checked").inner_text()
        tries = len(opened)
        time.sleep(10)  # the reconnect backoff is at most 8 s: a page still trying would have opened another
        assert len(opened) == tries and bob.page.get_attribute("#connection", "data-state") == "removed"
    finally:
        bob.context.close()


def test_notes_written_offline_show_at_once_and_are_stored_once(web_stack: WebStack, browser: Any) -> None:
    """A helper pinned a note offline: the field cleared and nothing appeared (chat said "sending"), so they
    pinned it again and got two. A note or a resolve made offline shows at once, marked, and is stored once."""
    studio = create_studio(web_stack, f"Offline notes {uuid.uuid4().hex[:6]}")
    alice, bob = open_in(browser, web_stack, studio, "alice"), open_in(browser, web_stack, studio, "bob")
    try:
        bob.context.set_offline(True)
        bob.page.wait_for_selector("#banner:not([hidden])")
        bob.page.fill("#note-input", "Check the lintel over door 3")
        bob.page.press("#note-input", "Enter")
        row = bob.page.locator("#notes li", has_text="Check the lintel")
        row.wait_for(timeout=5_000)  # at once, offline
        assert row.get_attribute("data-pending") == "true" and "sending" in row.locator(".meta").inner_text()
        row.locator(".resolve").click()
        wait_until(lambda: row.get_attribute("data-resolved") == "true", timeout=5, what="resolved offline")
        assert alice.page.locator("#notes li", has_text="Check the lintel").count() == 0
        bob.context.set_offline(False)
        wait_until(lambda: row.get_attribute("data-pending") == "false", timeout=60, what="the note stored")
        seen = alice.page.locator("#notes li", has_text="Check the lintel")
        seen.wait_for(timeout=30_000)
        wait_until(lambda: seen.get_attribute("data-resolved") == "true", timeout=30, what="alice sees it resolved")
        assert "resolved by bob" in seen.locator(".meta").inner_text()
        assert alice.page.locator("#notes li", has_text="Check the lintel").count() == 1
        assert bob.page.locator("#notes li", has_text="Check the lintel").count() == 1
    finally:
        alice.context.close()
        bob.context.close()


def test_an_edit_under_way_is_told_of_another_members_change_and_keeps_its_text(web_stack: WebStack,
                                                                                browser: Any) -> None:
    """A helper's open edit silently replaced a later edit by someone else, and lost its typed text when the
    note was deleted under it."""
    studio = create_studio(web_stack, f"Edits {uuid.uuid4().hex[:6]}")
    alice, bob = open_in(browser, web_stack, studio, "alice"), open_in(browser, web_stack, studio, "bob")
    try:
        alice.page.fill("#note-input", "Slab depth 200")
        alice.page.press("#note-input", "Enter")
        bob.page.locator("#notes li", has_text="Slab depth 200").locator(".edit").click()
        editor = bob.page.locator("#notes li.editing input")
        editor.fill("Slab depth 250, per engineer")
        row = alice.page.locator("#notes li", has_text="Slab depth 200")
        row.locator(".edit").click()
        alice.page.locator("#notes li.editing input").fill("Slab depth 225")
        alice.page.press("#notes li.editing input", "Enter")
        conflict = bob.page.locator("#notes li.editing .conflict")
        conflict.wait_for(timeout=15_000)
        assert "Slab depth 225" in conflict.inner_text() and "alice" in conflict.inner_text()
        assert editor.input_value() == "Slab depth 250, per engineer"  # what bob typed is still there
        # alice deletes it while bob still edits: his text is not lost.
        alice.page.locator("#notes li", has_text="Slab depth 225").locator(".delete").click()
        alice.page.locator("#notes li", has_text="Slab depth 225").locator(".confirm").click()
        wait_until(lambda: bob.page.locator("#notes li.editing").count() == 0, timeout=15, what="the editor gone")
        assert bob.page.input_value("#note-input") == "Slab depth 250, per engineer"
        assert "deleted meanwhile" in bob.page.inner_text("#errors")
    finally:
        alice.context.close()
        bob.context.close()


def test_an_interrupted_upload_says_so_and_its_retry_reaches_the_same_document(web_stack: WebStack,
                                                                               browser: Any) -> None:
    """A helper's upload dropped mid-PUT was shown as "refused" with no Retry: the file had to be picked again."""
    studio = create_studio(web_stack, f"Upload drop {uuid.uuid4().hex[:6]}")
    bob = open_in(browser, web_stack, studio, "bob")
    puts: list[str] = []

    def drop_the_first_put(route: Any) -> None:
        if route.request.method == "PUT":
            puts.append(route.request.url)
            if len(puts) == 1:
                return route.abort("connectionreset")
        return route.continue_()

    bob.context.route(lambda url: "X-Amz-Signature" in url, drop_the_first_put)
    try:
        bob.page.set_input_files("#file-input", files=[{"name": "section A.pdf", "mimeType": "application/pdf",
                                                        "buffer": drawing(pages=1)}])
        row = bob.page.locator("#uploads li.failed")
        wait_in_page(lambda: row.count() == 1, timeout=30, what="the upload to fail", page=bob.page)
        assert row.locator(".status").inner_text().startswith("interrupted:")
        reserved = row.get_attribute("data-doc")
        assert reserved
        row.get_by_role("button", name="Retry uploading section A.pdf").click()
        ready = f'#documents li[data-doc="{reserved}"][data-status=ready]'
        wait_in_page(lambda: bob.page.locator(ready).count() == 1, timeout=120, what="the retried upload's document",
                   page=bob.page)
        assert len(puts) == 2 and bob.page.locator("#uploads li").count() == 0
        assert bob.page.locator("#documents li").count() == 1  # one document, not one per try
    finally:
        bob.context.close()


def test_following_ends_when_the_person_followed_leaves(web_stack: WebStack, browser: Any) -> None:
    """A helper still read "Following alice" after alice had closed her page."""
    studio = create_studio(web_stack, f"Follow {uuid.uuid4().hex[:6]}")
    alice, bob = open_in(browser, web_stack, studio, "alice"), open_in(browser, web_stack, studio, "bob")
    try:
        alice.page.click("#zoom-in")  # a view of her own to follow
        row = bob.page.locator("#people li[data-user=alice] .follow")
        wait_until(lambda: row.count() == 1 and row.is_enabled(), timeout=30, what="alice's view")
        row.click()
        assert bob.page.locator("#following").is_visible()
        alice.context.close()
        # Said on screen where "Following alice" was (a tester saw the bar simply vanish), and read out.
        wait_until(lambda: bob.page.get_attribute("#following", "data-ended") == "true", timeout=60,
                   what="following to end")
        assert bob.page.locator("#following").is_visible()
        assert "alice left: you are no longer following" in bob.page.inner_text("#following")
        assert any("alice left" in line for line in _announced(bob.page))
        bob.page.click("#stop-following")  # OK
        assert bob.page.locator("#following").is_hidden()
    finally:
        bob.context.close()


def test_the_workspace_picker_lists_other_workspaces_as_they_are_when_opened(web_stack: WebStack,
                                                                             browser: Any) -> None:
    """It listed them as they were when the page loaded: a role changed since was shown wrong, a workspace
    joined since was missing, one left since was still offered."""
    here = create_studio(web_stack, f"Picker here {uuid.uuid4().hex[:6]}")
    bob = open_in(browser, web_stack, here, "bob")
    rest, headers = web_stack.stack.rest, {"Authorization": f"Bearer {web_stack.stack.token('alice')}"}
    try:
        other = requests.post(f"{rest}/admin/accounts/acc-demo/workspaces", headers=headers, timeout=15,
                              json={"name": "Picker other", "owner_id": "alice"}).json()["workspace_id"]
        member = f"{rest}/admin/workspaces/{other}/members/bob"

        def listed() -> str | None:
            bob.page.focus("#chat-input")
            bob.page.focus("#workspace-select")  # opening it (keyboard or pointer) reads the list afresh
            option = bob.page.locator(f'#workspace-select option[value="{other}"]')
            return str(option.inner_text()) if option.count() else None

        for role in ("viewer", "editor"):
            assert requests.put(member, headers=headers, json={"role": role}, timeout=15).status_code == 200
            wait_in_page(lambda r=role: listed() == f"Picker other ({r})", page=bob.page, timeout=60,
                         what=f"the other workspace listed with bob as {role}")
        assert requests.delete(member, headers=headers, timeout=15).status_code == 204
        wait_in_page(lambda: listed() is None, page=bob.page, timeout=60, what="the workspace left unlisted")
        assert bob.page.input_value("#workspace-select") == here
        assert bob.page.locator(f'#workspace-select option[value="{here}"]').inner_text().endswith("(editor)")
    finally:
        bob.context.close()
