"""A landscape with many documents. Made wide by one long document and fitted whole, every row is a few pixels
high: the labels that show (the others are `crowded`, web/js/labels.js) cover neither one another nor another
document's pages, and zoomed onto a sheet its label shows again. While documents arrive, the documents list
keeps the keyboard's focus where it was (its rows are not rebuilt unless they change)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import WebStack
from tests.browser.team import create_studio, open_in, settle, upload, wait_until
from tests.e2e.documents_samples import letter_pdf

pytestmark = pytest.mark.timeout(300)

CELL, PAGE_GAP = 1000, 120  # web/js/geometry.js: a letter page is CELL high, pages CELL + PAGE_GAP apart

# Shown labels' boxes on screen, and each document's pages as a box on screen (from the view the page reports
# in landscape units on #viewer, and the label's placement), then what overlaps what.
CLASHES = """(pages) => {
    const viewer = document.getElementById('viewer');
    const at = viewer.getBoundingClientRect(), view = viewer.dataset, scale = at.width / Number(view.w);
    const screen = (x, y) => ({x: at.left + (x - Number(view.x)) * scale, y: at.top + (y - Number(view.y)) * scale});
    const labels = [...document.querySelectorAll('.doc-label')];
    const rows = labels.map(l => {
        const corner = screen(Number(l.dataset.x), Number(l.dataset.y));
        const n = pages[l.dataset.doc];
        const width = (n * (1000 + 120) - 120) * scale;
        return {doc: l.dataset.doc, x: corner.x, y: corner.y, width, height: 1000 * scale};
    });
    const hit = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    const shown = labels.filter(l => !l.classList.contains('crowded')).map(l => {
        const r = l.getBoundingClientRect();
        return {doc: l.dataset.doc, x: r.left, y: r.top, width: r.width, height: r.height, name: l.innerText};
    });
    const clashes = [];
    shown.forEach((a, i) => shown.slice(i + 1).forEach(b => {
        if (hit(a, b)) clashes.push(`${a.name} over ${b.name}`);
    }));
    shown.forEach(a => rows.forEach(r => {
        if (r.doc !== a.doc && hit(a, r)) clashes.push(`${a.name} over ${r.doc}'s pages`);
    }));
    return {clashes, shown: shown.map(s => s.doc), crowded: labels.filter(l => l.classList.contains('crowded')).length};
}"""


def test_labels_of_a_wide_landscape_never_lie_over_each_other_or_pages(web_stack: WebStack, browser: Any) -> None:
    workspace = create_studio(web_stack, "Crowded labels")
    pages = {upload(web_stack, "alice", "long report.pdf", letter_pdf(pages=40, text="long"), workspace): 40}
    for n in range(3):
        pages[upload(web_stack, "alice", f"sheet {n + 1}.pdf", letter_pdf(pages=1, text=f"sheet {n}"), workspace)] = 1
    alice = open_in(browser, web_stack, workspace, "alice")
    try:
        page = alice.page
        ready = " ".join(f'#documents li[data-doc="{doc}"][data-status=ready]' for doc in pages)
        wait_until(lambda: all(page.locator(f'#documents li[data-doc="{d}"][data-status=ready]').count() == 1
                               for d in pages), page, f"the four documents ready ({ready})", 240)
        page.click("#zoom-fit")
        settle(page)
        fitted = page.evaluate(CLASHES, pages)  # (the long report's own view is about as wide: it may have none)
        assert fitted["clashes"] == [], fitted
        assert fitted["crowded"] > 0  # the point of the test: fitted whole, these rows cannot all carry a label
        assert fitted["shown"], "no label at all in the whole view"
        # r and f would turn and flip the canvas (OpenSeadragon's keys): nothing here may move out of the landscape
        # every client shares, so they do nothing; the labels stay exactly where they were.
        where = page.locator(".doc-label").evaluate_all("ls => ls.map(l => JSON.stringify(l.getBoundingClientRect()))")
        page.focus(".openseadragon-canvas")
        for key in ("r", "R", "f"):
            page.keyboard.press(key)
        settle(page)
        assert page.locator(".doc-label").evaluate_all("ls => ls.map(l => JSON.stringify(l.getBoundingClientRect()))") \
            == where
        for doc in (d for d, n in pages.items() if n == 1):  # zoomed onto each sheet, its label is there
            page.click(f'#documents li[data-doc="{doc}"] .doc-go')
            settle(page)
            near = page.evaluate(CLASHES, pages)
            assert near["clashes"] == [] and doc in near["shown"], (doc, near)
    finally:
        alice.context.close()


def test_the_document_list_keeps_clicks_and_focus_while_documents_are_tiled(web_stack: WebStack,
                                                                           browser: Any) -> None:
    workspace = create_studio(web_stack, "Arrivals")
    first = upload(web_stack, "alice", "first.pdf", letter_pdf(pages=1, text="first"), workspace)
    alice = open_in(browser, web_stack, workspace, "alice")
    try:
        page = alice.page
        page.wait_for_selector(f'#documents li[data-doc="{first}"][data-status=ready]', timeout=120_000)
        long = upload(web_stack, "alice", "long.pdf", letter_pdf(pages=24, text="long"), workspace)
        row = f'#documents li[data-doc="{long}"]'
        page.wait_for_selector(f"{row}[data-status=tiling]", timeout=120_000)
        # A click on another row that spans a page report: pressed before it, released after the list redrew.
        status = page.locator(f"{row} .status").inner_text()
        go = page.locator(f'#documents li[data-doc="{first}"] .doc-go').bounding_box()
        assert go is not None
        view = page.evaluate("document.getElementById('viewer').dataset.w")
        page.mouse.move(go["x"] + go["width"] / 2, go["y"] + go["height"] / 2)
        page.mouse.down()
        page.wait_for_function(f"document.querySelector('{row} .status')?.innerText !== {status!r}", timeout=60_000)
        page.mouse.up()
        settle(page)
        assert page.evaluate("document.getElementById('viewer').dataset.w") != view, "the click was lost"  # flown
        # The keyboard's focus on the row being tiled stays there through its reports and its `ready`.
        page.focus(f"{row} .doc-go")
        later = upload(web_stack, "alice", "later.pdf", letter_pdf(pages=2, text="later"), workspace)
        for doc in (long, later):
            page.wait_for_selector(f'#documents li[data-doc="{doc}"][data-status=ready]', timeout=180_000)
        focused = page.evaluate("document.activeElement.closest('li')?.dataset.doc ?? document.activeElement.tagName")
        assert focused == long
    finally:
        alice.context.close()
