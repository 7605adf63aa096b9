"""Two people in one workspace, each in a browser window: alice (owner) and bob (editor) of ws-demo.

The tests run in file order on the same two windows, as one session would: presence, upload and tiles,
chat, notes, a dropped network, and at the end no errors in either console.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from typing import Any

import pymupdf
import pytest
from PIL import Image, ImageStat

from tests.browser.conftest import UserPage, WebStack, open_as
from tests.browser.team import inside

pytestmark = pytest.mark.timeout(120)


def drawing(pages: int = 3) -> bytes:
    doc = pymupdf.open()
    for number in range(pages):
        page = doc.new_page(width=842, height=595)  # A4 landscape, in points
        page.insert_text((60, 90), f"Riverside Library, sheet {number + 1}", fontsize=36)
        page.draw_rect(pymupdf.Rect(60, 140, 780, 540), color=(0.1, 0.1, 0.1), fill=(0.85, 0.3 + 0.2 * number, 0.2),
                       width=4)
        for x in range(80, 780, 60):
            page.draw_line((x, 160), (x, 520), color=(0, 0, 0.6), width=2)
    return bytes(doc.tobytes())


def wait_until(check: Any, timeout: float = 15.0, what: str = "condition", page: Any = None) -> None:
    """Poll `check`. With `page`, wait in Playwright rather than in time.sleep: the sync API runs route and event
    handlers only while a Playwright call is waiting, so a check that depends on them needs the page passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if page is not None:
            page.wait_for_timeout(100)
        else:
            time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_each_sees_the_other_online(people: dict[str, UserPage]) -> None:
    alice, bob = people["alice"], people["bob"]
    alice.page.wait_for_selector("#people li[data-user=bob]")
    bob.page.wait_for_selector("#people li[data-user=alice]")


def test_a_dropped_upload_shows_progress_to_the_other_and_its_tiles_load(people: dict[str, UserPage]) -> None:
    alice, bob = people["alice"], people["bob"]
    bob.page.evaluate("""() => {  // every status the document list shows, in order
        window.__statuses = [];
        new MutationObserver(() => document.querySelectorAll('#documents li').forEach(li =>
            window.__statuses.push(li.dataset.status))).observe(document.getElementById('documents'),
            {subtree: true, childList: true, attributes: true});
    }""")
    # Dropped on the landscape, as a person drags a file from their desktop.
    dropped = alice.page.evaluate_handle("""bytes => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([new Uint8Array(bytes)], 'riverside sheets.pdf', {type: 'application/pdf'}));
        return transfer;
    }""", list(drawing(3)))
    alice.page.dispatch_event("#viewer", "dragover", {"dataTransfer": dropped})
    alice.page.dispatch_event("#viewer", "drop", {"dataTransfer": dropped})
    # The PUT finished (the upload row names its document until the document itself is listed).
    alice.page.wait_for_selector('#uploads li[data-doc], #documents li:has-text("riverside sheets.pdf")',
                                 timeout=20_000)
    ready = '#documents li[data-status=ready]:has-text("riverside sheets.pdf")'  # not another test's document
    bob.page.wait_for_selector(ready, timeout=60_000)
    statuses = bob.page.evaluate("window.__statuses")
    assert {"analysing", "tiling"} & set(statuses), statuses
    # The status "ready" arrives once, on the op that logs it (no `progress` message of its own); the frame handler
    # runs only while Playwright waits, so wait in the page for it.
    def progress_statuses() -> dict[str, set[str]]:
        pushes = [json.loads(f) for f in bob.frames if '"progress"' in f]
        return {action: {p["progress"]["status"] for p in pushes if p.get("action") == action and "progress" in p}
                for action in ("op", "progress")}
    wait_until(lambda: "ready" in progress_statuses()["op"], timeout=60, what="the op carrying 'ready'", page=bob.page)
    assert "ready" not in progress_statuses()["progress"]  # once, not also as a message of its own
    assert bob.page.locator(f"{ready} .status").inner_text() == "ready · 3 pages"  # never "3 of 3"

    # The pages are on bob's landscape: tiles answered, and the canvas shows a drawing, not a blank area.
    wait_until(lambda: bob.page.locator(".page-placeholder").count() == 0, what="every page to replace its placeholder")
    wait_until(lambda: len(bob.tiles_ok) >= 3, what="tiles to load", page=bob.page)
    drawn = bob.page.locator("#viewer .openseadragon-canvas canvas").first  # the tiles only, no overlays
    spreads: list[float] = []

    def drawing_shown() -> bool:
        # Until the zoom animation ends and the last tiles are drawn, the canvas may still be mostly blank.
        shot = Image.open(io.BytesIO(drawn.screenshot())).convert("L")
        spreads.append(ImageStat.Stat(shot).stddev[0])
        return spreads[-1] > 20
    wait_until(drawing_shown, timeout=30, what="a drawing on the viewer (pixel standard deviation over 20)",
               page=bob.page)
    assert len(bob.tiles_ok) >= 3 and len(alice.tiles_ok) >= 3
    # Each page's source comes from the manifest (no DZI read), from the level that holds it in one tile: none
    # of the single-tile levels below it is fetched (a page seen from afar is one request, not six).
    assert bob.dzi_reads == [] and alice.dzi_reads == []
    levels = {int(url.split("_files/")[1].split("/")[0]) for url in bob.tiles_ok + alice.tiles_ok}
    assert min(levels) == 8, sorted(levels)  # a letter page at 300 dpi: 2550 x 3300, levels 0 to 12, tiles 256


def test_viewports_show_where_each_person_looks(people: dict[str, UserPage]) -> None:
    alice, bob = people["alice"], people["bob"]
    rect = alice.page.locator(".viewport[data-user=bob]")
    rect.wait_for(state="attached")
    before = float(rect.get_attribute("data-w") or 0)
    box = bob.page.locator("#viewer").bounding_box()
    assert box is not None
    bob.page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 2)
    for _ in range(4):
        bob.page.mouse.wheel(0, -300)  # zoom in
        time.sleep(0.2)
    wait_until(lambda: float(rect.get_attribute("data-w") or before) < before * 0.8, what="bob's zoom on alice's side")
    bob_mark = bob.page.locator(".viewport[data-user=alice]")
    bob_mark.wait_for(state="attached")


def test_chat_appears_in_both(people: dict[str, UserPage]) -> None:
    alice, bob = people["alice"], people["bob"]
    alice.page.fill("#chat-input", "Sheet 2 has the new stair core")
    alice.page.press("#chat-input", "Enter")
    bob.page.wait_for_selector("#chat-log li:not(.pending):has-text('Sheet 2 has the new stair core')")
    bob.page.fill("#chat-input", "Looking at it now")
    bob.page.press("#chat-input", "Enter")
    alice.page.wait_for_selector("#chat-log li:not(.pending):has-text('Looking at it now')")
    wait_until(lambda: alice.texts("#chat-log li") == bob.texts("#chat-log li"), what="the same chat on both sides")


def test_a_note_moved_in_one_window_moves_in_the_other(people: dict[str, UserPage]) -> None:
    alice, bob = people["alice"], people["bob"]
    alice.page.fill("#note-input", "Check the fire exit here")
    alice.page.press("#note-input", "Enter")
    note_a = alice.page.locator(".note", has_text="Check the fire exit here")
    note_b = bob.page.locator(".note", has_text="Check the fire exit here")
    note_a.wait_for()
    note_b.wait_for()
    assert note_a.get_attribute("data-x") == note_b.get_attribute("data-x")
    start = (float(note_a.get_attribute("data-x") or 0), float(note_a.get_attribute("data-y") or 0))

    from tests.browser.team import settle

    settle(alice.page)  # grabbed where it is seen: a view still fitting itself moves it under the pointer
    box = note_a.bounding_box()
    assert box is not None
    alice.page.mouse.move(box["x"] + 10, box["y"] + 10)
    alice.page.mouse.down()
    for step in range(1, 11):
        alice.page.mouse.move(box["x"] + 10 + 15 * step, box["y"] + 10 + 8 * step)
    alice.page.mouse.up()
    wait_until(lambda: float(note_a.get_attribute("data-x") or 0) > start[0], what="the note to move for alice")
    moved = (note_a.get_attribute("data-x"), note_a.get_attribute("data-y"))
    try:
        wait_until(lambda: (note_b.get_attribute("data-x"), note_b.get_attribute("data-y")) == moved,
                   what=f"bob's note to move to {moved}")
    except AssertionError:
        print("ALICE errors", alice.texts("#errors li"), alice.errors)
        print("ALICE frames", alice.frames[-8:])
        print("BOB frames", bob.frames[-8:])
        raise
    assert float(moved[1] or 0) > start[1]


def test_a_dropped_network_loses_nothing_and_doubles_nothing(people: dict[str, UserPage]) -> None:
    alice, bob = people["alice"], people["bob"]
    bob.page.wait_for_selector(".viewport[data-user=alice]", state="attached")
    bob.context.set_offline(True)
    bob.page.wait_for_selector("#banner:not([hidden])")
    assert "offline" in bob.page.locator("#banner").inner_text().lower()
    # Who is online cannot be known while offline: not shown as it was (an outside tester saw "2 online" and
    # "same view as you" under the banner), and alice's view is not drawn.
    assert bob.page.locator("#people-count").text_content() == "(not connected)"
    assert bob.page.locator("#people li[data-user=alice]").count() == 0
    assert bob.page.locator(".viewport[data-user=alice], .viewport-name[data-user=alice]").count() == 0
    sent = [f"while bob was away {n}" for n in range(1, 6)]
    for text in sent:
        alice.page.fill("#chat-input", text)
        alice.page.press("#chat-input", "Enter")
    bob.page.fill("#chat-input", "typed on the train")
    bob.page.press("#chat-input", "Enter")
    # Marked as sending, inside its line, in the line's own style (it once took a landscape pin's: a yellow box
    # spilling out of the row, an outside tester saw).
    mark = bob.page.locator("#chat-log li.pending", has_text="typed on the train").locator("span", has_text="(sending)")
    assert mark.evaluate("m => getComputedStyle(m).backgroundColor") == "rgba(0, 0, 0, 0)"
    assert inside(mark.bounding_box(), bob.page.locator("#chat-log li.pending").bounding_box())
    wait_until(lambda: alice.page.locator("#chat-log li.pending").count() == 0, what="alice's messages acknowledged")
    time.sleep(1)
    assert not any(text in " ".join(bob.texts("#chat-log li")) for text in sent), "bob was not offline"

    bob.context.set_offline(False)
    bob.page.wait_for_selector("#connection[data-state=connected]", timeout=20_000)
    bob.page.wait_for_selector("#banner", state="hidden")
    bob.page.wait_for_selector("#people li[data-user=alice]")  # the welcome lists who is online again
    bob.page.wait_for_selector(".viewport[data-user=alice]", state="attached")
    wait_until(lambda: bob.page.locator("#chat-log li.pending").count() == 0, what="bob's outbox to empty")
    wait_until(lambda: alice.texts("#chat-log li") == bob.texts("#chat-log li"), what="the same chat on both sides")
    lines = bob.texts("#chat-log li")
    for text in [*sent, "typed on the train"]:
        assert sum(text in line for line in lines) == 1, (text, lines)
    positions = [next(i for i, line in enumerate(lines) if text in line) for text in sent]
    assert positions == sorted(positions), lines
    seqs = [int(s) for s in bob.page.locator("#chat-log li").evaluate_all("els => els.map(e => e.dataset.seq)")]
    assert seqs == sorted(set(seqs))


def test_no_errors_in_either_console(people: dict[str, UserPage]) -> None:
    for person in people.values():
        assert person.errors == [], f"{person.user}: {person.errors}"


def test_a_refused_upload_shows_the_apis_reason(web_stack: WebStack, browser: Any) -> None:
    bob = open_as(browser, web_stack.url, "bob")
    try:
        bob.page.set_input_files("#file-input", files=[{"name": "setup.exe", "mimeType": "application/x-msdownload",
                                                        "buffer": b"MZ" + bytes(200)}])
        refused = bob.page.locator("#uploads li.failed .status")
        refused.wait_for()
        assert "is not a document type this service processes" in refused.inner_text()
        # Said in the file's row and read out, not listed again among the errors (a tester saw it twice).
        assert "is not a document type" in bob.page.locator("#announcer").inner_text()
        assert "is not a document type" not in bob.page.locator("#errors").inner_text()
        # The browser reports the refused request itself; nothing else may be in the console.
        assert all("status of 4" in e for e in bob.errors), bob.errors
    finally:
        bob.context.close()


def test_the_page_offers_the_source_of_what_runs(people: dict[str, UserPage]) -> None:
    """The AGPL asks a network service to offer its users the source: a link in the page, to an archive."""
    page = people["alice"].page
    link = page.locator("header .source-link")
    assert link.is_visible()
    with page.expect_download() as download:
        link.click()
    with tarfile.open(download.value.path()) as tar:
        names = set(tar.getnames())
    assert {"kalexo-teamwork/LICENSE", "kalexo-teamwork/app.py", "kalexo-teamwork/web/index.html"} <= names


def test_a_failed_document_shows_the_pages_it_tiled_even_past_a_gap(web_stack: WebStack, browser: Any) -> None:
    """Pages tile in parallel, so a failed document's manifest may list page 1 without page 0. An outside
    tester's such document showed one placeholder ("The page") and none of its pages: the landscape counted
    the pages listed (1) instead of reaching the last one. Page 1 is drawn where page 1 goes; page 0 is a
    placeholder saying it was not processed; nothing for page 2, which is past the last page tiled."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(web_stack.url)
        page.wait_for_function("typeof window.OpenSeadragon === 'function'")
        shown = page.evaluate("""async () => {
          const { Landscape } = await import('./js/landscape.js');
          const element = document.createElement('div');
          element.style.cssText = 'position: fixed; inset: 0; width: 800px; height: 600px';
          document.body.append(element);
          const landscape = new Landscape(element);
          const drawn = new Promise((resolve) => landscape.addEventListener('page-shown',
                                                                           (e) => resolve(e.detail.page)));
          landscape.showDocument({ document_id: 'doc-cut', name: 'cut.pdf', status: 'failed', page_count: 3,
                                   pages_done: 1, reason: 'page 3: The file is damaged', origin: { x: 0, y: 0 },
                                   pages: [{ page: 1, width: 2550, height: 3300, tile_size: 256, levels: 13,
                                             format: 'jpeg', dzi: '/nowhere/p1.dzi' }] });
          const entry = landscape.rows.get('doc-cut');
          const late = new Promise((resolve) => setTimeout(() => resolve(null), 15000));
          const text = (box) => `${box.querySelector('b').textContent} ${box.querySelector('small').textContent}`;
          const shown = { drawn: await Promise.race([drawn, late]), images: [...entry.images.keys()],
                          rects: entry.rects.length,
                          placeholders: [...entry.placeholders].map(([n, b]) => [n, text(b)]) };
          // Its text is hidden when the box is too small to read it (a zoomed-out row smeared into one strip).
          const box = entry.placeholders.get(0);
          const seen = async (zoom) => {
            landscape.viewer.viewport.zoomTo(zoom, undefined, true);
            landscape.viewer.forceRedraw();
            for (let i = 0; i < 3; i += 1) await new Promise((resolve) => requestAnimationFrame(resolve));
            return [Math.round(box.getBoundingClientRect().width), getComputedStyle(box.firstChild).visibility];
          };
          const home = landscape.viewer.viewport.getHomeZoom();
          return { ...shown, small: await seen(home / 20), large: await seen(home) };
        }""")
    finally:
        context.close()
    assert shown["drawn"] == 1 and shown["images"] == [1], shown
    assert shown["rects"] == 2, shown
    assert shown["placeholders"] == [[0, "Page 1 of 3 not processed"]], shown
    assert shown["small"][0] < 80 and shown["small"][1] == "hidden", shown
    assert shown["large"][0] >= 80 and shown["large"][1] == "visible", shown
