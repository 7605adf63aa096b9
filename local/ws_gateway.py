"""A WebSocket API that behaves like API Gateway's, in front of the app's $connect/$default/$disconnect
functions: same event shapes, refusal on a non-2xx $connect, 128 KB messages (close 1009), idle and maximum
connection time (close 1001), and the error frame API Gateway sends when an integration fails."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from local.function_instances import FunctionInstances
from local.log import log
from local.open_connections import HEARTBEAT_EVERY_S, OpenConnections
from local.ws_events import ApiInfo, ConnectionInfo, connect_event, disconnect_event, message_event, new_connection_id

GOING_AWAY = 1001
UNSUPPORTED_DATA = 1003


@dataclass(frozen=True)
class GatewayLimits:
    max_message_bytes: int = 128 * 1024
    idle_timeout_s: float = 600.0
    max_connection_s: float = 7200.0


@dataclass(eq=False)
class LiveConnection:
    info: ConnectionInfo
    ws: web.WebSocketResponse
    opened_at: float = field(default_factory=time.monotonic)
    last_active: float = field(default_factory=time.monotonic)
    last_active_wall: float = field(default_factory=time.time)
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The connection's events are invoked one at a time, in arrival order (see local/function_instances.py).
    invoke_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    close_reason: str = "Client closed"
    closing: bool = False
    outstanding: int = 0  # messages received and not yet invoked to the end

    def touch(self) -> None:
        self.last_active, self.last_active_wall = time.monotonic(), time.time()


class WebsocketGateway:
    def __init__(self, instances: FunctionInstances, route_keys: set[str], api: ApiInfo,
                 limits: GatewayLimits, held: OpenConnections | None = None) -> None:
        self.api = api
        self.held = held  # the connections open now, on disk: a restart ends them (local/open_connections.py)
        self.limits = limits
        self._instances = instances
        self._routes = route_keys
        self.live: dict[str, LiveConnection] = {}
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.dropped = 0  # messages not invoked: their connection closed while they waited for its earlier ones

    async def _invoke(self, route_key: str, event: dict[str, Any]) -> Any:
        if route_key not in self._routes:
            return {"statusCode": 200}  # API Gateway accepts when no $connect/$disconnect route exists
        return await self._instances.invoke(route_key, event)

    def _route_for(self, data: str | bytes) -> str:
        """Chalice's route selection expression is $request.body.action; unmatched keys go to $default."""
        try:
            action = json.loads(data).get("action") if isinstance(data, str) else None
        except (ValueError, AttributeError, RecursionError):  # not JSON, not an object, nested too deep
            action = None
        if isinstance(action, str) and action in self._routes and not action.startswith("$"):
            return action
        return "$default"

    async def handle_upgrade(self, request: web.Request) -> web.StreamResponse:
        # wss://{domain}/{stage} on AWS; locally the bare host works too.
        if request.path.rstrip("/") not in ("", f"/{self.api.stage}"):
            return web.json_response({"message": "Forbidden"}, status=403)
        if request.headers.get("Upgrade", "").lower() != "websocket":
            return web.json_response({"message": "Upgrade Required"}, status=426)
        if self._stopping:  # a client reconnecting at shutdown would keep the invocations from draining
            return web.json_response({"message": "Service Unavailable"}, status=503)
        info = ConnectionInfo(new_connection_id(), request.remote or "127.0.0.1",
                              request.headers.get("User-Agent", ""))
        try:
            result = await self._invoke("$connect", connect_event(self.api, info, request.headers, request.query))
        except Exception as exc:  # the integration failed: API Gateway answers 500 and never upgrades
            log("ws", f"$connect failed: {exc!r}")
            return web.json_response({"message": "Internal server error"}, status=500)
        status = int((result or {}).get("statusCode", 200))
        if not 200 <= status < 300:
            body = (result or {}).get("body") or ""
            # The integration's headers go with the refusal, as API Gateway's Lambda proxy sends them (Retry-After).
            headers = {k: str(v) for k, v in ((result or {}).get("headers") or {}).items()
                       if k.lower() not in ("content-type", "content-length")}
            return web.Response(status=status, text=body if isinstance(body, str) else json.dumps(body),
                                content_type="application/json", headers=headers)
        # +1: aiohttp refuses a message of exactly max_msg_size; API Gateway accepts one of exactly 128 KB.
        # No permessage-deflate: API Gateway does not negotiate it (and aiohttp sizes compressed messages
        # differently).
        ws = web.WebSocketResponse(max_msg_size=self.limits.max_message_bytes + 1, autoping=False, compress=False)
        await ws.prepare(request)
        live = LiveConnection(info, ws)
        self.live[info.connection_id] = live
        if self.held is not None:
            self.held.opened(info)
        try:
            await self._read_loop(live)
        finally:
            self.live.pop(info.connection_id, None)
            # While the stack stops, its emulator's tables go with it: no $disconnect now (it would only announce
            # departures to connections that are closing too); the next start sends it (`end_left_over`).
            if not self._stopping:
                await self._disconnected(live)
                if self.held is not None:
                    self.held.closed(info.connection_id)
        return ws

    async def end_left_over(self) -> int:
        """The $disconnect (1006) of every connection a previous run held when it stopped, dated then."""
        if self.held is None:
            return 0
        left, ended_ms = self.held.left_over()
        for info in left:
            event = disconnect_event(self.api, info, 1006, "Gateway restarted", at_ms=ended_ms)
            try:
                await self._invoke("$disconnect", event)
            except Exception as exc:  # left for the next start
                log("ws", f"$disconnect of {info.connection_id}, left from the last run, failed: {exc!r}")
                continue
            self.held.closed(info.connection_id)
        return len(left)

    async def _disconnected(self, live: LiveConnection) -> None:
        event = disconnect_event(self.api, live.info, live.ws.close_code or 1006, live.close_reason)
        await asyncio.sleep(0)  # messages received just before the close take the lock first: $disconnect is last
        try:
            async with live.invoke_lock:
                await self._invoke("$disconnect", event)
        except Exception as exc:
            log("ws", f"$disconnect failed: {exc!r}")

    async def _read_loop(self, live: LiveConnection) -> None:
        ws = live.ws
        while not ws.closed:
            msg = await ws.receive()
            if msg.type == WSMsgType.TEXT:
                live.touch()
                waits = live.outstanding > 0  # behind this connection's earlier messages
                live.outstanding += 1
                self._spawn(self._dispatch(live, msg.data, waits))
            elif msg.type == WSMsgType.BINARY:
                # API Gateway does not accept binary frames in incoming messages: it closes with 1003.
                await self.close(live, UNSUPPORTED_DATA, "Binary frames are not supported")
                break
            elif msg.type == WSMsgType.PING:
                live.touch()
                await ws.pong(msg.data)
            elif msg.type == WSMsgType.ERROR:
                # aiohttp's own text names its limit, one above ours (see max_msg_size): say the documented one.
                too_big = getattr(msg.data, "code", None) == WSCloseCode.MESSAGE_TOO_BIG
                reason = (f"a message over {self.limits.max_message_bytes} bytes" if too_big else str(msg.data))
                live.close_reason = f"Protocol error: {reason}"
                log("ws", f"{live.info.connection_id} closed: {reason}")
                break
            elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED):
                break

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _dispatch(self, live: LiveConnection, data: str | bytes, waits: bool) -> None:
        """`waits`: received while earlier messages of the connection were still being invoked. A message that
        did not wait is invoked even if its connection closed a moment after sending it (a client that sends and
        closes at once: an outside client lost half of such messages), as API Gateway invokes what it received."""
        route = self._route_for(data)
        event = message_event(self.api, live.info, route, data)
        try:
            async with live.invoke_lock:
                if waits and live.ws.closed:  # queued behind this connection's earlier messages, gone since
                    self.dropped += 1
                    return
                await self._invoke(route, event)
        except Exception as exc:
            log("ws", f"{route} failed: {exc!r}")
            error = {"message": "Internal server error", "connectionId": live.info.connection_id,
                     "requestId": event["requestContext"]["requestId"]}
            with contextlib.suppress(ConnectionError):
                await self.send(live, json.dumps(error).encode())
        finally:
            live.outstanding -= 1

    async def send(self, live: LiveConnection, data: bytes) -> None:
        """Raises ConnectionError when the connection is closed or closing."""
        async with live.send_lock:
            if live.ws.closed:
                raise ConnectionResetError(live.info.connection_id)
            try:
                await live.ws.send_str(data.decode("utf-8"))
            except UnicodeDecodeError:
                await live.ws.send_bytes(data)

    async def close(self, live: LiveConnection, code: int, reason: str) -> None:
        if live.closing:
            return
        live.closing = True
        live.close_reason = reason
        await live.ws.close(code=code, message=reason.encode())

    async def watchdog(self) -> None:
        """Closes connections past API Gateway's idle timeout or maximum connection duration."""
        tick = max(0.05, min(1.0, self.limits.idle_timeout_s / 4, self.limits.max_connection_s / 4))
        beaten = 0.0
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            if self.held is not None and now - beaten >= HEARTBEAT_EVERY_S:
                self.held.beat()
                beaten = now
            for live in [c for c in self.live.values() if not c.closing]:
                if now - live.opened_at > self.limits.max_connection_s:
                    self._spawn(self.close(live, GOING_AWAY, "Maximum connection duration reached"))
                elif now - live.last_active > self.limits.idle_timeout_s:
                    self._spawn(self.close(live, GOING_AWAY, "Idle timeout reached"))

    async def shutdown(self) -> None:
        self._stopping = True
        for live in list(self.live.values()):
            await self.close(live, GOING_AWAY, "Gateway stopping")
