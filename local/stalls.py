"""Faults on purpose in the websocket functions, for tests and for people trying the stack: pause a function
instance in the middle of an invocation for a chosen time (as a Lambda instance can stall: a slow network, a
full CPU, a garbage collection), or kill it there (as Lambda does at a timeout or out of memory).

`POST /_local/stall` on the gateway's port (loopback only, never on AWS):
  {"seconds": 1.0, "after_ms": 5, "route": "$default", "count": 1, "kill": false}
queues `count` orders; each applies to the next invocation of `route`: `after_ms` into it, the instance's
process is stopped (SIGSTOP) for `seconds`, or killed (SIGKILL). `GET /_local/stall` says how many were applied.
The pause is real: the instance runs no code at all, whatever it was doing (between its read and its write,
halfway through a fan-out), and everything else goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import deque
from dataclasses import dataclass

from aiohttp import web

from local.log import log


@dataclass(frozen=True)
class StallOrder:
    seconds: float
    after_ms: float
    route: str
    kill: bool


class Stalls:
    def __init__(self) -> None:
        self._orders: deque[StallOrder] = deque()
        self.applied = 0

    def take(self, route: str) -> StallOrder | None:
        """The order for an invocation of `route` that is starting now, if one is waiting."""
        for order in self._orders:
            if order.route == route:
                self._orders.remove(order)
                return order
        return None

    def apply(self, order: StallOrder, pid: int) -> None:
        loop = asyncio.get_running_loop()

        def begin() -> None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL if order.kill else signal.SIGSTOP)
                self.applied += 1
                log("lambda", f"instance {pid} {'killed' if order.kill else f'paused for {order.seconds:g}s'} "
                              f"{order.after_ms:g} ms into an invocation of {order.route}")
            if not order.kill:
                loop.call_later(order.seconds, resume)

        def resume() -> None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

        loop.call_later(order.after_ms / 1000, begin)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/_local/stall", self._post)
        app.router.add_get("/_local/stall", self._get)

    async def _post(self, request: web.Request) -> web.Response:
        if request.remote not in ("127.0.0.1", "::1"):
            return web.json_response({"message": "loopback only"}, status=403)
        try:
            body = await request.json()
            order = StallOrder(float(body.get("seconds", 1.0)), float(body.get("after_ms", 0.0)),
                               str(body.get("route", "$default")), bool(body.get("kill", False)))
            count = int(body.get("count", 1))
        except (ValueError, TypeError) as exc:
            return web.json_response({"message": f"bad order: {exc}"}, status=400)
        if not (0 <= order.seconds <= 60 and 0 <= order.after_ms <= 10_000 and 1 <= count <= 1000):
            return web.json_response({"message": "seconds 0-60, after_ms 0-10000, count 1-1000"}, status=400)
        self._orders.extend([order] * count)
        return web.json_response({"queued": count, "waiting": len(self._orders), "applied": self.applied})

    async def _get(self, request: web.Request) -> web.Response:
        return web.json_response({"waiting": len(self._orders), "applied": self.applied})
