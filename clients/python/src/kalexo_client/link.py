"""One open websocket: strict JSON out, replies matched to requests by `id`, everything else to a callback.

A link lives as long as its connection; the client (client.py) makes a new one for every reconnect.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from kalexo_client import wire
from kalexo_client.errors import Failed, Refused

log = logging.getLogger("kalexo_client")
_links = itertools.count(1)


class Retry(Failed):
    """A request that may or may not have been handled (`busy`, `internal_error`, the gateway's own error)."""


WireTap = Callable[[str, str], None]  # (direction "sent" or "received", the message as text)

RETRYABLE = frozenset({"busy", "internal_error", "access_changed", "rate_limited", "not_connected"})


class Link:
    def __init__(self, ws: ClientConnection, on_message: Callable[[dict[str, Any]], None],
                 tap: WireTap | None = None) -> None:
        self.ws = ws
        self._tap = tap
        self.number = next(_links)
        self._on_message = on_message
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self.closed = asyncio.Event()
        # When the first heartbeat that nothing has followed was sent: the connection is dead once nothing at
        # all arrives for the heartbeat timeout after it (a later heartbeat must not push that moment back).
        self.unanswered_since: float | None = None

    async def send(self, message: dict[str, Any]) -> bool:
        """Send one message; False when the connection is already gone (its reader is ending it)."""
        text = wire.dumps(message)
        try:
            await self.ws.send(text)
        except ConnectionClosed:
            return False
        self._tapped("sent", text)
        return True

    def _tapped(self, direction: str, text: str | bytes) -> None:
        if self._tap is None:
            return
        try:
            self._tap(direction, text if isinstance(text, str) else text.decode(errors="replace"))
        except Exception:  # an observer's bug must not end the connection
            log.exception("the wire tap failed")

    async def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send and wait for the answer with the same id: the reply, or Refused / Retry for an error."""
        request_id = f"q{self.number}-{next(self._ids)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        try:
            if not await self.send({**message, "id": request_id}):
                raise Retry("the connection closed")
            async with asyncio.timeout(timeout):
                return await future
        finally:
            self._waiting.pop(request_id, None)

    def note_heartbeat(self, now: float) -> None:
        if self.unanswered_since is None:
            self.unanswered_since = now

    async def run(self) -> None:
        """Read until the connection ends; every request still waiting then fails with Retry."""
        try:
            async for raw in self.ws:
                self.unanswered_since = None
                self._tapped("received", raw)
                try:
                    message = wire.loads(raw)
                except ValueError:
                    log.warning("unreadable message from the server: %.200r", raw)
                    continue
                if isinstance(message, dict):
                    try:
                        self._dispatch(message)
                    except Exception:  # a handler's bug must not end the connection, or hide: log it
                        log.exception("handling %.200r failed", message)
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            self.fail_waiting(Retry("the connection closed"))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "action" not in message:
            # API Gateway's own answer to a message it could not hand to the function ("Internal server error",
            # no action, no id): whatever is outstanding may or may not have been handled.
            self.fail_waiting(Retry(str(message.get("message", "the gateway could not deliver a message"))))
        ident = message.get("id")
        future = self._waiting.get(ident) if isinstance(ident, str) else None
        if future is None or future.done():
            self._on_message(message)
            return
        if message.get("action") == "error":
            error = message.get("error") or {}
            code, text = str(error.get("code", "error")), str(error.get("message", ""))
            future.set_exception(Retry(f"{code}: {text}") if code in RETRYABLE else Refused(code, text))
        else:
            future.set_result(message)

    def fail_waiting(self, error: BaseException) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(error)

    def abort(self) -> None:
        """Drop the connection at once, without a close handshake (a dead network looks the same)."""
        transport = self.ws.transport
        if transport is not None:
            transport.abort()


async def heartbeat(link: Link, workspace: str, interval: float, timeout: float) -> None:
    """Every heartbeat interval, fixed, whatever else arrives; nothing at all received within the heartbeat
    timeout of a heartbeat means the connection is dead (close it: the run loop reconnects)."""
    loop = asyncio.get_running_loop()
    # The first beat at a random point of the first interval: clients that connected together (a reconnect
    # storm, a benchmark) would otherwise beat together for ever, a burst of presence writes each time.
    next_beat, beats = loop.time() + interval * random.uniform(0.5, 1.0), 0  # noqa: S311 - spreading load
    while True:
        now = loop.time()
        silent_since = link.unanswered_since
        if silent_since is not None and now - silent_since >= timeout:
            log.info("nothing received %.0f s after a heartbeat: reconnecting", now - silent_since)
            link.abort()
            return
        if now >= next_beat:
            beats += 1
            link.note_heartbeat(now)
            await link.send({"action": "ping", "workspace": workspace, "id": f"hb-{beats}"})
            next_beat += interval
            if next_beat <= now:  # this loop ran late (a busy machine): keep the beat, skip the missed ones
                next_beat = now + interval
        wake = next_beat if link.unanswered_since is None else min(
            next_beat, link.unanswered_since + timeout)
        await asyncio.sleep(max(0.0, wake - loop.time()))
