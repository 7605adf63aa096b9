"""What a helper typed and then lost, or saw replaced without a word, in the web client: two Saves of one note
a moment apart (the later replaced the earlier silently), an edit saved offline whose note was deleted
meanwhile, an editor open, or a note sent offline, when its member was made a viewer, a tab closed with an
edit open, and texts cut at a field's `maxlength`. Each now keeps the text and says why in words."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.browser.conftest import Team, UserPage, WebStack
from tests.browser.test_landscape import wait_until as wait_in_page

pytestmark = pytest.mark.timeout(300)


def _pin(person: UserPage, text: str, kind: str = "note") -> Any:
    person.page.select_option("#note-kind", kind)
    person.page.fill("#note-input", text)
    person.page.press("#note-input", "Enter")
    row = person.page.locator("#notes li", has_text=text)
    row.wait_for(timeout=15_000)
    wait_until(lambda: row.get_attribute("data-pending") == "false", timeout=30, what=f"{text!r} stored")
    return row


def wait_until(check: Any, timeout: float = 30.0, what: str = "condition", page: Any = None) -> None:
    """Waits in Playwright (its event handlers, a dialog's too, run only while it waits)."""
    wait_in_page(check, timeout=timeout, what=what, page=page)


def _edit_offline(person: UserPage, note: str, text: str) -> None:
    """Opens the note's editor, goes offline, and saves `text`: the op waits in the outbox."""
    person.page.locator("#notes li", has_text=note).locator(".edit").click()
    person.context.set_offline(True)
    person.page.wait_for_selector("#banner:not([hidden])")
    person.page.fill("#notes li.editing input", text)
    person.page.press("#notes li.editing input", "Enter")


def _errors(person: UserPage) -> str:
    return str(person.page.inner_text("#errors"))


def _role(web_stack: WebStack, studio: str, user: str, role: str) -> None:
    member = f"{web_stack.stack.rest}/admin/workspaces/{studio}/members/{user}"
    answer = requests.put(member, headers={"Authorization": f"Bearer {web_stack.stack.token('alice')}"},
                          json={"role": role}, timeout=15)
    assert answer.status_code == 200, answer.text


def _stored_text(web_stack: WebStack, studio: str, item_id: str) -> str | None:
    """The note's text as the server's state has it (a fresh join), or None if it is not live."""
    from websockets.sync.client import connect

    with connect(f"{web_stack.stack.ws}/?token={web_stack.stack.token('alice')}") as ws:
        ws.send(json.dumps({"action": "join", "id": "j", "workspace": studio}))
        while (msg := json.loads(ws.recv(timeout=20)))["action"] != "welcome":
            pass
        items = {i["item_id"]: i for i in msg["state"]["items"]}
        return items[item_id]["fields"]["text"] if item_id in items else None


def test_a_save_made_from_an_older_version_is_refused_and_its_text_kept(web_stack: WebStack, team: Team) -> None:
    studio, (alice, bob) = team("Conflicts", "alice", "bob")
    row = _pin(alice, "Door 4 swings out")
    item_id = str(row.get_attribute("data-item"))
    # bob saves while his page cannot hear alice's save: both were made from the same version.
    _edit_offline(bob, "Door 4 swings out", "Door 4 swings in, per fire officer")
    alice.page.locator("#notes li", has_text="Door 4 swings out").locator(".edit").click()
    alice.page.fill("#notes li.editing input", "Door 4 swings out, widened to 1000")
    alice.page.press("#notes li.editing input", "Enter")
    alice.page.locator("#notes li", has_text="widened to 1000").wait_for(timeout=15_000)
    bob.context.set_offline(False)
    # bob's save is refused, not laid over alice's: his editor is back with his text and hers beside it.
    conflict = bob.page.locator(f'#notes li.editing[data-item="{item_id}"] .conflict')
    conflict.wait_for(timeout=60_000)
    assert "widened to 1000" in conflict.inner_text()
    assert bob.page.input_value("#notes li.editing input") == "Door 4 swings in, per fire officer"
    assert "someone else changed it meanwhile" in _errors(bob) and "conflict:" not in _errors(bob)
    assert _stored_text(web_stack, studio, item_id) == "Door 4 swings out, widened to 1000"
    # Having seen alice's text, bob saves his: now it is stored.
    bob.page.press("#notes li.editing input", "Enter")
    alice.page.locator("#notes li", has_text="per fire officer").wait_for(timeout=30_000)
    assert _stored_text(web_stack, studio, item_id) == "Door 4 swings in, per fire officer"


def test_an_offline_edit_of_a_note_deleted_meanwhile_comes_back_to_the_new_note_field(web_stack: WebStack,
                                                                                      team: Team) -> None:
    studio, (alice, bob) = team("Deleted", "alice", "bob")
    _pin(alice, "Check the gutter falls", kind="task")
    _edit_offline(bob, "Check the gutter falls", "Check the gutter falls: 1 in 100 minimum")
    alice.page.locator("#notes li", has_text="Check the gutter falls").locator(".delete").click()
    alice.page.locator("#notes li", has_text="Check the gutter falls").locator(".confirm").click()
    wait_until(lambda: alice.page.locator("#notes li").count() == 0, timeout=15, what="alice's delete")
    bob.page.select_option("#note-kind", "note")  # the kind last chosen is not the deleted item's
    bob.context.set_offline(False)
    wait_until(lambda: bob.page.input_value("#note-input") == "Check the gutter falls: 1 in 100 minimum",
               timeout=60, what="bob's text back in the new note field")
    assert bob.page.input_value("#note-kind") == "task"
    assert "it was deleted meanwhile" in _errors(bob) and "item_not_found" not in _errors(bob)


def test_a_member_made_a_viewer_keeps_what_they_were_writing(web_stack: WebStack, team: Team) -> None:
    studio, (bob,) = team("Demoted", "bob")
    _pin(bob, "Lintel over W3")
    bob.page.locator("#notes li", has_text="Lintel over W3").locator(".edit").click()
    bob.page.fill("#notes li.editing input", "Lintel over W3: steel, not timber")
    _role(web_stack, studio, "bob", "viewer")
    wait_until(lambda: bob.page.locator("#notes li.editing").count() == 0, timeout=60, what="the editor closed")
    kept = bob.page.locator("#errors li[data-kept=true]")
    assert "Lintel over W3: steel, not timber" in kept.inner_text() and "view this workspace" in kept.inner_text()
    assert "(viewer)" in bob.page.locator("#workspace-select option:checked").inner_text()

    _role(web_stack, studio, "bob", "editor")
    wait_until(lambda: bob.page.locator("#note-form").is_visible(), timeout=60, what="the note form back")
    assert kept.count() == 1  # text to copy stays until bob dismisses it
    bob.context.set_offline(True)
    bob.page.wait_for_selector("#banner:not([hidden])")
    bob.page.fill("#note-input", "Ask about the sill height")
    bob.page.press("#note-input", "Enter")
    _role(web_stack, studio, "bob", "viewer")
    bob.context.set_offline(False)
    wait_until(lambda: "Ask about the sill height" in _errors(bob), timeout=90, what="the offline note's text")
    assert "role_too_low" not in _errors(bob)


def test_a_save_made_before_the_page_knows_of_a_demotion_keeps_its_text(web_stack: WebStack, team: Team) -> None:
    """Saved within a second of being made a viewer (before the next heartbeat tells the page), the text went to
    the note field, which then hid; and text typed in that field hid with it."""
    studio, (bob,) = team("Quick save", "bob")
    _pin(bob, "Roof drainage")
    bob.page.locator("#notes li", has_text="Roof drainage").locator(".edit").click()
    bob.page.fill("#notes li.editing input", "Roof drainage: add an overflow")
    _role(web_stack, studio, "bob", "viewer")
    bob.page.press("#notes li.editing input", "Enter")  # the page still thinks bob is an editor
    kept = bob.page.locator("#errors li[data-kept=true]", has_text="Roof drainage: add an overflow")
    kept.wait_for(timeout=60_000)
    assert bob.page.input_value("#note-input") == ""
    _role(web_stack, studio, "bob", "editor")
    wait_until(lambda: bob.page.locator("#note-form").is_visible(), timeout=60, what="the note form back")
    bob.page.fill("#note-input", "Typed, not pinned")
    _role(web_stack, studio, "bob", "viewer")
    bob.page.locator("#errors li[data-kept=true]", has_text="Typed, not pinned").wait_for(timeout=60_000)


def test_closing_a_page_with_an_open_changed_edit_asks_first(web_stack: WebStack, team: Team) -> None:
    """(A note still sending no longer asks: it is kept for the next page, tests/browser/test_kept_outbox.py.)"""
    studio, (bob,) = team("Unsent", "bob")
    dialogs: list[str] = []
    def answer(dialog: Any) -> None:
        dialogs.append(dialog.type)
        dialog.dismiss()

    bob.page.on("dialog", answer)
    row = _pin(bob, "Not edited yet")
    row.locator(".edit").click()
    bob.page.fill("#notes li.editing input", "Not edited yet, edited")
    bob.page.close(run_before_unload=True)
    wait_until(lambda: dialogs == ["beforeunload"], timeout=15, what="the browser to ask", page=bob.page)
    assert not bob.page.is_closed()  # dismissed: the page and its edit stay
    assert bob.page.input_value("#notes li.editing input") == "Not edited yet, edited"


def test_text_over_a_limit_is_refused_in_words_and_kept_in_its_field(web_stack: WebStack, team: Team) -> None:
    studio, (bob,) = team("Limits", "bob")
    emoji = "\U0001f3d7" * 2500  # 2,500 characters, 5,000 in JavaScript's count: within the chat's 4,000
    bob.page.fill("#chat-input", emoji)
    bob.page.press("#chat-input", "Enter")
    wait_until(lambda: bob.page.locator("#chat-log li:not(.pending)").count() == 1, timeout=30, what="stored")
    assert bob.page.locator("#chat-log li .text").inner_text() == emoji  # whole, not cut at 4,000 units
    long = "x" * 4001
    bob.page.fill("#chat-input", long)
    bob.page.press("#chat-input", "Enter")
    assert "at most 4,000 characters; this one has 4,001" in _errors(bob)
    assert bob.page.input_value("#chat-input") == long
    note = "A long specification note. " * 20  # 540 characters: the field cut it at 200
    bob.page.fill("#note-input", note)
    bob.page.press("#note-input", "Enter")
    bob.page.locator("#notes li", has_text=note.strip()[-40:]).wait_for(timeout=15_000)
