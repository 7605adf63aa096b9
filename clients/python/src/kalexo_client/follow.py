"""Following the event log live (`events.subscribe`, administrators), reconnecting after a drop.

Events recorded while the websocket was down are not sent again on the new connection, so after each
reconnect the gap is read from `GET /admin/events` (from the last event seen) and handed out first, once
each (events are told apart by `event_id`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from kalexo_client import wire
from kalexo_client.api import KalexoApi
from kalexo_client.errors import Failed, Refused
from kalexo_client.events import Backoff
from kalexo_client.rest import error_of_body

log = logging.getLogger("kalexo_client")


class _Seen:
    """The last events handed out, by id (bounded), and the newest time among them."""

    def __init__(self, kept: int = 10_000) -> None:
        self._order: deque[str] = deque(maxlen=kept)
        self._ids: set[str] = set()
        self.last_ms: int | None = None  # the newest event's time (the server's clock)
        self.started_ms: int | None = None  # when following started (this machine's clock)

    def since_ms(self) -> int | None:
        """From when a reconnect reads back the events it may have missed (None: the first subscription)."""
        return self.last_ms if self.last_ms is not None else self.started_ms

    def fresh(self, event: dict[str, Any]) -> bool:
        key = str(event.get("event_id"))
        if key in self._ids:
            return False
        if len(self._order) == self._order.maxlen:
            self._ids.discard(self._order[0])
        self._order.append(key)
        self._ids.add(key)
        if isinstance(event.get("at_ms"), int):
            self.last_ms = max(self.last_ms or 0, event["at_ms"])
        return True


async def follow_events(ws_url: str, token: str, *, account_id: str | None = None, api: KalexoApi | None = None,
                        on_subscribed: Callable[[str], None] | None = None,
                        on_lost: Callable[[str], None] | None = None, backoff: Backoff | None = None,
                        connect_deadline: float | None = 30.0) -> AsyncIterator[dict[str, Any]]:
    """Every new event (the shape of `GET /admin/events` items), for ever. `on_subscribed(scope)` each time a
    subscription starts, `on_lost(reason)` each time a subscribed connection is lost (it reconnects). With
    `api`, events missed while reconnecting are read back over REST. Raises Refused when the server refuses
    (not an administrator: `forbidden`; a bad token: 401; a URL that is not ws:// or wss://: `bad_url`), and
    Failed when no subscription starts within `connect_deadline` seconds (None: keep trying); once one has,
    it reconnects with backoff for ever."""
    backoff, seen, attempt = backoff or Backoff(), _Seen(), 0
    parts = urlsplit(ws_url)
    url = urlunsplit((parts.scheme, parts.netloc, parts.path or "/",
                      urlencode([*parse_qsl(parts.query), ("token", token)]), ""))
    started = time.monotonic()
    while True:
        try:
            async with connect(url, ping_interval=20, compression=None,
                               open_timeout=_open_timeout(started, connect_deadline, seen)) as ws:
                async for event in _subscription(ws, seen, account_id, api, on_subscribed):
                    attempt = 0
                    yield event
        except InvalidURI as exc:
            raise Refused("bad_url", wire.redact(str(exc))) from None
        except InvalidStatus as exc:
            code, text = error_of_body(exc.response.body or b"", exc.response.status_code)
            if exc.response.status_code != 429:
                raise Refused(code, text, exc.response.status_code) from None
            reason = "HTTP 429"
        except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as exc:
            reason = wire.redact(str(exc) or type(exc).__name__)
            log.info("event log connection lost (%s): reconnecting", reason)
        else:
            reason = "the server ended the subscription"
        if seen.started_ms is None and connect_deadline is not None \
                and time.monotonic() - started >= connect_deadline:
            raise Failed(f"could not follow the event log at {wire.redact(ws_url)} within "
                         f"{connect_deadline:.0f} s: {reason}")
        if seen.started_ms is not None and on_lost is not None:
            on_lost(reason)
        pause = backoff.delay(attempt)
        if seen.started_ms is None and connect_deadline is not None:  # a last try at the deadline
            pause = min(pause, max(0.0, started + connect_deadline - time.monotonic()))
        await asyncio.sleep(pause)
        attempt += 1


def _open_timeout(started: float, deadline: float | None, seen: _Seen) -> float:
    if deadline is None or seen.started_ms is not None:
        return 10.0
    return max(0.1, min(10.0, started + deadline - time.monotonic()))


async def _subscription(ws: ClientConnection, seen: _Seen, account_id: str | None, api: KalexoApi | None,
                        on_subscribed: Callable[[str], None] | None) -> AsyncIterator[dict[str, Any]]:
    subscribe: dict[str, Any] = {"action": "events.subscribe", "id": "subscribe"}
    if account_id is not None:
        subscribe["account_id"] = account_id
    await ws.send(wire.dumps(subscribe))
    async for raw in ws:
        message = wire.loads(raw)
        action = message.get("action")
        if action == "events.subscribed":
            if on_subscribed is not None:
                on_subscribed(str(message.get("scope")))
            since = seen.since_ms()
            if since is None:  # the first subscription: a later gap is read back from the last event, or now
                seen.started_ms = int(time.time() * 1000)
            elif api is not None:
                for event in await asyncio.to_thread(_missed, api, since, account_id):
                    if seen.fresh(event):
                        yield event
        elif action == "event" and seen.fresh(message.get("event") or {}):
            yield message["event"]
        elif action == "error":
            error = message.get("error") or {}
            raise Refused(str(error.get("code")), str(error.get("message")))


def _missed(api: KalexoApi, since_ms: int, account_id: str | None) -> list[dict[str, Any]]:
    """Events from `since_ms` on, oldest first (the route lists newest first)."""
    events = api.events(limit=1000, since_ms=since_ms, account_id=account_id)
    return sorted(events, key=lambda event: (event.get("at_ms", 0), str(event.get("event_id"))))
