"""Handing events out: async streams (each with its own queue) and plain callbacks; plus the reconnect backoff."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from kalexo_client.models import Closed, Event

log = logging.getLogger("kalexo_client")


class EventStream:
    """Every event from the moment it was made, in order, until the client closes (`async for ev in stream`)."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._ended = False
        hub.streams.append(self)  # registered now, not at the first iteration: nothing made after this is missed

    def put(self, event: Event) -> None:
        self._queue.put_nowait(event)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        if self._ended and self._queue.empty():
            raise StopAsyncIteration
        event = await self._queue.get()
        if isinstance(event, Closed):
            self._ended = True
        return event

    async def next(self, timeout: float | None = None) -> Event:
        async with asyncio.timeout(timeout):
            return await self.__anext__()

    def close(self) -> None:
        if self in self._hub.streams:
            self._hub.streams.remove(self)


class EventHub:
    def __init__(self, callback: Callable[[Event], None] | None = None) -> None:
        self.streams: list[EventStream] = []
        self.callback = callback
        # Waiters on the client's state wait for the next change: a fresh Event per change, set once.
        self._changed = asyncio.Event()

    def emit(self, event: Event) -> None:
        for stream in list(self.streams):
            stream.put(event)
        if self.callback is not None:
            try:
                self.callback(event)
            except Exception:
                log.exception("the on_event callback failed on %r", event)
        self.changed()

    def changed(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float | None) -> None:
        """Until `predicate()` holds, checked after every change of the client's state."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnects: 0.25 s, 0.5 s, 1 s, ... up to 8 s, each with jitter (docs/protocol.md, step 1)."""

    first: float = 0.25
    cap: float = 8.0
    jitter: float = 0.5  # the share of each delay drawn at random, so clients dropped together spread out

    def delay(self, attempt: int) -> float:
        base = min(self.cap, self.first * 2.0 ** min(attempt, 16))
        return base * (1 - self.jitter * random.random())  # noqa: S311 - spreading retries, not secrecy
