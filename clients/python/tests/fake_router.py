"""A small in-process message router for the client's unit tests: the protocol's shapes (docs/protocol.md), one
workspace, and faults on demand that the real stack produces only by chance (a held fan-out, a lost ack, the
gateway's error frame, a reset log, a silent connection).

It is no stronger than the real router where the client depends on it: ops are numbered without gaps and
checked against the state they follow, op ids are deduplicated per user, pages are small so paging is used.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kalexo_client.models import Op
from kalexo_client.replica import Replica
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response


@dataclass
class Connection:
    ws: ServerConnection
    user: str
    number: int
    joined: bool = False
    tokens: float | None = None  # the connection's rate budget (per_second), as chalicelib/domain/token_bucket.py
    refilled: float = 0.0


@dataclass
class FakeRouter:
    workspace: str = "w"
    page: int = 2  # items per state page, ops per welcome or history page
    log: list[dict[str, Any]] = field(default_factory=list)
    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (user, message), every message
    # Faults: each a count of the next messages it applies to, used up as it goes.
    hold_fanout: int = 0  # ops stored but not sent live to the others
    swap_fanout: int = 0  # an op sent live only after the next one (parallel posts arriving out of order)
    lose_ack: int = 0  # ops stored, then the connection is cut instead of the ack
    gateway_errors: int = 0  # ops stored, then API Gateway's error frame instead of the ack
    rate_limits: int = 0  # ops refused with rate_limited
    not_joined_pings: int = 0  # heartbeats answered not_joined (a sweep took the connection out)
    silent: bool = False  # nothing is answered at all
    refuse_upgrade: int | None = None  # an HTTP status for every connect
    refused_tokens: set[str] = field(default_factory=set)  # answered 401 invalid_token at connect
    per_second: float | None = None  # a per-connection rate limit, as the real router's (bursts of twice it)

    def __post_init__(self) -> None:
        self.state = Replica()
        self.state.loaded = True
        self.by_op_id: dict[tuple[str, str], dict[str, Any]] = {}
        self.connections: dict[int, Connection] = {}
        self._numbers = itertools.count(1)
        self._server: Server | None = None
        self._snapshots: dict[int, list[dict[str, Any]]] = {}
        self.subscribers: set[int] = set()  # connections following the event log
        self._swapped: tuple[Connection, dict[str, Any]] | None = None

    async def start(self) -> str:
        self._server = await serve(self._handle, "127.0.0.1", 0, process_request=self._upgrade)
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}/"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def reset_log(self) -> None:
        """Forget everything, as a local stack started afresh does."""
        self.log.clear()
        self.by_op_id.clear()
        self._snapshots.clear()
        self.state = Replica()
        self.state.loaded = True

    def joins(self, user: str) -> list[dict[str, Any]]:
        return [m for u, m in self.received if u == user and m.get("action") == "join"]

    def _upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        token = parse_qs(urlsplit(request.path).query).get("token", [""])[0]
        if token in self.refused_tokens:
            body = json.dumps({"error": {"code": "invalid_token", "message": "the token is not valid"}}).encode()
            return Response(401, "Unauthorized", Headers({"Content-Type": "application/json"}), body)
        if self.refuse_upgrade is None:
            return None
        body = json.dumps({"error": {"code": "not_found", "message": "no such workspace"}}).encode()
        return Response(self.refuse_upgrade, "Refused", Headers({"Content-Type": "application/json"}), body)

    async def _handle(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path if ws.request else "/").query)
        conn = Connection(ws, query.get("token", ["anonymous"])[0], next(self._numbers))
        self.connections[conn.number] = conn
        try:
            async for raw in ws:
                message = json.loads(raw)
                self.received.append((conn.user, message))
                if not self.silent:
                    await self._dispatch(conn, message)
        finally:
            self.connections.pop(conn.number, None)
            self.subscribers.discard(conn.number)

    async def _reply(self, conn: Connection, message: dict[str, Any], answer: dict[str, Any]) -> None:
        if "id" in message:
            answer["id"] = message["id"]
        await conn.ws.send(json.dumps(answer))

    async def _error(self, conn: Connection, message: dict[str, Any], code: str, text: str = "") -> None:
        await self._reply(conn, message, {"action": "error", "error": {"code": code, "message": text or code}})

    async def _dispatch(self, conn: Connection, message: dict[str, Any]) -> None:
        action = message.get("action")
        if action == "join":
            await self._join(conn, message)
        elif action == "state":
            items = self._snapshots[int(message["seq"])]
            start = int(message["after"])
            await self._reply(conn, message, {"action": "state", "workspace": self.workspace, "seq": message["seq"],
                                              **self._items_page(items, start)})
        elif action == "history":
            after, limit = int(message["after"]), min(int(message.get("limit", 100)), self.page)
            ops = self.log[after:after + limit]
            await self._reply(conn, message, {"action": "history", "workspace": self.workspace, "ops": ops,
                                              "latest_seq": len(self.log), "more": after + len(ops) < len(self.log)})
        elif action == "ping":
            if self.not_joined_pings or not conn.joined:
                self.not_joined_pings = max(0, self.not_joined_pings - 1)
                conn.joined = False
                await self._error(conn, message, "not_joined")
            else:
                await self._reply(conn, message, {"action": "pong", "server_time": 0, "workspace": self.workspace,
                                                  "latest_seq": len(self.log), "rejoined": False})
        elif action in ("chat", "item.create", "item.update", "item.delete"):
            await self._op(conn, message)
        elif action == "events.subscribe":
            self.subscribers.add(conn.number)
            await self._reply(conn, message, {"action": "events.subscribed", "scope": "acc-test"})

    async def publish(self, event: dict[str, Any]) -> None:
        """An event recorded now: sent to every subscribed connection."""
        for number in list(self.subscribers):
            conn = self.connections.get(number)
            if conn is not None:
                await conn.ws.send(json.dumps({"action": "event", "event": event}))

    def cut_all(self) -> None:
        for conn in list(self.connections.values()):
            conn.ws.transport.abort()

    def _items_page(self, items: list[dict[str, Any]], start: int) -> dict[str, Any]:
        page = items[start:start + self.page]
        more = start + len(page) < len(items)
        return {"items": page, "more": more, "next": str(start + len(page)) if more else None}

    async def _join(self, conn: Connection, message: dict[str, Any]) -> None:
        conn.joined = True
        since, latest = message.get("since"), len(self.log)
        here = [c for c in self.connections.values() if c.joined]  # presence as the router gives it, own included
        welcome: dict[str, Any] = {
            "action": "welcome", "workspace": self.workspace, "connection": f"c{conn.number}", "role": "editor",
            "latest_seq": latest, "heartbeat_ms": 18000, "online": sorted({c.user for c in here}),
            "presence": [{"connection": f"c{c.number}", "user": c.user, "presence": {"status": "active"}}
                         for c in here], "presence_more": False, "presence_next": None}
        if since is None or since > latest:
            self._snapshots[latest] = self.state.snapshot()
            welcome["state"] = {"seq": latest, **self._items_page(self._snapshots[latest], 0)}
            if since is not None:
                welcome["reset"] = True
        else:
            ops = self.log[since:since + self.page]
            welcome.update(ops=ops, more=since + len(ops) < latest)
        await self._reply(conn, message, welcome)

    def _over_rate(self, conn: Connection) -> int | None:
        """The retry_after_ms of a message past the connection's budget; None when it passes."""
        if self.per_second is None:
            return None
        now, burst = asyncio.get_running_loop().time(), 2 * self.per_second
        tokens = burst if conn.tokens is None else min(burst, conn.tokens + (now - conn.refilled) * self.per_second)
        conn.refilled = now
        if tokens >= 1:
            conn.tokens = tokens - 1
            return None
        conn.tokens = tokens
        return max(1, int((1 - tokens) / self.per_second * 1000 + 0.999))

    async def _op(self, conn: Connection, message: dict[str, Any]) -> None:
        retry_after = self._over_rate(conn)
        if retry_after is not None:
            await self._reply(conn, message, {"action": "error", "error": {
                "code": "rate_limited", "message": f"too many messages; retry in {retry_after} ms",
                "retry_after_ms": retry_after}})
            return
        if self.rate_limits:
            self.rate_limits -= 1
            await self._reply(conn, message, {"action": "error", "error": {  # as chalicelib/services/router.py
                "code": "rate_limited", "message": "too many messages; retry in 20 ms", "retry_after_ms": 20}})
            return
        key = (conn.user, str(message.get("op_id")))
        if key in self.by_op_id:
            stored = self.by_op_id[key]
            await self._reply(conn, message, {"action": "ack", "workspace": self.workspace, "seq": stored["seq"],
                                              "op": stored, "duplicate": True})
            await self._fanout(conn, stored)
            return
        refusal = self._check(message)
        if refusal is not None:
            await self._error(conn, message, refusal)
            return
        action = str(message["action"])
        data = {k: v for k, v in message.items() if k not in ("action", "workspace", "op_id", "id")}
        if action == "item.create" and data.get("kind") in ("note", "task"):  # the server writes the author
            data["fields"] = {**dict(data.get("fields") or {}), "by": conn.user}
        stored = {"seq": len(self.log) + 1, "kind": action, "by": conn.user, "at_ms": 0, "data": data,
                  "op_id": message.get("op_id")}
        self.log.append(stored)
        self.by_op_id[key] = stored
        self.state.receive(Op.from_wire(stored))
        await self._answer_op(conn, message, stored)

    async def _answer_op(self, conn: Connection, message: dict[str, Any], stored: dict[str, Any]) -> None:
        if self.hold_fanout:
            self.hold_fanout -= 1
        elif self.swap_fanout and self._swapped is None:
            self.swap_fanout -= 1
            self._swapped = (conn, stored)
        else:
            await self._fanout(conn, stored)
            if self._swapped is not None:
                held, self._swapped = self._swapped, None
                await asyncio.sleep(0.05)  # a moment later, as a post from a slower instance
                await self._fanout(*held)
        if self.lose_ack:
            self.lose_ack -= 1
            conn.ws.transport.abort()
        elif self.gateway_errors:
            self.gateway_errors -= 1
            await conn.ws.send(json.dumps({"message": "Internal server error", "connectionId": "x"}))
        else:
            await self._reply(conn, message, {"action": "ack", "workspace": self.workspace, "seq": stored["seq"],
                                              "op": stored})

    def _check(self, message: dict[str, Any]) -> str | None:
        item_id = message.get("item_id")
        live = isinstance(item_id, str) and item_id in self.state.items
        if message["action"] == "item.create" and live:
            return "item_exists"
        if message["action"] in ("item.update", "item.delete") and not live:
            return "item_not_found"
        if message["action"] == "item.update" and "by" in (message.get("fields") or {}):
            return "bad_op"  # a note's author is the server's (chalicelib/domain/sync.py attributed)
        return None

    async def _fanout(self, sender: Connection, op: dict[str, Any]) -> None:
        for conn in list(self.connections.values()):
            if conn is not sender and conn.joined:
                await conn.ws.send(json.dumps({"action": "op", "workspace": self.workspace, "op": op}))
