"""The document landscape as a team looks round it (issue 15), after test_teamwork.py's session: alice (owner),
bob (editor) and vera (viewer), each in a browser window, in a workspace of their own where bob has put a
3-page drawing and a cover sheet.

In file order, as one session: presence (who looks where, go to, follow); chat and documents announced; keyboard
order and labels; sign-in per browser and the view across reloads; the layout at 1280x800 and 1366x768 with a
long document list, and panels folded away to give the chat room; no console errors; the sign-in page's
accessibility audit. Screenshots go where the `shots` fixture (tests/browser/conftest.py) says.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.conftest import UserPage, WebStack
from tests.browser.layout import SIZES, both_sizes, edge_marker_points_at
from tests.browser.team import (
    audit,
    box,
    create_studio,
    inside,
    on_screen,
    settle,
    team_of_three,
    upload,
    view_of,
    wait_until,
)
from tests.browser.test_landscape import drawing
from tests.e2e.documents_samples import letter_pdf

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def studio(web_stack: WebStack) -> str:
    made = create_studio(web_stack, "Issue 15 studio, views")
    upload(web_stack, "bob", "tower sections.pdf", letter_pdf(pages=3, text="Tower"), made)
    upload(web_stack, "bob", "cover.pdf", drawing(1), made)
    return made


@pytest.fixture(scope="module")
def team(web_stack: WebStack, browser: Any, studio: str) -> Iterator[dict[str, UserPage]]:
    with team_of_three(browser, web_stack, studio, ready=2) as opened:  # as test_teamwork.py left them
        yield opened


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
    # Fitted to the landscape, she looks at both documents, not at the one that happens to be in the middle.
    wait_until(lambda: "looking at 2 documents" in alice.page.locator("#people li[data-user=vera]").inner_text(),
               alice.page, "vera's fitted view described")
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
    wait_until(lambda: alice.page.locator("#documents li").count() >= 14, alice.page, "14 documents listed", 180)
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
    wait_until(lambda: alice.page.locator("#documents li").count() >= 15, alice.page, "the 15th document")


def test_offline_with_errors_at_1366x768_the_page_does_not_scroll(team: dict[str, UserPage]) -> None:
    """A tester offline at 1366x768: the banner pushed the page past the window, an error's text to copy was cut
    off at the bottom, and a Dismiss button was drawn over a panel's title."""
    bob = team["bob"]  # an editor: the note form and the documents' buttons take room too
    bob.page.set_viewport_size({"width": 1366, "height": 768})
    logged = len(bob.errors)
    bob.context.set_offline(True)
    try:
        bob.page.wait_for_selector("#banner:not([hidden])", timeout=30_000)
        bob.page.evaluate("""async () => { const { showError } = await import('./js/dom.js');
            for (const n of [1, 2, 3]) showError(`Not sent: you can only view this workspace now. Your text, to copy:
                "Door D2.${n} moved 300 mm east to clear the riser; check the frame detail on A-501 with the
                 contractor before Friday"`, { kept: true }); }""")
        assert bob.page.evaluate("document.scrollingElement.scrollHeight <= innerHeight + 1"), "the page scrolls"
        assert on_screen(bob.page, "#errors li:last-child"), "the newest error is cut off"
        errors, notes = box(bob.page, "#errors"), box(bob.page, "#notes-title")
        assert errors["y"] >= notes["y"] + notes["height"] - 0.5, "an error over a panel's title"
    finally:
        bob.context.set_offline(False)
        while bob.page.locator("#errors li").count():
            bob.page.locator("#errors li").first.get_by_role("button", name="Dismiss").click()
        # What the browser logs of requests made while offline (a tile the resize asked for) is this test's own.
        bob.errors[logged:] = [e for e in bob.errors[logged:]
                               if "ERR_INTERNET_DISCONNECTED" not in e and "failed to load" not in e]


def test_panels_fold_away_to_give_the_chat_room(team: dict[str, UserPage], shots: Path) -> None:
    """At 1280x800 the long list left the chat three lines: a panel's title folds it away, for this browser."""
    page = team["alice"].page
    page.set_viewport_size({"width": 1280, "height": 800})
    toggle = page.locator("#documents-title .fold")
    assert toggle.get_attribute("aria-expanded") == "true" and page.locator("#documents").is_visible()
    before = box(page, "#chat-log")["height"]
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.locator("#documents").is_hidden() and "(15)" in toggle.inner_text()  # the count stays in view
    wait_until(lambda: box(page, "#chat-log")["height"] > before + 150, page, "the chat to take the list's room")
    page.screenshot(path=str(shots / "folded-documents-1280x800.png"))
    page.reload()
    page.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
    assert toggle.get_attribute("aria-expanded") == "false" and page.locator("#documents").is_hidden()
    assert audit(page, ".side") == []
    toggle.focus()
    page.keyboard.press("Enter")  # a real button: the keyboard unfolds it too
    assert toggle.get_attribute("aria-expanded") == "true" and page.locator("#documents").is_visible()
    assert team["bob"].page.locator("#documents").is_visible()  # another person's browser is their own


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
