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
        said = vera.page.locator("#errors li", has_text="outage.pdf did not load")
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
