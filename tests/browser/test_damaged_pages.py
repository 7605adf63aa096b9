"""A page the file damages (MuPDF reads it only in part) is shown as far as it was read, and the web client says
so where people look: on the document's row and on its label over the landscape. An outside tester uploaded a
PDF whose second sheet could not be decompressed: it became "ready · 3 pages" with a plain white page two, which
passes for an intentionally empty sheet."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.browser.conftest import WebStack
from tests.browser.team import create_studio, open_in, upload
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
