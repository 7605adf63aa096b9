"""SyncWorkspaceClient: the asyncio client for code without an event loop (scripts, notebooks, threads).

The WorkspaceClient runs on an event loop in a thread of its own; each method here hands its work to that loop
and waits for the answer. Events arrive on a thread-safe queue.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

from kalexo_client.client import TokenSource, WorkspaceClient
from kalexo_client.models import Closed, Event, Item, Op

T = TypeVar("T")


class SyncWorkspaceClient:
    def __init__(self, url: str, token: TokenSource, workspace: str, **options: Any) -> None:
        """The same arguments as WorkspaceClient (on_event excepted: read `events()`)."""
        self._events: queue.Queue[Event] = queue.Queue()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"kalexo {workspace}", daemon=True)
        self._thread.start()

        async def make() -> WorkspaceClient:  # asyncio objects belong to the loop that made them
            return WorkspaceClient(url, token, workspace, on_event=self._events.put, **options)

        self.client = self._call(make(), None)

    def _call(self, work: Coroutine[Any, Any, T], timeout: float | None) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout)

    def _read(self, read: Callable[[], T]) -> T:
        async def on_loop() -> T:
            return read()

        return self._call(on_loop(), None)

    def start(self, timeout: float | None = 60.0) -> SyncWorkspaceClient:
        self._call(self.client.start(timeout), None)
        return self

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._call(self.client.close(), 30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._loop.close()

    def __enter__(self) -> SyncWorkspaceClient:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # Writing: each returns the acknowledged op (raises OpRefused when refused)

    def chat(self, text: str, *, op_id: str | None = None, timeout: float | None = None) -> Op:
        return self._call(self.client.chat(text, op_id=op_id), timeout)

    def create_item(self, item_id: str, kind: str, fields: Mapping[str, Any] | None = None, *,
                    op_id: str | None = None, timeout: float | None = None) -> Op:
        return self._call(self.client.create_item(item_id, kind, fields, op_id=op_id), timeout)

    def update_item(self, item_id: str, fields: Mapping[str, Any], *, op_id: str | None = None,
                    if_version: int | None = None, timeout: float | None = None) -> Op:
        return self._call(self.client.update_item(item_id, fields, op_id=op_id, if_version=if_version), timeout)

    def delete_item(self, item_id: str, *, op_id: str | None = None, if_version: int | None = None,
                    timeout: float | None = None) -> Op:
        return self._call(self.client.delete_item(item_id, op_id=op_id, if_version=if_version), timeout)

    def read_log(self, after: int = 0, *, timeout: float | None = 120.0) -> list[Op]:
        """Every op of the workspace's log after `after` (WorkspaceClient.read_log)."""
        return self._call(self.client.read_log(after, timeout=timeout), None)

    # Reading (copies, taken on the client's loop, so they are consistent)

    @property
    def items(self) -> dict[str, Item]:
        return self._read(lambda: {k: Item(v.item_id, v.kind, dict(v.fields), v.version)
                                   for k, v in self.client.items.items()})

    @property
    def applied(self) -> int:
        return self._read(lambda: self.client.applied)

    @property
    def online(self) -> list[str]:
        return self._read(lambda: self.client.online)

    def wait_applied(self, seq: int, timeout: float | None = 60.0) -> None:
        self._call(self.client.wait_applied(seq, timeout), None)

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Events as they come, until the client closes (or nothing arrives for `timeout` seconds)."""
        while True:
            try:
                event = self._events.get(timeout=timeout)
            except queue.Empty:
                return
            yield event
            if isinstance(event, Closed):
                return
