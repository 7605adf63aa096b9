"""Browser tests: the web client (web/) in Debian's headless Chromium, driven by Playwright, against a whole
local stack of its own (the e2e pattern: tests/e2e/stack.py, free ports, web client on a free port too)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from local.web_server import VENDOR, WEB_DIR
from tests.e2e.stack import LocalStack, start_stack, stop_stack
from tests.ports import free_port

CHROMIUM = ("chromium", "chromium-browser")


def chromium_path() -> str:
    for name in CHROMIUM:
        if path := shutil.which(name):
            return path
    pytest.fail("Debian's chromium is not installed (scripts/system-packages.sh installs it; `make test` runs it)")


def ensure_web_dependencies() -> None:
    """OpenSeadragon for the page, and axe-core for the accessibility audit (web/package-lock.json)."""
    if VENDOR["openseadragon"].is_dir() and (WEB_DIR / "node_modules" / "axe-core" / "axe.min.js").is_file():
        return
    if shutil.which("npm") is None:
        pytest.fail("npm is missing (scripts/system-packages.sh installs it); web/node_modules cannot be installed")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=WEB_DIR, check=True)


@dataclass
class WebStack:
    stack: LocalStack
    url: str


@pytest.fixture(scope="package")  # stopped before the next test directory starts its own stack
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    ensure_web_dependencies()
    state: Path = tmp_path_factory.mktemp("browser-stack")
    running = start_stack(state, "--web-port", str(free_port()), "--workers", "2")
    try:
        yield WebStack(running, f"http://127.0.0.1:{running.runtime['config']['web_port']}/")
    finally:
        stop_stack(running)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path())
        yield launched
        launched.close()


@dataclass
class UserPage:
    """One person's browser window, with what the tests watch: console errors, tile responses, frames."""

    user: str
    context: Any
    page: Any
    errors: list[str] = field(default_factory=list)
    tiles_ok: list[str] = field(default_factory=list)
    dzi_reads: list[str] = field(default_factory=list)  # the client makes pages' sources from their manifests
    frames: list[str] = field(default_factory=list)

    def texts(self, selector: str) -> list[str]:
        return [str(t) for t in self.page.locator(selector).all_inner_texts()]


def open_as(browser: Any, url: str, user: str, routes: dict[str, Any] | None = None) -> UserPage:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    for pattern, handler in (routes or {}).items():  # before the first request: routing also bypasses the cache
        context.route(pattern, handler)
    page = context.new_page()
    watched = UserPage(user, context, page)
    page.on("console", lambda m: watched.errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(f"pageerror: {e}"))
    page.on("response", lambda r: watched.tiles_ok.append(r.url) if "_files/" in r.url and r.status in (200, 304)
            else None)
    page.on("request", lambda r: watched.dzi_reads.append(r.url) if r.url.endswith(".dzi") else None)
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: watched.frames.append(str(payload))))
    page.goto(url)
    page.click(f"#dev-user-buttons button[data-user={user}]")
    page.wait_for_selector("#connection[data-state=connected]", timeout=20_000)
    return watched


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where a module's screenshots go: $KALEXO_SCREENSHOTS when it names a folder (docs/screenshots/ holds the
    committed ones), else a new temporary folder."""
    folder = Path(os.environ.get("KALEXO_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def people(web_stack: WebStack, browser: Any) -> Iterator[dict[str, UserPage]]:
    """alice and bob, each in a browser window of their own, signed in; closed after the module."""
    opened = {user: open_as(browser, web_stack.url, user) for user in ("alice", "bob")}
    yield opened
    for person in opened.values():
        person.context.close()


Team = Callable[..., tuple[str, list[UserPage]]]


@pytest.fixture
def team(web_stack: WebStack, browser: Any) -> Iterator[Team]:
    """A new workspace (alice owns it, bob edits) with the people named, each in a window of their own, all
    closed after the test whatever its outcome."""
    from tests.browser.team import create_studio, open_in  # (team.py imports this module)

    opened: list[UserPage] = []

    def make(title: str, *users: str) -> tuple[str, list[UserPage]]:
        studio = create_studio(web_stack, f"{title} {uuid.uuid4().hex[:6]}")
        people = [open_in(browser, web_stack, studio, user) for user in users]
        opened.extend(people)
        return studio, people

    yield make
    for person in opened:
        person.context.close()
