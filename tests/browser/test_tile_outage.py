"""Tiles that failed while the server was away load again by themselves. A helper using the product stopped the
stack while a landscape was loading: the pages whose tiles had failed stayed blank until a reload, because
OpenSeadragon never asks for a failed tile again. Here every tile request fails as a refused connection for a
while (the server down), then is answered again; the same URLs must be asked for again, without a reload."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from tests.browser.conftest import WebStack, open_as
from tests.browser.team import create_studio
from tests.browser.test_landscape import drawing, wait_until

pytestmark = pytest.mark.timeout(300)


def test_tiles_that_failed_while_the_server_was_away_load_without_a_reload(web_stack: WebStack,
                                                                          browser: Any) -> None:
    studio = create_studio(web_stack, f"Outage {uuid.uuid4().hex[:6]}")
    headers = {"Authorization": f"Bearer {web_stack.stack.token('bob')}"}
    body = drawing(pages=1)
    grant = requests.post(f"{web_stack.stack.rest}/workspaces/{studio}/uploads", headers=headers, timeout=15,
                          json={"filename": "outage.pdf", "size": len(body), "content_type": "application/pdf"}).json()
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
    url = f"{web_stack.stack.rest}/workspaces/{studio}/documents/{grant['document_id']}"
    deadline = time.monotonic() + 90
    while requests.get(url, headers=headers, timeout=15).json()["status"] != "ready":
        assert time.monotonic() < deadline, "the drawing was not tiled"
        time.sleep(0.5)
    down = {"on": True, "refused": 0, "after": 0}

    def outage(route: Any) -> None:
        if down["on"]:
            down["refused"] += 1
            route.abort("connectionrefused")
        else:
            down["after"] += 1
            route.continue_()

    vera = open_as(browser, f"{web_stack.url}#workspace={studio}", "vera", routes={"**/*_files/**": outage})
    try:  # (waits in Playwright: its route handlers run only then)
        wait_until(lambda: down["refused"] > 0, timeout=60, what="tiles asked for while down", page=vera.page)
        said = vera.page.locator("#errors li", has_text="outage.pdf could not be loaded")
        said.wait_for(timeout=60_000)  # a blank landscape says why, in words
        vera.page.wait_for_timeout(3000)  # failures, and the retry they bring, while still down
        assert said.count() == 1, "the failing pages are said once, however many tiles failed"
        down["on"] = False
        wait_until(lambda: bool(vera.tiles_ok), timeout=90, what="the failed tiles asked for again and loaded",
                   page=vera.page)
        assert down["after"] > 0
        said.wait_for(state="detached", timeout=60_000)  # over once its tiles load
    finally:
        vera.context.close()


def test_documents_out_of_view_are_no_longer_said_to_fail_once_tiles_load_again(web_stack: WebStack,
                                                                               browser: Any) -> None:
    """A tester's off-screen documents stayed named in the message after the outage: nothing asked for their
    tiles to prove them loading. Once they have been asked for again and any tile loads, they are not named."""
    from tests.browser.team import create_studio, settle, upload

    studio = create_studio(web_stack, f"Outage views {uuid.uuid4().hex[:6]}")
    docs = [upload(web_stack, "bob", f"{name}.pdf", drawing(pages=1), studio) for name in ("north", "south")]
    headers = {"Authorization": f"Bearer {web_stack.stack.token('bob')}"}
    for doc in docs:
        url = f"{web_stack.stack.rest}/workspaces/{studio}/documents/{doc}"
        wait_until(lambda u=url: requests.get(u, headers=headers, timeout=15).json()["status"] == "ready",
                   timeout=120, what="tiled")
    down = {"on": True}

    def outage(route: Any) -> None:
        if down["on"]:
            route.abort("connectionrefused")
        else:
            route.continue_()

    vera = open_as(browser, f"{web_stack.url}#workspace={studio}", "vera", routes={"**/*_files/**": outage})
    try:
        both = vera.page.locator("#errors li", has_text="north.pdf")
        wait_until(lambda: both.count() == 1 and "south.pdf" in both.inner_text(), timeout=60, page=vera.page,
                   what="both documents named")
        vera.page.click(f'#documents li[data-doc="{docs[0]}"] .doc-go')  # north alone in view
        settle(vera.page)
        down["on"] = False
        wait_until(lambda: vera.page.locator("#errors li").count() == 0, timeout=90, page=vera.page,
                   what="neither named once tiles load (south out of view)")
    finally:
        vera.context.close()
