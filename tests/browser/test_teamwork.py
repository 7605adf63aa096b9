"""The document landscape as a team uses it (issue 15): alice (owner), bob (editor) and vera (viewer), each in a
browser window, in a workspace of their own that starts empty.

In file order, as one session: the empty landscape and what each role sees; uploading (Upload reached by
keyboard), processing shown where each document will appear (as another member sees it too), a damaged file with
its reason and no retry (it would fail the same way); notes and tasks listed, jumped to, edited, resolved,
deleted and moved with their document; and the accessibility audit in each state, at 1280x800 and 1366x768.
Presence, announcements, keyboard order, reloads and a long list follow in test_teamwork_views.py.

Screenshots of each state at both sizes are written to $KALEXO_SCREENSHOTS when it names a folder
(docs/screenshots/ holds the committed ones), else to a temporary folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.conftest import UserPage, WebStack
from tests.browser.frames import HeldManifests, HeldProcessing
from tests.browser.layout import both_sizes, portrait
from tests.browser.team import (
    audit,
    box,
    choose_files_with_the_keyboard,
    count_is,
    create_studio,
    inside,
    move_placement,
    record,
    seen,
    team_of_three,
    wait_until,
    x_is,
)
from tests.browser.test_landscape import drawing
from tests.e2e.documents_samples import letter_pdf

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def studio(web_stack: WebStack) -> str:
    return create_studio(web_stack, "Issue 15 studio")


@pytest.fixture(scope="module")
def team(web_stack: WebStack, browser: Any, studio: str) -> Iterator[dict[str, UserPage]]:
    with team_of_three(browser, web_stack, studio) as opened:
        yield opened


def test_the_empty_landscape(team: dict[str, UserPage], shots: Path) -> None:
    alice, vera = team["alice"], team["vera"]
    alice.page.wait_for_selector("#people li[data-user=vera]")
    assert alice.page.locator("#drop-hint").is_visible()
    assert alice.page.locator(".navigator").count() == 0 or not alice.page.locator(".navigator").is_visible()
    assert alice.page.locator("#upload-button").is_visible() and alice.page.locator("#note-form").is_visible()
    # What a viewer's role allows: no Upload, no note form (a sentence says why), no drop hint.
    assert not vera.page.locator("#upload-button").is_visible()
    assert not vera.page.locator("#note-form button").is_visible()
    assert vera.page.locator("#note-readonly").is_visible() and not vera.page.locator("#drop-hint").is_visible()
    for person in (alice, vera):
        assert audit(person.page) == [], person.user
    both_sizes(alice, shots, "empty")


def test_upload_processing_and_a_failed_file(team: dict[str, UserPage], web_stack: WebStack, studio: str,
                                            shots: Path) -> None:
    alice, bob, vera = team["alice"], team["bob"], team["vera"]
    # bob sees each step of the tower's processing as it comes, however fast the workers are (frames.py).
    bob_sees = HeldProcessing(bob.page, "tower sections.pdf")
    bob.page.reload()
    bob.page.wait_for_selector("#connection[data-state=connected]", timeout=20_000)
    for person in (alice, bob):
        record(person.page)
    held_puts: list[Any] = []
    alice_reads = HeldManifests(alice.page)

    def hold_put(route: Any) -> None:
        held_puts.append(route) if route.request.method == "PUT" else route.fallback()

    def is_source(url: str) -> bool:
        return "/documents/" in url and "/source" in url

    alice.page.route(is_source, hold_put)

    # Upload, reached and pressed with the keyboard.
    chooser = choose_files_with_the_keyboard(alice)
    chooser.set_files([
        {"name": "tower sections.pdf", "mimeType": "application/pdf", "buffer": letter_pdf(pages=3, text="Tower")},
        {"name": "cover.pdf", "mimeType": "application/pdf", "buffer": drawing(1)},
        {"name": "broken.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 not really" + bytes(64)},
    ])
    wait_until(lambda: len(held_puts) == 3, alice.page, "the three PUTs to start")
    assert alice.page.locator("#uploads li").count() == 3
    assert not alice.page.locator("#drop-hint").is_visible(), "'Drop PDFs here' while uploading"
    both_sizes(alice, shots, "uploading", audit_at=(1366, 768))
    for route in held_puts:
        route.fallback()

    # Processing: the analysing card, then a placeholder per page, where the document sits, shaped like the
    # page (portrait letter sheets) before any page is shown.
    tower = alice.page.locator('#documents li:has-text("tower sections.pdf")')
    tower.wait_for(timeout=30_000)
    doc = str(tower.get_attribute("data-doc"))
    alice_reads.focus(doc)
    placeholders = f'.page-placeholder[data-doc="{doc}"]'
    wait_until(lambda: alice.page.locator(placeholders).count() == 3, alice.page, "three placeholders", 60)
    portrait(alice, placeholders)
    wait_until(lambda: alice.page.locator("#uploads li").count() == 0, alice.page, "uploads to become documents")
    both_sizes(alice, shots, "processing")
    assert audit(alice.page) == []
    # What bob sees: the first page's report, before `ready`, has him read the manifest (the job's first
    # `tiling` brought no page, so it had him read nothing): the page shows, and the count it reports (1 or 2
    # pages: two workers tile, and reports are coalesced to one a second).
    bob_sees.answer_read(pages=1)
    label = bob.page.locator(f'.doc-label[data-doc="{doc}"]')
    wait_until(lambda: re.search(r"\b[12] of 3 pages", label.inner_text()) is not None, bob.page, "bob: 1 or 2 of 3")
    wait_until(count_is(bob.page, placeholders, 2), bob.page, "bob: page 1 to replace its placeholder")
    bob_sees.release()
    # alice's first page tiled: the pages still to come keep its shape.
    alice_reads.answer(pages=1)
    wait_until(lambda: alice.page.locator(placeholders).count() == 2, alice.page, "page 1 to replace its placeholder",
               60)
    portrait(alice, placeholders)
    alice_reads.stop()
    ready = '#documents li[data-status=ready]'
    for person in (alice, bob, vera):
        wait_until(count_is(person.page, ready, 2), person.page, "both documents ready", 90)
        person.page.wait_for_selector('#documents li[data-status=failed]', timeout=60_000)
        wait_until(count_is(person.page, ".page-placeholder", 0), person.page, "all pages shown")
    announced = alice.page.locator("#announcer").inner_text()
    assert "tower sections.pdf is ready: 3 pages" in announced
    assert "broken.pdf could not be processed: The file is damaged" in announced, announced

    # The failed file: its reason, where it would have been; no placeholder left. A damaged file fails the same
    # way again, so no one is offered a Retry, and the server refuses one, saying why.
    failed = alice.page.locator('#documents li[data-status=failed]')
    assert "failed: The file is damaged" in failed.inner_text()
    assert "The file is damaged" in alice.page.locator('.doc-card[data-status=failed] .reason').inner_text()
    for person in (alice, bob, vera):
        assert person.page.locator("#documents .retry, .doc-card .retry").count() == 0, person.user
    broken = str(failed.get_attribute("data-doc"))
    refused = requests.post(f"{web_stack.stack.rest}/workspaces/{studio}/documents/{broken}/retry", timeout=15,
                            headers={"Authorization": f"Bearer {web_stack.stack.token('alice')}"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_retryable", refused.text
    assert "would fail the same way again" in refused.json()["error"]["message"]

    for person in (alice, bob):
        what = seen(person.page)
        assert what["doubled"] == [], f"{person.user}: a file listed twice: {what['doubled']}"
        assert what["stale"] == [], f"{person.user}: a failed document kept placeholders: {what['stale']}"
        assert not [t for t in what["texts"] if "1 of 1" in t], what["texts"]
        statuses = {status for name, status in what["statuses"] if name == "tower sections.pdf"}
        assert {"analysing", "ready"} <= statuses, statuses
        assert f"{doc}:analysing" in what["cards"], f"{person.user} saw no Analysing card: {what['cards']}"
    counts = [int(m.group(1)) for t in seen(bob.page)["texts"]
              if (m := re.match(r"tower sections.pdf · (\d) of 3 pages", t))]
    assert counts and counts == sorted(counts), counts  # pages counted before `ready`, never backwards
    alice.page.unroute(is_source, hold_put)
    both_sizes(alice, shots, "ready")
    for person in (alice, bob, vera):
        assert audit(person.page) == [], person.user


def note_row(person: UserPage, text: str) -> Any:
    return person.page.locator("#notes li", has_text=text)


def test_notes_and_tasks_in_the_sidebar(team: dict[str, UserPage], web_stack: WebStack, studio: str,
                                        shots: Path) -> None:
    alice, bob, vera = team["alice"], team["bob"], team["vera"]
    # bob looks at the tower drawing (its list entry flies there) and pins a note at the centre: page 2.
    bob.page.locator('#documents li:has-text("tower sections.pdf") .doc-go').click()
    bob.page.fill("#note-input", "Stair core moved 300 mm")
    bob.page.press("#note-input", "Enter")
    for person in (alice, bob, vera):
        note_row(person, "Stair core moved 300 mm").wait_for()
    assert "tower sections.pdf, page 2" in note_row(alice, "Stair core moved 300 mm").inner_text()
    # alice jumps to it from the list: the note is then in the middle of her view.
    note_row(alice, "Stair core moved 300 mm").locator(".note-go").click()
    card = alice.page.locator('.note:has-text("Stair core moved 300 mm")')
    wait_until(lambda: card.is_visible() and inside(box(alice.page, '.note:has-text("Stair core")'),
                                                     box(alice.page, "#viewer")), alice.page, "the note in view")
    # alice edits it, with the keyboard; bob and vera see the new text.
    note_row(alice, "Stair core moved 300 mm").locator(".edit").click()
    editor = alice.page.locator("#notes li.editing input")
    editor.fill("Stair core moved 450 mm")
    editor.press("Enter")
    for person in (bob, vera):
        note_row(person, "Stair core moved 450 mm").wait_for()
        person.page.locator('.note:has-text("Stair core moved 450 mm")').wait_for(state="attached")
    # A task, done by bob; the note resolved by alice.
    alice.page.select_option("#note-kind", "task")
    alice.page.fill("#note-input", "Send the sections to the engineer")
    alice.page.press("#note-input", "Enter")
    note_row(bob, "Send the sections").locator(".resolve").click()
    wait_until(lambda: note_row(alice, "Send the sections").get_attribute("data-resolved") == "true", alice.page,
               "the task done for alice")
    note_row(alice, "450 mm").locator(".resolve").click()
    wait_until(lambda: note_row(vera, "450 mm").get_attribute("data-resolved") == "true", vera.page, "resolved")
    # Who did what, as the server recorded it: bob wrote the note, alice edited and resolved it; bob did the task.
    assert note_row(vera, "450 mm").locator(".meta").inner_text().startswith(
        "Note, resolved · bob · edited by alice · resolved by alice · ")
    task = note_row(vera, "Send the sections").locator(".meta").inner_text()
    assert task.startswith("Task, done · alice · done by bob")
    # vera reads; she cannot change anything.
    assert vera.page.locator("#notes .edit, #notes .delete, #notes .resolve").count() == 0
    assert vera.page.locator(".note.draggable").count() == 0

    # Pinned to its page: when the document moves, the note moves with it, for everyone.
    doc = str(alice.page.locator('#documents li:has-text("tower sections.pdf")').get_attribute("data-doc"))
    label = alice.page.locator(f'.doc-label[data-doc="{doc}"]')
    x0, y0 = float(label.get_attribute("data-x") or 0), float(label.get_attribute("data-y") or 0)
    before = {p.user: float(p.page.locator('.note:has-text("450 mm")').get_attribute("data-x") or 0)
              for p in (alice, bob)}
    move_placement(web_stack, studio, doc, x0 + 5000, y0)
    for person in (alice, bob):
        wait_until(x_is(person.page, '.note:has-text("450 mm")', before[person.user] + 5000), person.page,
                   f"{person.user}'s note to move with the document")
    move_placement(web_stack, studio, doc, x0, y0)
    wait_until(lambda: float(alice.page.locator('.note:has-text("450 mm")').get_attribute("data-x") or 0)
               == before["alice"], alice.page, "the note back")

    # A third note, then deleted by alice: gone for bob.
    alice.page.select_option("#note-kind", "note")
    alice.page.fill("#note-input", "Temporary remark")
    alice.page.press("#note-input", "Enter")
    note_row(bob, "Temporary remark").wait_for()
    # Delete asks first, in the row: Escape keeps the note (and the focus comes back to Delete), then Delete.
    note_row(alice, "Temporary remark").locator(".delete").click()
    assert alice.page.evaluate("document.activeElement.className") == "cancel"
    alice.page.keyboard.press("Escape")
    assert alice.page.evaluate("document.activeElement.className") == "delete"
    assert note_row(alice, "Temporary remark").locator(".confirm").count() == 0
    assert note_row(bob, "Temporary remark").count() == 1
    note_row(alice, "Temporary remark").locator(".delete").click()
    note_row(alice, "Temporary remark").locator(".confirm").click()
    note_row(bob, "Temporary remark").wait_for(state="detached")
    alice.page.click("#zoom-fit")  # the overview: notes as pins, labels above them
    alice.page.wait_for_selector("#viewer:not([data-animating])", state="attached")
    # The note and the task were pinned on the same spot: the pins fan out, both to be seen and pressed.
    pins = [p.bounding_box() for p in alice.page.locator(".note").all()]
    assert len(pins) == 2 and all(pins)
    assert abs(pins[0]["x"] - pins[1]["x"]) + abs(pins[0]["y"] - pins[1]["y"]) >= 12, pins
    both_sizes(alice, shots, "notes")
    for person in (alice, vera):
        assert audit(person.page) == [], person.user
