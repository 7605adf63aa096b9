"""What the issue-15 browser tests share: a workspace of their own (so its landscape starts empty), three people
in it, the accessibility audit (axe-core, from web/node_modules, injected into the page), a recorder of what the
page showed over time, and small geometry checks."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from websockets.sync.client import connect

from local.web_server import WEB_DIR
from tests.browser.conftest import UserPage, WebStack, open_as

AXE = WEB_DIR / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
ROLES = {"alice": "owner", "bob": "editor", "vera": "viewer"}


def create_studio(web_stack: WebStack, name: str) -> str:
    """A new workspace in alice's account (alice owns it, bob edits, vera views); its id."""
    rest, token = web_stack.stack.rest, web_stack.stack.token("alice")
    headers = {"Authorization": f"Bearer {token}"}
    made = requests.post(f"{rest}/admin/accounts/acc-demo/workspaces", headers=headers, timeout=15,
                         json={"name": name, "owner_id": "alice"})
    assert made.status_code == 201, made.text
    workspace = str(made.json()["workspace_id"])
    for user in ("bob", "vera"):
        added = requests.put(f"{rest}/admin/workspaces/{workspace}/members/{user}", headers=headers, timeout=15,
                             json={"role": ROLES[user]})
        assert added.status_code == 200, added.text
    return workspace


def upload(web_stack: WebStack, user: str, name: str, body: bytes, workspace: str = "ws-demo") -> str:
    """A PDF uploaded through the REST API as `user` (grant, then PUT); its document id."""
    headers = {"Authorization": f"Bearer {web_stack.stack.token(user)}"}
    grant = requests.post(f"{web_stack.stack.rest}/workspaces/{workspace}/uploads", headers=headers, timeout=15,
                          json={"filename": name, "size": len(body), "content_type": "application/pdf"}).json()
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
    return str(grant["document_id"])


def open_in(browser: Any, web_stack: WebStack, workspace: str, user: str,
            size: tuple[int, int] = (1280, 800)) -> UserPage:
    person = open_as(browser, f"{web_stack.url}#workspace={workspace}", user)
    person.page.set_viewport_size({"width": size[0], "height": size[1]})
    person.page.wait_for_function(f"document.querySelector('#workspace-select').value === {json.dumps(workspace)}")
    return person


def audit(page: Any, include: str | None = None) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.x A and AA, best practices)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate("""async (include) => {
        const result = await axe.run(include ? {include: [include]} : document, {resultTypes: ['violations']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""", include)
    return [v for v in found if v["impact"] in BLOCKING]


def record(page: Any) -> None:
    """From now on, keep every text the document list, the uploads and the landscape's labels show (in the order
    first seen), the cards shown (document:state), and note any moment a file is listed both as an upload and as
    a document, or a failed document keeps a placeholder."""
    page.evaluate("""() => {
        window.__seen = {texts: new Set(), statuses: [], doubled: [], stale: [], cards: new Set()};
        const look = () => {
            const seen = window.__seen;
            const uploads = [...document.querySelectorAll('#uploads li')].map(li => li.dataset.file);
            const docs = [...document.querySelectorAll('#documents li')];
            for (const li of docs) {
                seen.texts.add(li.innerText);
                seen.statuses.push([li.querySelector('.doc-go').textContent, li.dataset.status]);
                if (uploads.includes(li.querySelector('.doc-go').textContent)) seen.doubled.push(li.innerText);
            }
            for (const label of document.querySelectorAll('.doc-label, .page-placeholder, #uploads li')) {
                seen.texts.add(label.innerText);
            }
            for (const card of document.querySelectorAll('.doc-card')) {
                seen.cards.add(`${card.dataset.doc}:${card.dataset.status}`);
            }
            for (const label of document.querySelectorAll('.doc-label[data-status=failed]')) {
                if (document.querySelector(`.page-placeholder[data-doc="${label.dataset.doc}"]`)) {
                    seen.stale.push(label.innerText);
                }
            }
        };
        new MutationObserver(look).observe(document.getElementById('app'),
            {subtree: true, childList: true, attributes: true, characterData: true});
    }""")


def seen(page: Any) -> dict[str, Any]:
    return dict(page.evaluate("""() => ({texts: [...window.__seen.texts], statuses: window.__seen.statuses,
                                        doubled: window.__seen.doubled, stale: window.__seen.stale,
                                        cards: [...window.__seen.cards]})"""))


def box(page: Any, selector: str) -> dict[str, float]:
    found = page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not rendered"
    return dict(found)


def inside(inner: dict[str, float], outer: dict[str, float], slack: float = 0.5) -> bool:
    return (inner["x"] >= outer["x"] - slack and inner["y"] >= outer["y"] - slack
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack)


def on_screen(page: Any, selector: str) -> bool:
    size = page.viewport_size
    return inside(box(page, selector), {"x": 0, "y": 0, "width": size["width"], "height": size["height"]})


def view_of(page: Any) -> dict[str, float]:
    """Where the page's landscape looks (in landscape units), as the viewer element says (data-x, -y, -w, -h)."""
    data = page.locator("#viewer").evaluate("e => ({...e.dataset})")
    return {k: float(data[k]) for k in ("x", "y", "w", "h")}


def settle(page: Any) -> None:
    """Wait until the page's viewer has stopped moving: not animating, and its view the same at two looks 100 ms
    apart. (Right after a click the animation may not have started yet, so `data-animating` alone can pass
    early; on a busy machine a fly-to can outlast any fixed wait.)"""
    last: list[dict[str, float]] = [{}]

    def still() -> bool:
        now, before = view_of(page), last[0]
        last[0] = now
        return now == before and page.locator("#viewer[data-animating]").count() == 0

    wait_until(still, page, "the view to settle")


def count_is(page: Any, selector: str, n: int) -> Callable[[], bool]:
    return lambda: int(page.locator(selector).count()) == n


def x_is(page: Any, selector: str, x: float) -> Callable[[], bool]:
    return lambda: float(page.locator(selector).get_attribute("data-x") or "nan") == x


def wait_until(check: Callable[[], bool], page: Any, what: str, timeout: float = 90.0) -> None:
    """Wait for a condition, checking on the page's own events (Playwright's wait, which also runs route
    handlers), with a generous ceiling: never a fixed sleep standing in for an event."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        page.wait_for_timeout(100)


def move_placement(web_stack: WebStack, workspace: str, document_id: str, x: float, y: float) -> None:
    """A member moves a document on the landscape (protocol: item.update of its placement's x and y)."""
    query = f"token={web_stack.stack.token('alice')}&workspace={workspace}"
    with connect(f"{web_stack.stack.ws}/?{query}", open_timeout=15) as ws:
        op_id = f"move-{uuid.uuid4().hex[:8]}"
        ws.send(json.dumps({"action": "item.update", "workspace": workspace, "item_id": f"place:{document_id}",
                            "fields": {"x": x, "y": y}, "op_id": op_id, "id": op_id}))
        while True:
            reply = json.loads(ws.recv(timeout=15))
            if reply.get("id") == op_id:
                assert reply["action"] == "ack", reply
                return


def screenshot(page: Any, folder: Path, name: str) -> Path:
    size = page.viewport_size
    path = folder / f"{name}-{size['width']}x{size['height']}.png"
    page.screenshot(path=str(path))
    return path


def choose_files_with_the_keyboard(user: UserPage) -> Any:
    """Upload focused and Enter pressed: the file chooser opens. On a loaded machine the button can be shown
    (the member's role known) a moment before its handler is wired, so a press that opened nothing is repeated;
    every attempt is a real keyboard press on the focused button."""
    user.page.wait_for_selector("#upload-button:not([hidden])", timeout=60_000)
    for _attempt in range(4):
        user.page.focus("#upload-button")
        user.page.wait_for_function("document.activeElement.id === 'upload-button'")
        try:
            with user.page.expect_file_chooser(timeout=15_000) as chooser:
                user.page.keyboard.press("Enter")
            return chooser.value
        except PlaywrightTimeout:
            continue
    raise AssertionError("Enter on the focused Upload button never opened the file chooser")


@contextmanager
def team_of_three(browser: Any, web_stack: WebStack, studio: str, ready: int = 0) -> Iterator[dict[str, UserPage]]:
    """alice, bob and vera in windows of their own on the studio, each once it shows `ready` documents ready
    and every page tiled; all closed afterwards, whatever happens."""
    opened: dict[str, UserPage] = {}
    try:
        for user in ("alice", "bob", "vera"):
            opened[user] = open_in(browser, web_stack, studio, user)
        for person in opened.values() if ready else ():
            wait_until(count_is(person.page, "#documents li[data-status=ready]", ready), person.page,
                       f"{ready} documents ready", 120)
            wait_until(count_is(person.page, ".page-placeholder", 0), person.page, "all pages shown")
        yield opened
    finally:
        for person in opened.values():
            person.context.close()
