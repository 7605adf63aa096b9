"""Tile URLs carry a grant that expires after hours. A page left open past that sees its tiles refused; it must
fetch a fresh manifest and swap in the new URLs by itself. The expiry is simulated in the browser: tiles under
the first grant are answered 403 (as an expired grant is), and manifests fetched after that carry a grant made
for two hours later with the stack's own secret (a real, valid one)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from chalicelib.services.tile_access import TileAccess
from tests.browser.conftest import WebStack, open_as
from tests.browser.test_landscape import drawing, wait_until

pytestmark = pytest.mark.timeout(120)
WS = "ws-demo"


def test_an_expired_tile_grant_is_renewed_without_a_reload(web_stack: WebStack, browser: Any) -> None:
    stack = web_stack.stack
    headers = {"Authorization": f"Bearer {stack.token('bob')}"}
    body = drawing(pages=1)
    grant = requests.post(f"{stack.rest}/workspaces/{WS}/uploads", headers=headers, timeout=10, json={
        "filename": "renewal.pdf", "size": len(body), "content_type": "application/pdf"}).json()
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=10).status_code == 200
    manifest_url = f"{stack.rest}/workspaces/{WS}/documents/{grant['document_id']}"
    deadline = time.monotonic() + 60
    while (manifest := requests.get(manifest_url, headers=headers, timeout=10).json())["status"] != "ready":
        assert time.monotonic() < deadline and manifest["status"] != "failed", manifest
        time.sleep(0.3)
    first = manifest["pages"][0]["dzi"].split("/tiles/")[1].split("/")[0]
    later = TileAccess(stack.env["KALEXO_JWT_SECRET"], None, None,  # type: ignore[arg-type]
                       int(stack.env.get("KALEXO_TILE_GRANT_SECONDS", 6 * 3600))).grant(
        WS, grant["document_id"], manifest["job_id"], now=time.time() + 7200)
    assert later != first

    refused: list[str] = []

    def expire(route: Any) -> None:
        refused.append(route.request.url)
        route.fulfill(status=403, content_type="application/json",
                      body='{"error": {"code": "grant_expired", "message": "this tile link has expired"}}')

    manifests: list[bool] = []

    def renew(route: Any) -> None:
        manifests.append(bool(refused))
        response = route.fetch()
        text = response.text()
        route.fulfill(response=response, body=text.replace(first, later) if refused else text)

    vera = open_as(browser, web_stack.url, "vera", routes={
        f"**/tiles/{first}/*/page_files/**": expire,
        f"**/workspaces/{WS}/documents/{grant['document_id']}": renew})
    try:
        wait_until(lambda: bool(refused), timeout=30, what="the old grant's tiles to be requested", page=vera.page)
        wait_until(lambda: manifests[-1:] == [True], timeout=30, what="a fresh manifest after the refusals",
                   page=vera.page)
        # The person keeps working: zooming in and out asks for tiles, now under the renewed grant.
        box = vera.page.locator("#viewer").bounding_box()
        vera.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        deadline = time.monotonic() + 45
        while not any(f"/tiles/{later}/" in url for url in vera.tiles_ok):
            assert time.monotonic() < deadline, "no tiles under the renewed grant"
            vera.page.mouse.wheel(0, -200)
            vera.page.wait_for_timeout(1500)
            vera.page.mouse.wheel(0, 200)
            vera.page.wait_for_timeout(1500)
    finally:
        vera.context.close()
