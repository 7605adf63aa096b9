"""OpenSeadragon's own IIIF tile source, given a page's `info.json`, shows the page: for a document tiled as
JPEG and for one tiled as PNG (whose `info.json` says png, so the viewer asks for png tiles)."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
import requests
from PIL import Image, ImageStat

from tests.browser.conftest import WebStack
from tests.browser.test_landscape import drawing

pytestmark = pytest.mark.timeout(180)
WS = "ws-demo"


def _settled(url: str, headers: dict[str, str], unlike: str | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        document: dict[str, Any] = requests.get(url, headers=headers, timeout=10).json()
        if document["status"] == "ready" and document["job_id"] != unlike:
            return document
        assert time.monotonic() < deadline and document["status"] != "failed", document
        time.sleep(0.3)


def _document(web_stack: WebStack, fmt: str) -> dict[str, Any]:
    stack = web_stack.stack
    headers = {"Authorization": f"Bearer {stack.token('alice')}"}
    body = drawing(pages=1)
    grant = requests.post(f"{stack.rest}/workspaces/{WS}/uploads", headers=headers, timeout=10, json={
        "filename": f"iiif-{fmt}.pdf", "size": len(body), "content_type": "application/pdf"}).json()
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=10).status_code == 200
    url = f"{stack.rest}/workspaces/{WS}/documents/{grant['document_id']}"
    document = _settled(url, headers)
    if fmt != document["pages"][0]["format"]:
        answer = requests.post(f"{url}/reprocess", headers=headers, json={"options": {"format": fmt}}, timeout=10)
        assert answer.status_code == 202, answer.text
        document = _settled(url, headers, unlike=document["job_id"])
    assert document["pages"][0]["format"] == fmt
    return document


@pytest.mark.parametrize("fmt", ["jpeg", "png"])
def test_openseadragons_iiif_source_shows_the_page(web_stack: WebStack, browser: Any, fmt: str) -> None:
    info = _document(web_stack, fmt)["pages"][0]["iiif"]
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    try:
        page = context.new_page()
        statuses: list[tuple[int, str]] = []
        page.on("response", lambda r: statuses.append((r.status, r.url)) if "/iiif/" in r.url else None)
        page.set_content('<div id="viewer" style="width: 900px; height: 700px"></div>'
                         f'<script src="{web_stack.url}vendor/openseadragon/openseadragon.min.js"></script>')
        page.evaluate("""info => {
            window.loaded = []; window.failed = [];
            window.viewer = OpenSeadragon({element: document.getElementById("viewer"), tileSources: info,
                                           showNavigationControl: false, immediateRender: true});
            viewer.addHandler("tile-loaded", e => loaded.push(e.tile.getUrl()));
            viewer.addHandler("tile-load-failed", e => failed.push(e.tile.getUrl() + ": " + e.message));
            viewer.addHandler("open-failed", e => failed.push("open: " + e.message));
        }""", info)
        page.wait_for_function("failed.length > 0 || (viewer.world.getItemCount() > 0 && "
                               "viewer.world.getItemAt(0).getFullyLoaded())", timeout=60_000)
        failed, loaded = page.evaluate("failed"), page.evaluate("loaded")
        assert failed == [] and loaded, (failed, statuses)
        extension = {"jpeg": "jpg", "png": "png"}[fmt]
        assert all(url.endswith(f"/default.{extension}") for url in loaded), loaded
        assert all(status == 200 for status, _ in statuses), statuses
        shown = Image.open(io.BytesIO(page.locator("#viewer").screenshot())).convert("RGB")
        assert max(ImageStat.Stat(shown).stddev) > 20, "the viewer shows a blank page"
    finally:
        context.close()
