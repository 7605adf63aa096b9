"""Websocket round trip through the local stack, side by side with a bare `websockets` server.

`python -m bench.ws_roundtrip [--clients 10] [--pings 100]` starts the whole local stack (emulator, gateway,
workers), then measures ping -> pong latency for the same load against (a) the stack, where every message
is an API Gateway-shaped event through the app's $default function, a management-API POST and a websocket
frame, and (b) a bare websockets server answering pong itself, the floor. Prints start-up time, p50/p95/p99,
throughput and the ratio of (a) to (b).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

import websockets

from tests.e2e.stack import start_stack, stop_stack


async def _client(url: str, pings: int, samples: list[float]) -> None:
    async with websockets.connect(url, compression=None) as ws:
        for i in range(pings):
            started = time.perf_counter()
            await ws.send(json.dumps({"action": "ping", "id": str(i)}))
            reply = json.loads(await ws.recv())
            samples.append((time.perf_counter() - started) * 1000)
            assert reply["action"] == "pong" and reply["id"] == str(i), reply


async def _load(url: str, clients: int, pings: int) -> tuple[list[float], float]:
    samples: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(_client(url, pings, samples) for _ in range(clients)))
    return samples, time.perf_counter() - started


async def _bare_server(port: int) -> websockets.Server:
    async def handler(ws: websockets.ServerConnection) -> None:
        async for message in ws:
            request = json.loads(message)
            await ws.send(json.dumps({"action": "pong", "id": request.get("id"), "server_time": 0}))

    return await websockets.serve(handler, "127.0.0.1", port, compression=None)


def _percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


def _row(name: str, samples: list[float], seconds: float) -> dict[str, float]:
    figures = {"p50": _percentile(samples, 50), "p95": _percentile(samples, 95), "p99": _percentile(samples, 99),
               "per_s": len(samples) / seconds}
    print(f"{name:<28} {figures['p50']:8.2f} {figures['p95']:8.2f} {figures['p99']:8.2f} {figures['per_s']:10.0f}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--pings", type=int, default=100, help="sequential pings per client")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        stack = start_stack(Path(state) / "stack")
        try:
            print(f"local stack ready in {stack.started_in_s:.1f} s")
            url = f"{stack.ws}/?token={stack.token('alice')}"
            asyncio.run(_load(url, 2, 10))  # warm the functions, as a warm Lambda would be
            stack_samples, stack_s = asyncio.run(_load(url, args.clients, args.pings))
        finally:
            stop_stack(stack)

    async def floor() -> tuple[list[float], float]:
        from tests.ports import free_port

        port = free_port()
        server = await _bare_server(port)
        try:
            await _load(f"ws://127.0.0.1:{port}", 2, 10)
            return await _load(f"ws://127.0.0.1:{port}", args.clients, args.pings)
        finally:
            server.close()
            await server.wait_closed()

    bare_samples, bare_s = asyncio.run(floor())
    print(f"\n{args.clients} clients x {args.pings} sequential pings; latency in ms")
    print(f"{'':<28} {'p50':>8} {'p95':>8} {'p99':>8} {'pings/s':>10}")
    local = _row("local stack ($default)", stack_samples, stack_s)
    bare = _row("bare websockets server", bare_samples, bare_s)
    print(f"{'ratio stack / bare':<28} {local['p50'] / bare['p50']:8.1f} {local['p95'] / bare['p95']:8.1f} "
          f"{local['p99'] / bare['p99']:8.1f} {local['per_s'] / bare['per_s']:10.2f}")


if __name__ == "__main__":
    main()
