"""The document landscape as a team uses it (issue 15): alice (owner), bob (editor) and vera (viewer), each in a
browser window, in a workspace of their own that starts empty.

In file order, as one session: the empty landscape; uploading (Upload reached by keyboard), processing shown
where each document will appear (as another member sees it too), a damaged file with its reason and no retry
(it would fail the same way); notes and tasks
listed, jumped to, edited, resolved, deleted and moved with their document; presence (who looks where, go to,
follow); what each role sees; sign-in per browser and the view across reloads; keyboard order and labels; the
layout at 1280x800 and 1366x768 with a long document list; and the accessibility audit in each state.

Screenshots of each state at both sizes are written to $KALEXO_SCREENSHOTS when it names a folder
(docs/screenshots/ holds the committed ones), else to a temporary folder.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.conftest import UserPage, WebStack
from tests.browser.frames import HeldManifests, HeldProcessing
from tests.browser.layout import SIZES, both_sizes, edge_marker_points_at, portrait
from tests.browser.team import (
    audit,
    box,
    choose_files_with_the_keyboard,
    count_is,
    create_studio,
    inside,
    move_placement,
    on_screen,
    open_in,
    record,
    seen,
    settle,
    view_of,
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
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("KALEXO_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def team(web_stack: WebStack, browser: Any, studio: str) -> Iterator[dict[str, UserPage]]:
    opened: dict[str, UserPage] = {}
    try:
        for user in ("alice", "bob", "vera"):
            opened[user] = open_in(browser, web_stack, studio, user)
        yield opened
    finally:
        for person in opened.values():
            person.context.close()


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


def test_presence_go_to_and_follow(team: dict[str, UserPage], shots: Path) -> None:
    alice, bob, vera = team["alice"], team["bob"], team["vera"]
    # vera sees what alice sees, in a window of another shape (1280x800 to alice's 1366x768): her box is neither
    # a frame round alice's canvas nor two lines down it; her name says so, in view.
    alice.page.set_viewport_size({"width": 1366, "height": 768})
    for person in (alice, vera):
        person.page.click("#zoom-fit")
    mark = alice.page.locator(".viewport-name[data-user=vera]")
    wait_until(lambda: mark.get_attribute("data-where") == "encloses" and "same view as you" in mark.inner_text(),
               alice.page, "vera's view as the same as alice's")
    assert "encloses" in str(alice.page.locator(".viewport[data-user=vera]").get_attribute("class"))
    assert alice.page.locator(".viewport[data-user=vera]").evaluate(
        "b => getComputedStyle(b).borderLeftColor") == "rgba(0, 0, 0, 0)", "vera's view drawn as lines"
    assert inside(box(alice.page, ".viewport-name[data-user=vera]"), box(alice.page, "#viewer"))
    alice.page.set_viewport_size({"width": 1280, "height": 800})
    # bob zooms into the tower's second page; alice reads where he is and goes there.
    bob.page.locator('#documents li:has-text("tower sections.pdf") .doc-go').click()
    for _ in range(3):
        bob.page.click("#zoom-in")
    row = alice.page.locator("#people li[data-user=bob]")
    wait_until(lambda: "tower sections.pdf, page 2" in row.inner_text(), alice.page, "bob's view described")
    assert inside(box(alice.page, ".viewport-name[data-user=bob]"), box(alice.page, "#viewer"))
    both_sizes(alice, shots, "presence")
    row.locator(".go").click()
    target = view_of(bob.page)
    wait_until(lambda: abs(view_of(alice.page)["x"] + view_of(alice.page)["w"] / 2 - target["x"] - target["w"] / 2)
               < target["w"] * 0.1, alice.page, "alice at bob's view")
    # Following: bob moves, alice's view goes with him, until she moves herself.
    row.locator(".follow").click()
    assert row.locator(".follow").get_attribute("aria-pressed") == "true"
    bob.page.locator('#documents li:has-text("cover.pdf") .doc-go').click()
    wait_until(lambda: "cover.pdf" in row.inner_text(), alice.page, "bob at the cover")
    cover = view_of(bob.page)
    wait_until(lambda: abs(view_of(alice.page)["y"] - cover["y"]) < cover["h"] * 0.2, alice.page, "alice follows")
    alice.page.click("#zoom-out")
    assert row.locator(".follow").get_attribute("aria-pressed") == "false"
    assert alice.page.locator("#following").is_hidden()
    assert audit(alice.page) == []
    # alice close up on the tower, bob at the cover: his box is off her screen, so his name waits at the edge
    # of her canvas nearest to it, with an arrow pointing there.
    alice.page.locator('#documents li:has-text("tower sections.pdf") .doc-go').click()
    settle(alice.page)  # zooming in mid-flight would zoom round wherever the flight had got to
    bob_name = alice.page.locator(".viewport-name[data-user=bob]")
    for _ in range(8):  # closer, until bob's box is off her screen (how close depends on the landscape's layout)
        alice.page.click("#zoom-in")
        settle(alice.page)
        if bob_name.get_attribute("data-where") == "edge":
            break
    where = alice.page.locator(".viewport[data-user=bob]").evaluate("b => ({...b.dataset})")
    assert bob_name.get_attribute("data-where") == "edge", (bob_name.inner_text(), where, view_of(alice.page))
    edge_marker_points_at(alice, "bob")


def test_chat_and_documents_are_announced(team: dict[str, UserPage]) -> None:
    alice, bob = team["alice"], team["bob"]
    bob.page.fill("#chat-input", "Sections are up")
    bob.page.press("#chat-input", "Enter")
    alice.page.wait_for_selector('#announcer:has-text("bob says: Sections are up")')
    assert alice.page.locator("#announcer").get_attribute("aria-live") == "polite"


def test_keyboard_order_follows_the_layout(team: dict[str, UserPage]) -> None:
    page = team["bob"].page
    page.locator("#workspace-select").focus()
    order: list[str] = []
    for _ in range(60):
        page.keyboard.press("Tab")
        order.append(page.evaluate("""() => { const e = document.activeElement;
            return e.id || e.getAttribute('aria-label') || e.className || e.tagName; }"""))
    landmarks = ["signout", "zoom-in", "zoom-out", "zoom-fit", "upload-button", "note-kind", "note-input",
                 "chat-log", "chat-input"]
    positions = [order.index(name) for name in landmarks]
    assert positions == sorted(positions), order
    canvas = next(i for i, name in enumerate(order) if "document landscape" in name.lower())
    documents = next(i for i, name in enumerate(order) if "Show on the landscape" in name and ".pdf" in name)
    assert order.index("zoom-fit") < canvas < order.index("upload-button") < documents < order.index("note-kind")
    # Keys work where focus is: Enter on a document flies there; + zooms in.
    before = view_of(page)["w"]
    page.locator("#zoom-in").focus()
    page.keyboard.press("Enter")
    wait_until(lambda: view_of(page)["w"] < before * 0.9, page, "zoom in from the keyboard")


def test_sign_in_is_per_browser_and_the_view_survives_a_reload(team: dict[str, UserPage], web_stack: WebStack,
                                                               browser: Any, studio: str) -> None:
    bob = team["bob"]
    for _ in range(2):
        bob.page.click("#zoom-in")
    wait_until(lambda: bob.page.evaluate(f"localStorage.getItem('kalexo.view.{studio}.bob')") is not None,
               bob.page, "the view kept")

    def latest_kept() -> bool:
        kept = bob.page.evaluate(f"JSON.parse(localStorage.getItem('kalexo.view.{studio}.bob'))")
        now = view_of(bob.page)
        return all(abs(kept[k] - now[k]) < 2 for k in "xywh")

    wait_until(latest_kept, bob.page, "the latest view kept")
    kept = view_of(bob.page)
    # Another tab of the same browser: signed in already.
    second = bob.context.new_page()
    second.goto(f"{web_stack.url}#workspace={studio}")
    second.wait_for_selector("#connection[data-state=connected]", timeout=20_000)
    assert second.locator("#signin").is_hidden()
    second.close()
    bob.page.reload()
    bob.page.wait_for_selector("#connection[data-state=connected]", timeout=20_000)
    now = view_of(bob.page)
    centre = (now["x"] + now["w"] / 2, now["y"] + now["h"] / 2)
    assert abs(centre[0] - kept["x"] - kept["w"] / 2) < kept["w"] * 0.05, (now, kept)
    assert abs(centre[1] - kept["y"] - kept["h"] / 2) < kept["h"] * 0.05, (now, kept)
    # A kept token that has expired: the sign-in page says so, and the token is forgotten.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.add_init_script(f"localStorage.setItem('kalexo.token', {web_stack.stack.token('bob', ttl=-60)!r})")
        page.goto(web_stack.url)
        page.wait_for_selector("#signin-error:has-text('expired')")
        assert audit(page) == []
    finally:
        context.close()


def test_a_long_document_list_scrolls_on_its_own(team: dict[str, UserPage], web_stack: WebStack, studio: str,
                                                  shots: Path) -> None:
    alice, vera = team["alice"], team["vera"]
    headers = {"Authorization": f"Bearer {web_stack.stack.token('bob')}"}
    body = letter_pdf(pages=1, text="Sheet")
    for n in range(12):
        grant = requests.post(f"{web_stack.stack.rest}/workspaces/{studio}/uploads", headers=headers, timeout=15,
                              json={"filename": f"sheet {n:02d}.pdf", "size": len(body),
                                    "content_type": "application/pdf"}).json()
        assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
    wait_until(lambda: alice.page.locator("#documents li").count() >= 15, alice.page, "15 documents listed", 180)
    # vera tries to drop a file: refused in the page, and the error is in view.
    vera.page.evaluate("""() => { const t = new DataTransfer();
        t.items.add(new File(['x'], 'mine.pdf', {type: 'application/pdf'}));
        document.getElementById('viewer').dispatchEvent(new DragEvent('drop', {dataTransfer: t, bubbles: true})); }""")
    vera.page.wait_for_selector("#errors li:has-text('Viewers cannot add documents')")
    shown_at = time.monotonic()
    for width, height in SIZES:  # in view at once, at either size, with the list as long as it is
        vera.page.set_viewport_size({"width": width, "height": height})
        assert on_screen(vera.page, "#errors li"), f"the error is cut off at {width}x{height}"
    # alice adds one more while the list is long: the file on its way is in view (both_sizes checks each upload).
    held: list[Any] = []

    def is_source(url: str) -> bool:
        return "/source" in url

    def hold(route: Any) -> None:
        held.append(route) if route.request.method == "PUT" else route.fallback()

    alice.page.route(is_source, hold)
    alice.page.set_input_files("#file-input", files=[{"name": "sheet 12.pdf", "mimeType": "application/pdf",
                                                      "buffer": body}])
    wait_until(lambda: len(held) == 1, alice.page, "the upload to start")
    alice.page.locator('#documents li:has-text("sheet 00.pdf") .doc-go').click()
    for person in (alice, vera):
        page = person.page
        assert page.evaluate("(() => { const l = document.getElementById('documents');"
                             " return l.scrollHeight > l.clientHeight; })()"), "the document list does not scroll"
        assert page.locator("#uploads li").count() == (person is alice)
        both_sizes(person, shots, f"long-list-{person.user}")
    held[0].fallback()
    alice.page.unroute(is_source, hold)
    # An error stays until it is dismissed (no timer takes it away before it is read).
    vera.page.wait_for_timeout(max(0.0, 16 - (time.monotonic() - shown_at)) * 1000)
    error = vera.page.locator("#errors li:has-text('Viewers cannot add documents')")
    assert error.is_visible()
    error.get_by_role("button", name="Dismiss").click()
    assert error.count() == 0
    wait_until(lambda: alice.page.locator("#documents li").count() >= 16, alice.page, "the 16th document")


def test_no_errors_in_any_console(team: dict[str, UserPage]) -> None:
    for person in team.values():
        assert [e for e in person.errors if "status of 4" not in e] == [], f"{person.user}: {person.errors}"


def test_sign_in_page_passes_the_audit(web_stack: WebStack, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(web_stack.url)
        page.wait_for_selector("#dev-user-buttons button")
        assert audit(page) == []
    finally:
        context.close()
