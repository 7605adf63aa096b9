"""WorkspaceClient: one workspace, followed over the websocket, with a replica that always ends equal to the server's.

It runs docs/protocol.md's "client algorithm": connect (backoff and jitter), join or resume, apply ops strictly
in sequence (ops received past a gap wait in the replica's pending while `history` fills the gap), heartbeat on
a fixed beat whatever else arrives, and after any drop reconnect, resume and send every unanswered op again
with its op_id (stored ones come back as duplicates with their first sequence). Message handling is in
receive.py; the connection loop and the public API are here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

from kalexo_client import wire
from kalexo_client.connecting import Attempts, TokenSource, connect_url, judge_refused_upgrade
from kalexo_client.errors import ClientClosed, Failed, Refused
from kalexo_client.events import Backoff, EventHub, EventStream
from kalexo_client.history import LogReader
from kalexo_client.link import Link, Retry, WireTap, heartbeat
from kalexo_client.models import Closed, Connected, ConnectFailed, Disconnected, Event, Item, Op

log = logging.getLogger("kalexo_client")
__all__ = ["TokenSource", "WorkspaceClient"]


class WorkspaceClient(LogReader):
    def __init__(self, url: str, token: TokenSource, workspace: str, *,
                 on_event: Callable[[Event], None] | None = None, backoff: Backoff | None = None,
                 heartbeat_timeout: float = 20.0, heartbeat_interval: float | None = None,
                 request_timeout: float = 30.0, open_timeout: float = 10.0, wire_tap: WireTap | None = None,
                 connect_deadline: float | None = 30.0, connect_attempts: int | None = None,
                 max_in_flight: int = 8) -> None:
        """`url` is the websocket API (`wss://.../<stage>`, `ws://127.0.0.1:8001/` locally); `token` a bearer
        token, or a function returning a fresh one at each connect. `heartbeat_interval` overrides the
        welcome's `heartbeat_ms` (tests); `heartbeat_timeout` is how long silence after a heartbeat means the
        connection is dead (20 s, the protocol's bound). `wire_tap(direction, text)` sees every message as
        sent ("sent") or received ("received") on every connection: for logs and tests that check each answer.
        Until the first sync, the client gives up (start() raises Failed) once `connect_deadline` seconds have
        passed or `connect_attempts` attempts have failed (None: no bound); each failed attempt is a
        ConnectFailed event. Once synced, it reconnects with backoff for as long as it runs. At most
        `max_in_flight` ops are unanswered on the connection at once; a `rate_limited` answer pauses all
        sending for its `retry_after_ms`, then ops go out one per that delay until none are left."""
        super().__init__(workspace, EventHub(on_event), request_timeout)
        self.url = url
        self._token = token
        self._backoff = backoff or Backoff()
        self._heartbeat_timeout = heartbeat_timeout
        self._heartbeat_interval = heartbeat_interval
        self._open_timeout = open_timeout
        self._wire_tap = wire_tap
        self._connect_deadline = connect_deadline
        self._connect_attempts = connect_attempts
        self._used_token: str | None = None  # the token of the last connect
        self._outbox.max_in_flight = max(1, max_in_flight)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.connects = 0

    # Lifecycle

    async def start(self, timeout: float | None = 60.0) -> None:
        """Connect and join; returns once the replica holds the workspace's state (raises Refused if the
        server refuses this user or workspace for good, TimeoutError after `timeout`: close() it then, or it
        keeps trying). A client closed by close() may start again: it resumes from its replica, as after a drop."""
        if self.failure is not None:
            raise self.failure
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name=f"kalexo {self.workspace}")
        await self.hub.wait_for(lambda: self.failure is not None or (self.replica.loaded and self._synced), timeout)
        if self.failure is not None:
            raise self.failure

    async def close(self) -> None:
        """Stop: the connection closes, unanswered ops fail with ClientClosed (they may have been stored)."""
        if self._closing and self._task is None:
            return
        self._closing = True
        link = self._link
        if link is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(link.ws.close(), 2)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._outbox.fail_all(ClientClosed("the client was closed"))
        if self.failure is None:
            self.hub.emit(Closed(None))

    async def __aenter__(self) -> WorkspaceClient:
        try:
            await self.start()
        except BaseException:
            await self.close()  # refused, or not synced in time: nothing keeps running behind the caller
            raise
        return self

    async def __aexit__(self, kind: type[BaseException] | None, value: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    def _fail(self, error: BaseException) -> None:
        if self.failure is not None:
            return
        self.failure = error
        self._closing = True
        self._outbox.fail_all(error)
        self.hub.emit(Closed(error))
        if self._link is not None:
            self._link.abort()

    # What callers read and wait for

    @property
    def items(self) -> dict[str, Item]:
        return self.replica.items

    @property
    def applied(self) -> int:
        return self.replica.applied

    @property
    def connected(self) -> bool:
        return self._link is not None and self._sending

    @property
    def unanswered(self) -> int:
        """Ops sent or waiting to be sent that have no answer yet."""
        return len(self._outbox)

    @property
    def own_presence(self) -> dict[str, Any]:
        """What this client last announced with set_presence() (`{"status": "active"}` before): the server does
        not echo a connection's own announcements into `presence`, so this one's is as announced here."""
        return dict(self._presence_wanted or {"status": "active"})

    def events(self) -> EventStream:
        """A stream of every event from now on (iterate it with `async for`)."""
        return EventStream(self.hub)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float | None = 60.0) -> None:
        await self.hub.wait_for(lambda: self.failure is not None or predicate(), timeout)
        if self.failure is not None and not predicate():
            raise self.failure

    async def wait_applied(self, seq: int, timeout: float | None = 60.0) -> None:
        """Until the replica has applied op `seq` (and so every op before it)."""
        await self.wait_for(lambda: self.replica.applied >= seq, timeout)

    def drop_connection(self) -> None:
        """Cut the current connection without a close handshake, as a lost network does; the client reconnects
        and resumes (for tests, and to force a reconnect)."""
        if self._link is not None:
            self._link.abort()

    # Writing (each returns the op as stored, once acknowledged; send again after a drop is automatic)

    async def chat(self, text: str, *, op_id: str | None = None) -> Op:
        return await self._submit({"action": "chat", "text": text}, op_id)

    async def create_item(self, item_id: str, kind: str, fields: Mapping[str, Any] | None = None, *,
                          op_id: str | None = None) -> Op:
        return await self._submit({"action": "item.create", "item_id": item_id, "kind": kind,
                                   "fields": dict(fields or {})}, op_id)

    async def update_item(self, item_id: str, fields: Mapping[str, Any], *, op_id: str | None = None,
                          if_version: int | None = None) -> Op:
        """Set each field; a None value removes that field. `if_version`: the item's version the change was made
        from; refused (OpRefused, `conflict`) if another op changed the item since."""
        return await self._submit({"action": "item.update", "item_id": item_id, "fields": dict(fields)}, op_id,
                                  if_version)

    async def delete_item(self, item_id: str, *, op_id: str | None = None, if_version: int | None = None) -> Op:
        return await self._submit({"action": "item.delete", "item_id": item_id}, op_id, if_version)

    async def set_presence(self, status: str = "active", *, viewport: Mapping[str, float] | None = None,
                           cursor: Mapping[str, float] | None = None) -> None:
        """Announce where this user is; sent again after each rejoin. Answered only when refused."""
        presence: dict[str, Any] = {"status": status}
        if viewport is not None:
            presence["viewport"] = dict(viewport)
        if cursor is not None:
            presence["cursor"] = dict(cursor)
        self._presence_wanted = presence
        self._keep_own_presence()
        link = self._link
        if link is not None and self._sending:
            await link.send({"action": "presence", "workspace": self.workspace, **presence})

    async def _submit(self, body: dict[str, Any], op_id: str | None, if_version: int | None = None) -> Op:
        if self.failure is not None:
            raise self.failure
        if self._closing:
            raise ClientClosed("the client was closed")
        message = wire.op_message(body, self.workspace, op_id, if_version)
        wire.dumps(message)  # too large for the gateway: refused here, never sent (it would close the connection)
        entry = self._outbox.add(message)
        self._mine.add(message["op_id"])
        self._pump_wake.set()  # the connection's sending task sends it, in order and within the rate limit
        self.hub.changed()
        # Shielded: a caller that stops waiting does not withdraw the op (it may already be stored).
        return await asyncio.shield(entry.future)

    # The connection loop

    def _connect_url(self) -> str:
        token = self._token() if callable(self._token) else self._token
        self._used_token = token
        return connect_url(self.url, token, self.workspace)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        tries = Attempts(self._backoff, self._open_timeout, self._connect_deadline, self._connect_attempts,
                         loop.time())
        while not self._closing:
            ws, delay, failure = await self._connect(tries.attempt, tries.timeout(loop.time(), self.replica.loaded))
            if ws is not None:
                self.hub.emit(Connected(self.connects))
                self.connects += 1
                synced = await self._serve(ws)
                if self._closing:
                    break
                self.hub.emit(Disconnected(ws.close_reason or "connection lost", ws.close_code))
                if synced:
                    tries.attempt = 0
                elif not self.replica.loaded:
                    failure = "connected, but the join was not answered"
            if self._closing:
                break
            if failure is not None:
                self.hub.emit(ConnectFailed(tries.attempt, failure))
                if tries.failed(loop.time(), self.replica.loaded):
                    self._fail(Failed(f"could not connect to {wire.redact(self.url)} ({tries.failures} attempts "
                                      f"in {loop.time() - tries.started:.0f} s): {failure}"))
                    break
            await asyncio.sleep(tries.pause(delay, loop.time(), self.replica.loaded))

    async def _connect(self, attempt: int, open_timeout: float) -> tuple[ClientConnection | None, float | None,
                                                                         str | None]:
        """One connect: the connection; or None, the delay the server asked for, and what went wrong."""
        try:
            ws = await connect(self._connect_url(), open_timeout=open_timeout, ping_interval=None,
                               close_timeout=2, compression=None, max_size=2**20)
        except InvalidStatus as exc:
            return None, self._refused_at_connect(exc, attempt), f"HTTP {exc.response.status_code}"
        except InvalidURI as exc:  # its text is the whole URL, token included
            self._fail(Refused("bad_url", wire.redact(str(exc))))
            return None, None, None
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            failure = wire.redact(str(exc) or type(exc).__name__)
            log.info("connect to %s failed: %s", wire.redact(self.url), failure)
            return None, None, failure
        return ws, None, None

    def _refused_at_connect(self, exc: InvalidStatus, attempt: int) -> float | None:
        refusal, delay = judge_refused_upgrade(exc, self._token, self._used_token, self._backoff.delay(attempt))
        if refusal is not None:
            self._fail(refusal)
        return delay

    async def _serve(self, ws: ClientConnection) -> bool:
        """One connection, from the join to its end; True when it got as far as a handled welcome."""
        link = Link(ws, self._on_message, self._wire_tap)
        self._link = link
        reader = asyncio.create_task(link.run())
        tasks: list[asyncio.Task[Any]] = [reader]
        try:
            try:
                await self._join(link, self.replica.applied if self.replica.loaded else None)
            except Refused as exc:
                self._fail(exc)  # not a member (any more), or the user is gone: reconnecting will not help
                return False
            except (Retry, TimeoutError) as exc:
                log.info("join failed (%s): reconnecting", exc)
                link.abort()
                return False
            beat = self._heartbeat_interval or self.heartbeat_ms / 1000  # the welcome's, unless a test sets it
            tasks += [asyncio.create_task(heartbeat(link, self.workspace, beat, self._heartbeat_timeout)),
                      asyncio.create_task(self._catch_up(link)), asyncio.create_task(self._pump(link))]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            return True
        finally:
            self._link = None
            self._synced = self._sending = False
            for task in [*tasks, *self._link_tasks]:
                task.cancel()
            await asyncio.gather(*tasks, *self._link_tasks, return_exceptions=True)
            self._link_tasks.clear()
            link.abort()  # whatever ended it (a heartbeat timeout, a failed join, a task's error): the socket goes
            self.hub.changed()
