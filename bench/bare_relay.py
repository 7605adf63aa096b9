"""The floor for the router benchmarks: a bare `websockets` server that speaks just enough of the protocol
(docs/protocol.md) for kalexo_client to run against it unchanged, with nothing behind it.

Joins are welcomed with an empty state (or the ops after `since`), each chat op is numbered by a counter, kept
in a list for `history`, acknowledged to its sender and broadcast to every other connection; heartbeats get a
pong. No storage, no functions, no API Gateway hop: what is left is the client and one websocket hop, so the
same client against the local stack and against this shows what the router costs.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets
from websockets.asyncio.server import ServerConnection, serve

WORKSPACE = "ws-bare"
PAGE = 200


class BareRelay:
    def __init__(self) -> None:
        self.log: list[dict[str, Any]] = []
        self.members: set[ServerConnection] = set()

    async def handle(self, ws: ServerConnection) -> None:
        self.members.add(ws)
        try:
            async for raw in ws:
                message = json.loads(raw)
                reply, others = self._answer(message)
                if "id" in message:
                    reply["id"] = message["id"]
                await ws.send(json.dumps(reply))
                if others is not None:  # acked to the sender, then broadcast to the others, as the old floor did
                    websockets.broadcast(self.members - {ws}, json.dumps(others))
        except websockets.ConnectionClosed:
            pass  # the load is over: its clients go without a clean close
        finally:
            self.members.discard(ws)

    def _answer(self, message: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The reply, and what goes to every other connection (an op) or None."""
        action, latest = message.get("action"), len(self.log)
        if action == "join":
            welcome: dict[str, Any] = {"action": "welcome", "workspace": WORKSPACE, "role": "editor",
                                       "latest_seq": latest, "heartbeat_ms": 18_000, "presence": [], "online": [],
                                       "presence_more": False}
            since = message.get("since")
            if isinstance(since, int) and since <= latest:
                return {**welcome, **self._page(since)}, None
            return {**welcome, "state": {"seq": latest, "items": [], "more": False}}, None  # chat only: no items
        if action == "history":
            return {"action": "history", "workspace": WORKSPACE, **self._page(int(message.get("after", 0)))}, None
        if action == "ping":
            return {"action": "pong", "server_time": int(time.time() * 1000), "workspace": WORKSPACE,
                    "latest_seq": latest, "rejoined": False}, None
        if action == "chat":
            op = {"seq": latest + 1, "kind": "chat", "by": "bench", "at_ms": int(time.time() * 1000),
                  "data": {"text": message.get("text", "")}, "op_id": message.get("op_id")}
            self.log.append(op)
            return ({"action": "ack", "workspace": WORKSPACE, "seq": op["seq"], "op": op},
                    {"action": "op", "workspace": WORKSPACE, "op": op})
        return {"action": "error", "error": {"code": "unknown_action", "message": f"unknown action {action!r}"}}, None

    def _page(self, after: int) -> dict[str, Any]:
        ops = self.log[after:after + PAGE]
        return {"ops": ops, "more": after + len(ops) < len(self.log), "latest_seq": len(self.log)}


@asynccontextmanager
async def bare_relay(port: int) -> AsyncIterator[str]:
    """A running relay on 127.0.0.1:`port`; its websocket URL."""
    relay = BareRelay()
    async with serve(relay.handle, "127.0.0.1", port, compression=None, max_size=None):
        yield f"ws://127.0.0.1:{port}/"
