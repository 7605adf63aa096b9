"""Ops written and not answered yet outlive their page (web/js/outbox_store.js). A tester closed a tab with a note
still "sending" and lost it; then the page asked before closing, which a crash or a closed laptop skips. Now the
next page of the same person on the same workspace sends them, with their op ids, so each is stored once; signing
out asks first and forgets them; another person on the same browser never sends them."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from websockets.sync.client import connect

from tests.browser.conftest import Team, UserPage, WebStack
from tests.browser.test_landscape import wait_until

pytestmark = pytest.mark.timeout(300)

KEPT = "Object.keys(localStorage).filter((k) => k.startsWith('kalexo.outbox.'))"


def _stored(web_stack: WebStack, studio: str) -> tuple[list[str], list[str]]:
    """The workspace's note texts and chat lines as the server holds them (a fresh join and its history)."""
    with connect(f"{web_stack.stack.ws}/?token={web_stack.stack.token('alice')}") as ws:
        ws.send(json.dumps({"action": "join", "id": "j", "workspace": studio}))
        while (msg := json.loads(ws.recv(timeout=20)))["action"] != "welcome":
            pass
        notes = [i["fields"].get("text", "") for i in msg["state"]["items"] if i["kind"] in ("note", "task")]
        ws.send(json.dumps({"action": "history", "id": "h", "workspace": studio, "after": 0, "limit": 200}))
        while (msg := json.loads(ws.recv(timeout=20)))["action"] != "history":
            pass
        return notes, [op["data"]["text"] for op in msg["ops"] if op["kind"] == "chat"]


def _say(page: Any, text: str) -> None:
    """A chat line sent and stored: any kept op of this page went out before it (the outbox is sent in order)."""
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")
    page.locator("#chat-log li:not(.pending)", has_text=text).wait_for(timeout=60_000)


def _write_offline(person: UserPage, note: str, chat: str) -> None:
    person.context.set_offline(True)
    person.page.wait_for_selector("#banner:not([hidden])")
    person.page.fill("#note-input", note)
    person.page.press("#note-input", "Enter")
    person.page.fill("#chat-input", chat)
    person.page.press("#chat-input", "Enter")
    person.page.locator("#chat-log li.pending", has_text=chat).wait_for(timeout=15_000)
    person.page.locator("#notes li[data-pending=true]", has_text=note).wait_for(timeout=15_000)


def test_a_tab_closed_while_its_changes_were_sending_hands_them_to_the_next_page(web_stack: WebStack,
                                                                                team: Team) -> None:
    studio, (bob, alice) = team("Kept outbox", "bob", "alice")
    dialogs: list[str] = []

    def answer(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    bob.context.on("dialog", answer)
    _write_offline(bob, "Check the parapet height", "Parapet note pinned")
    with bob.page.expect_event("close", timeout=15_000):  # nothing is lost with it: the browser does not ask
        bob.page.close(run_before_unload=True)
    bob.context.set_offline(False)
    again = bob.context.new_page()
    again.goto(f"{web_stack.url}#workspace={studio}")
    for page in (again, alice.page):
        page.locator("#notes li[data-pending=false]", has_text="Check the parapet height").wait_for(timeout=60_000)
        page.locator("#chat-log li:not(.pending)", has_text="Parapet note pinned").wait_for(timeout=60_000)
    wait_until(lambda: again.evaluate(KEPT) == [], page=again, what="the kept outbox emptied once stored")
    # A third page adopts nothing more, and the server holds each op once.
    third = bob.context.new_page()
    third.goto(f"{web_stack.url}#workspace={studio}")
    third.wait_for_selector("#connection[data-state=connected]", timeout=20_000)
    _say(third, "Third page here")
    assert third.evaluate(KEPT) == []
    notes, chats = _stored(web_stack, studio)
    assert notes.count("Check the parapet height") == 1 and chats.count("Parapet note pinned") == 1, (notes, chats)
    assert dialogs == []


def test_signing_out_with_changes_still_sending_asks_and_then_forgets_them(web_stack: WebStack,
                                                                         team: Team) -> None:
    studio, (bob,) = team("Sign out", "bob")
    answers = ["dismiss", "accept"]
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        getattr(dialog, answers.pop(0))()

    other = bob.context.new_page()  # a second tab: the sign-out there asks about this one's changes too
    other.goto(f"{web_stack.url}#workspace={studio}")
    other.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
    other.on("dialog", answer)
    _write_offline(bob, "Never to be sent", "Nor this")
    other.click("#signout")
    wait_until(lambda: len(asked) == 1, page=other, what="the page to ask")
    assert "2 changes have not reached the server yet" in asked[0]
    assert other.locator("#app").is_visible() and len(other.evaluate(KEPT)) == 1  # kept: still signed in
    other.click("#signout")  # offline: the sign-in is shown in place (a reload would show the browser's error)
    other.wait_for_selector("#signin:not([hidden])", timeout=30_000)
    assert other.evaluate(KEPT) == []
    assert other.locator("#dev-users").is_hidden()  # the local users' list needs the network
    bob.context.set_offline(False)
    # Back online, the sign-in offers them without a reload (an outside tester had to reload), each once.
    other.wait_for_selector("#dev-users:not([hidden]) #dev-user-buttons button[data-user=bob]", timeout=30_000)
    assert other.locator("#dev-user-buttons button[data-user=bob]").count() == 1
    other.goto(web_stack.url)
    other.wait_for_selector("#signin:not([hidden])", timeout=30_000)
    other.close()
    bob.page.goto(web_stack.url)
    bob.page.click("#dev-user-buttons button[data-user=bob]")
    bob.page.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
    bob.page.evaluate(f"location.hash = 'workspace={studio}'; location.reload()")
    bob.page.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
    _say(bob.page, "Back again")
    notes, chats = _stored(web_stack, studio)
    assert "Never to be sent" not in notes and "Nor this" not in chats


def test_another_person_on_the_same_browser_does_not_send_them(web_stack: WebStack, team: Team) -> None:
    studio, (bob,) = team("Shared browser", "bob")
    _write_offline(bob, "Bob's unsent note", "Bob's unsent line")
    token = web_stack.stack.token("alice")  # the token changes in place (no sign-out, so nothing is forgotten)
    bob.page.evaluate(f"localStorage.setItem('kalexo.token', {json.dumps(token)})")
    bob.context.set_offline(False)
    bob.page.reload()
    bob.page.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
    assert bob.page.inner_text("#me").startswith("Alice")
    _say(bob.page, "Alice here")
    assert len(bob.page.evaluate(KEPT)) == 1  # still bob's, for bob's next page
    notes, chats = _stored(web_stack, studio)
    assert "Bob's unsent note" not in notes and "Bob's unsent line" not in chats
    # alice signs out (she has nothing unsent: no question): bob's stay, and his next sign-in sends them.
    bob.page.click("#signout")
    bob.page.wait_for_selector("#signin:not([hidden])", timeout=30_000)
    assert len(bob.page.evaluate(KEPT)) == 1
    bob.page.click("#dev-user-buttons button[data-user=bob]")
    bob.page.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
    bob.page.evaluate(f"location.hash = 'workspace={studio}'; location.reload()")
    bob.page.locator("#chat-log li:not(.pending)", has_text="Bob's unsent line").wait_for(timeout=60_000)
    notes, chats = _stored(web_stack, studio)
    assert notes.count("Bob's unsent note") == 1 and chats.count("Bob's unsent line") == 1, (notes, chats)


def test_a_crashed_tabs_record_is_taken_over_and_an_open_tabs_is_not(web_stack: WebStack, team: Team) -> None:
    """A crash leaves no 'closed' mark: its record is taken over once it has not been stamped for 30 s, by a page
    opened then or by one open already (a tester's page opened just after a browser was killed never sent them); a
    record stamped a moment ago is another open tab's, which sends its own."""
    studio, (bob,) = team("Crashed tab", "bob")

    keep = """([workspace, name, text, ago]) => localStorage.setItem(
        `kalexo.outbox.${encodeURIComponent(workspace)}.bob.${name}`,
        JSON.stringify({ user: "bob", at: Date.now() - ago, made: 1, closed: false,
                         entries: [{ opId: `kept-${name}`, body: { action: "chat", text, workspace } }] }))"""
    bob.page.evaluate(keep, [studio, "crashed", "Crashed tab's line", 60_000])
    bob.page.evaluate(keep, [studio, "open", "Open tab's line", 0])
    bob.page.reload()
    bob.page.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
    _say(bob.page, "After the reload")
    notes, chats = _stored(web_stack, studio)
    assert chats.count("Crashed tab's line") == 1 and "Open tab's line" not in chats, chats
    assert len(bob.page.evaluate(KEPT)) == 1  # the open tab's, left to it
    bob.page.evaluate(keep, [studio, "later", "Found by the open page", 60_000])  # no reload
    bob.page.locator("#chat-log li:not(.pending)", has_text="Found by the open page").wait_for(timeout=30_000)
    notes, chats = _stored(web_stack, studio)
    assert chats.count("Found by the open page") == 1, chats


def test_a_member_removed_with_changes_waiting_gets_their_text_to_copy(web_stack: WebStack, team: Team) -> None:
    """A tester's removed member saw a note "sending" for ever, its text gone (a demoted one gets it to copy)."""
    studio, (bob,) = team("Removed with changes", "bob")
    _write_offline(bob, "Swap the door hardware", "Leaving a line")
    member = f"{web_stack.stack.rest}/admin/workspaces/{studio}/members/bob"
    removed = requests.delete(member, headers={"Authorization": f"Bearer {web_stack.stack.token('alice')}"},
                              timeout=15)
    assert removed.status_code == 204, removed.text
    bob.context.set_offline(False)
    for text in ("Swap the door hardware", "Leaving a line"):
        kept = bob.page.locator("#errors li[data-kept=true]", has_text=text)
        kept.wait_for(timeout=60_000)
        assert "no longer a member" in kept.inner_text()
    assert bob.page.locator("#notes li[data-pending=true], #chat-log li.pending").count() == 0
    assert bob.page.evaluate(KEPT) == []  # never to be sent by a later page


def test_an_expired_sign_in_cleared_by_another_tab_keeps_the_changes(web_stack: WebStack, team: Team) -> None:
    """A tester's open tab lost its unsent changes when another tab found the sign-in expired and cleared it (as
    every page does with an expired token): that was taken for a sign-out. Signing in again sends them."""
    studio, (bob,) = team("Expired elsewhere", "bob")
    other = bob.context.new_page()
    other.goto(f"{web_stack.url}#workspace={studio}")
    other.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
    _write_offline(bob, "Written before the expiry", "So was this")
    other.evaluate("localStorage.removeItem('kalexo.token')")  # what a page finding it expired does
    bob.page.wait_for_selector("#signin:not([hidden])", timeout=30_000)  # the first tab follows, offline
    assert len(bob.page.evaluate(KEPT)) == 1
    bob.context.set_offline(False)
    other.reload()
    other.click("#dev-user-buttons button[data-user=bob]")
    other.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
    other.locator("#chat-log li:not(.pending)", has_text="So was this").wait_for(timeout=60_000)
    notes, chats = _stored(web_stack, studio)
    assert notes.count("Written before the expiry") == 1 and chats.count("So was this") == 1, (notes, chats)


def test_changes_kept_for_a_workspace_left_meanwhile_are_shown_to_copy(web_stack: WebStack, team: Team) -> None:
    """A tester's removed member closed the tab first: the texts stayed hidden in the browser, and were posted when
    he was added back, long after. Now the next sign-in shows them to copy and forgets them."""
    studio, (bob,) = team("Left meanwhile", "bob")
    _write_offline(bob, "Gone with the workspace", "A line for nobody")
    with bob.page.expect_event("close", timeout=15_000):
        bob.page.close(run_before_unload=True)
    member = f"{web_stack.stack.rest}/admin/workspaces/{studio}/members/bob"
    headers = {"Authorization": f"Bearer {web_stack.stack.token('alice')}"}
    assert requests.delete(member, headers=headers, timeout=15).status_code == 204
    bob.context.set_offline(False)
    again = bob.context.new_page()
    again.goto(web_stack.url)
    for text in ("Gone with the workspace", "A line for nobody"):
        again.locator("#errors li[data-kept=true]", has_text=text).wait_for(timeout=30_000)
    assert again.evaluate(KEPT) == []
    assert requests.put(member, headers=headers, json={"role": "editor"}, timeout=15).status_code == 200
    again.goto(f"{web_stack.url}#workspace={studio}")
    again.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
    _say(again, "Back in")
    notes, chats = _stored(web_stack, studio)
    assert "Gone with the workspace" not in notes and "A line for nobody" not in chats
