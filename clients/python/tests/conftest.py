"""The client's tests: unit tests (pure, or against an in-process fake router) and end-to-end tests against the
whole local stack, started once for this directory's session with tests/e2e/stack.py and stopped by its finaliser.

They run from the repository's root (`make test`; its pyproject's pythonpath puts the root on sys.path, so
`tests.e2e.stack` imports). This directory has no __init__.py on purpose: as a package it would be a second
top-level `tests`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kalexo_client import KalexoApi

# The session's process-leak check (every process a test starts must be stopped): importing it marks the
# processes this session starts, and re-exporting the hook runs the check when only these tests are collected.
from tests.conftest import pytest_sessionfinish  # noqa: F401
from tests.e2e.stack import LocalStack, start_stack, stop_stack

PRESENCE_STALE_S = 5  # heartbeats every second, so every test exercises them
MULTIPART_THRESHOLD = 6 * 1024**2


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    running = start_stack(tmp_path_factory.mktemp("client-stack"), "--workers", "2",
                          settings={"KALEXO_PRESENCE_STALE_SECONDS": str(PRESENCE_STALE_S),
                                    "KALEXO_MULTIPART_THRESHOLD_BYTES": str(MULTIPART_THRESHOLD)})
    try:
        yield running
    finally:
        stop_stack(running)


@dataclass
class Space:
    """A fresh workspace of acc-demo: alice owns it, bob edits, vera views."""

    stack: LocalStack
    workspace: str

    def token(self, user: str) -> str:
        return self.stack.token(user)

    def api(self, user: str = "alice") -> KalexoApi:
        return KalexoApi(self.stack.rest, self.token(user))


@pytest.fixture
def space(stack: LocalStack) -> Space:
    api = KalexoApi(stack.rest, stack.token("alice"))
    created = api.create_workspace("acc-demo", f"client test {uuid.uuid4().hex[:8]}", owner_id="alice")
    workspace = str(created["workspace_id"])
    api.set_member(workspace, "bob", "editor")
    api.set_member(workspace, "vera", "viewer")
    return Space(stack, workspace)


def two_page_pdf(path: Path, pages: int = 2) -> Path:
    import pymupdf  # the imaging layer's, installed for the stack's workers

    document = pymupdf.open()  # type: ignore[no-untyped-call]
    for number in range(pages):
        page = document.new_page(width=595, height=842)
        page.insert_text((72, 72), f"kalexo client test, page {number + 1}")
    document.save(str(path))  # type: ignore[no-untyped-call]
    return path
