"""A page the file damages (MuPDF reads it only in part) is shown as far as it was read, and the web client says
so where people look: on the document's row and on its label over the landscape. An outside tester uploaded a
PDF whose second sheet could not be decompressed: it became "ready · 3 pages" with a plain white page two, which
passes for an intentionally empty sheet."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.browser.conftest import WebStack
from tests.browser.frames import HeldProcessing
from tests.browser.team import create_studio, open_in, upload, wait_until
from tests.e2e.documents_samples import letter_pdf, pdf_damaged_at_page

pytestmark = pytest.mark.timeout(300)
WARNING = "page 2 may be incomplete: the file is damaged there"


def test_a_damaged_page_is_named_on_its_documents_row_and_label(web_stack: WebStack, browser: Any) -> None:
    studio = create_studio(web_stack, f"Damaged {uuid.uuid4().hex[:6]}")
    damaged = upload(web_stack, "bob", "sections.pdf", pdf_damaged_at_page(3, 1, "Sections"), studio)
    whole = upload(web_stack, "bob", "plans.pdf", letter_pdf(3, "Plans"), studio)
    vera = open_in(browser, web_stack, studio, "vera")  # a viewer sees it as well as the uploader
    try:
        page = vera.page
        for doc in (damaged, whole):
            page.wait_for_selector(f'#documents li[data-doc="{doc}"][data-status=ready]', timeout=120_000)
        row = page.locator(f'#documents li[data-doc="{damaged}"] .status')
        page.wait_for_function("([sel, text]) => document.querySelector(sel)?.textContent.includes(text)",
                               arg=[f'#documents li[data-doc="{damaged}"] .status', WARNING], timeout=60_000)
        assert row.inner_text() == f"ready · 3 pages · {WARNING}"
        label = page.locator(f'.doc-label[data-doc="{damaged}"]')
        assert label.inner_text() == f"sections.pdf · {WARNING}"
        go = page.locator(f'#documents li[data-doc="{damaged}"] .doc-go')
        assert WARNING in str(go.get_attribute("aria-label"))  # read out as well as shown
        # A document read whole says nothing of the kind.
        assert page.locator(f'#documents li[data-doc="{whole}"] .status').inner_text() == "ready · 3 pages"
        assert page.locator(f'.doc-label[data-doc="{whole}"]').inner_text() == "plans.pdf"
        # How many: each page named up to four, then the first three and how many more; all of them, so.
        said = page.evaluate("""async () => {
            const { incompleteText } = await import("./js/cards.js");
            const doc = (damaged, count) => ({ page_count: count, pages: [...Array(count).keys()].map(
                (n) => ({ page: n, damage: damaged.includes(n + 1) ? "zlib error" : null })) });
            return [incompleteText(doc([2, 7], 9)), incompleteText(doc([9, 1, 4, 6], 9)),
                    incompleteText(doc([1, 2, 3, 5, 8], 9)), incompleteText(doc([1, 2, 3], 3))]; }""")
        assert [text.removesuffix(" may be incomplete: the file is damaged there") for text in said] == [
            "pages 2 and 7", "pages 1, 4, 6 and 9", "pages 1, 2, 3 and 2 more", "all 3 pages"]
    finally:
        vera.context.close()



def test_the_warning_stays_while_a_new_versions_pages_replace_the_damaged_ones(web_stack: WebStack,
                                                                                browser: Any) -> None:
    """While a new version is tiled, the earlier version's pages stay on screen until its own replace them
    (page_images.js): a damaged one still shown keeps its warning, which an outside tester saw vanish as soon as
    the new version started. The server's frames and the page's manifest reads are held (frames.py), so that
    each step is seen: no page of the new version, its first page, all of them."""
    studio = create_studio(web_stack, f"Damaged again {uuid.uuid4().hex[:6]}")
    sheet = upload(web_stack, "bob", "sections.pdf", pdf_damaged_at_page(3, 1, "Sections"), studio)
    vera = open_in(browser, web_stack, studio, "vera")
    status = f'#documents li[data-doc="{sheet}"] .status'
    label = f'.doc-label[data-doc="{sheet}"]'
    held: HeldProcessing | None = None
    try:
        page = vera.page

        def shows(text: str, exact: bool = False) -> None:
            test = "t === text" if exact else "t?.includes(text)"
            page.wait_for_function(f"([sel, text]) => {{ const t = document.querySelector(sel)?.textContent; "
                                   f"return {test}; }}", arg=[status, text], timeout=120_000)

        shows(f"ready · 3 pages · {WARNING}", exact=True)
        held = HeldProcessing(page, "sections.pdf")
        held.manifests.focus(sheet)
        page.reload()
        page.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
        held.manifests.answer(pages=3)  # the reloaded page reads the version shown
        shows(f"ready · 3 pages · {WARNING}", exact=True)
        body = letter_pdf(6, "Sections, saved again")
        headers = {"Authorization": f"Bearer {web_stack.stack.token('bob')}"}
        grant = requests.post(f"{web_stack.stack.rest}/workspaces/{studio}/uploads", headers=headers, timeout=15,
                              json={"filename": "sections.pdf", "size": len(body), "content_type": "application/pdf",
                                    "document_id": sheet}).json()
        assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
        # The new version is being tiled and none of its pages is shown: the damaged page 2 still is.
        wait_until(lambda: held is not None and held.paused, page, "the new version's tiling status")
        shows(f"processing · 0 of 6 pages · {WARNING}", exact=True)
        assert page.locator(label).inner_text().endswith(WARNING)
        # Its first page shown: page 1 is the new version's, page 2 still the damaged one.
        held.answer_read(pages=1)
        page.wait_for_function("(sel) => /[1-6] of 6 pages/.test(document.querySelector(sel)?.textContent)",
                               arg=status, timeout=60_000)
        assert WARNING in page.locator(status).inner_text()
        # Every page of the new version, none damaged: nothing says so any more.
        held.release()
        shows("ready · 6 pages", exact=True)
        assert page.locator(label).inner_text() == "sections.pdf"
    finally:
        if held is not None:
            held.release()
            held.manifests.stop()
        vera.context.close()
