"""The in-process fake router for the client algorithm's tests: a router per test, a client of it, and a
scenario run with a ceiling (every wait inside is on an event)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fake_router import FakeRouter
from kalexo_client import WorkspaceClient
from kalexo_client.client import TokenSource
from recording import Recorder

CEILING = 30.0


@asynccontextmanager
async def routed(**faults: Any) -> AsyncIterator[tuple[FakeRouter, str]]:
    router = FakeRouter(**faults)
    url = await router.start()
    try:
        yield router, url
    finally:
        await router.stop()


@asynccontextmanager
async def client(url: str, user: TokenSource, recorder: Recorder | None = None,
                 **options: Any) -> AsyncIterator[WorkspaceClient]:
    async with WorkspaceClient(url, user, "w", on_event=recorder, **options) as started:
        yield started


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 120))
