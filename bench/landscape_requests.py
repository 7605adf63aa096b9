"""What the web client asks of the tile API to show a whole landscape (Fit all), side by side in one run: the
client as shipped (each page's Deep Zoom source made from its manifest entry, drawn from the first level that
holds the page in one tile) against the earlier client (each page's DZI read, every level from 0 up fetched),
the same workspace, the same window, each in a fresh browser context.

    python -m bench.landscape_requests --documents 4 --pages 40

Prints, for each client, the requests for DZI descriptors and for tiles once every page is shown and the
network is quiet, per page, and the tiles' bytes; then the ratio. A helper reported Fit all over about 260
pages firing about 1,500 requests."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from local.web_server import WEB_DIR
from tests.browser.conftest import chromium_path, ensure_web_dependencies
from tests.e2e.documents_samples import letter_pdf
from tests.e2e.stack import LocalStack, start_stack, stop_stack
from tests.ports import free_port

# The earlier client: pages read their DZI (pageLevels says nothing, so the landscape passes the DZI's URL).
EARLIER = "export function pageLevels(info) { return null; }\n"


def upload(stack: LocalStack, workspace: str, name: str, body: bytes) -> str:
    headers = {"Authorization": f"Bearer {stack.token('alice')}"}
    grant = requests.post(f"{stack.rest}/workspaces/{workspace}/uploads", headers=headers, timeout=30,
                          json={"filename": name, "size": len(body), "content_type": "application/pdf"}).json()
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=60).status_code == 200
    return str(grant["document_id"])


def wait_ready(stack: LocalStack, workspace: str, documents: list[str]) -> None:
    headers = {"Authorization": f"Bearer {stack.token('alice')}"}
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        states = [requests.get(f"{stack.rest}/workspaces/{workspace}/documents/{d}", headers=headers,
                               timeout=30).json()["status"] for d in documents]
        if all(s == "ready" for s in states):
            return
        time.sleep(1)
    raise SystemExit("the documents were not ready within 15 minutes")


def measure(browser: Any, url: str, earlier: bool, pages: int) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    if earlier:
        source = (WEB_DIR / "js" / "geometry.js").read_text()
        patched = source[:source.index("export function pageLevels")] + EARLIER
        context.route("**/js/geometry.js", lambda route: route.fulfill(body=patched,
                                                                       content_type="text/javascript"))
    seen = {"dzi": 0, "tiles": 0, "bytes": 0}

    def count(response: Any) -> None:
        if response.url.endswith(".dzi"):
            seen["dzi"] += 1
        elif "_files/" in response.url:
            seen["tiles"] += 1
            seen["bytes"] += int(response.headers.get("content-length") or 0)

    page = context.new_page()
    page.on("response", count)
    page.goto(url)
    page.click("#dev-user-buttons button[data-user=alice]")
    page.wait_for_selector("#connection[data-state=connected]", timeout=30_000)
    page.wait_for_function("document.querySelectorAll('#documents li[data-status=ready]').length >= 1")
    page.click("#zoom-fit")
    deadline = time.monotonic() + 300
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:  # every page shown, then no new request for 3 s
        page.wait_for_timeout(250)
        total = seen["dzi"] + seen["tiles"]
        if total != last:
            last, quiet_since = total, time.monotonic()
        shown = page.evaluate("document.querySelectorAll('.page-placeholder').length === 0")
        if shown and time.monotonic() - quiet_since > 3:
            break
    context.close()
    return {"dzi": seen["dzi"], "tiles": seen["tiles"], "per_page": (seen["dzi"] + seen["tiles"]) / pages,
            "kib": seen["bytes"] / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=4)
    parser.add_argument("--pages", type=int, default=40, help="pages a document")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ensure_web_dependencies()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as state:
        stack = start_stack(Path(state), "--web-port", str(free_port()), "--workers", "2")
        try:
            workspace = "ws-demo"
            documents = [upload(stack, workspace, f"bench {n}.pdf", letter_pdf(pages=args.pages, text=f"doc {n}"))
                         for n in range(args.documents)]
            wait_ready(stack, workspace, documents)
            url = f"http://127.0.0.1:{stack.runtime['config']['web_port']}/#workspace={workspace}"
            pages = args.documents * args.pages
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium_path())
                results = {"shipped": measure(browser, url, False, pages),
                           "earlier": measure(browser, url, True, pages)}
                browser.close()
        finally:
            stop_stack(stack)
    print(f"Fit all over {pages} letter pages ({args.documents} documents), 1280 x 800 window:")
    print(f"{'client':<10}{'DZI reads':>11}{'tiles':>8}{'per page':>10}{'tile KiB':>10}")
    for name, r in results.items():
        print(f"{name:<10}{r['dzi']:>11.0f}{r['tiles']:>8.0f}{r['per_page']:>10.2f}{r['kib']:>10.0f}")
    ratio = results["earlier"]["per_page"] / max(results["shipped"]["per_page"], 1e-9)
    print(f"requests: the earlier client {ratio:.1f}x the shipped one")
    if args.json:
        args.json.write_text(json.dumps({"pages": pages, **results, "ratio": ratio}, indent=2) + "\n")


if __name__ == "__main__":
    main()
