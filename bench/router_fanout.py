"""Router fan-out load: 50 clients in one workspace, 10 chat messages a second in aggregate for 30 s (open
loop), through the local stack; the same load against a bare `websockets` broadcast server in the same run.

`python -m bench.router_load --fanout [--clients 50] [--rate 10] [--seconds 30]` prints, for both: latency
from send to every receipt (p50/p95/p99), messages lost, and for the stack the AWS calls per routed message
counted at the emulator (its request log, minus the idle background of pollers and the joined clients'
heartbeats, measured for 20 s before the load). Every client is a kalexo_client WorkspaceClient, the
product's Python client; the bare server speaks enough of the protocol for it (bench/bare_relay.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from kalexo_client import Event, Op, OpApplied, WorkspaceClient

from bench.bare_relay import WORKSPACE as BARE_WORKSPACE
from bench.bare_relay import bare_relay
from local.gc_trace import install_from_env
from tests.e2e.stack import start_stack, stop_stack
from tests.ports import free_port

USERS = ("alice", "bob", "vera")


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.sent: dict[str, int] = {}  # message id -> sender index
        self.received: dict[str, set[int]] = {}
        self.by_message: dict[str, list[float]] = {}  # message id -> its receipts' latencies


def _receipt(tally: Tally, index: int, event: Event) -> None:
    """Another client's message, applied in sequence order by this client's replica."""
    text = event.op.text if isinstance(event, OpApplied) and not event.own else None
    if not text or not text.startswith("m:"):
        return
    _, mid, sent_at = text.split(":")
    latency = (time.time() - float(sent_at)) * 1000
    tally.latencies.append(latency)
    tally.by_message.setdefault(mid, []).append(latency)
    tally.received.setdefault(mid, set()).add(index)


async def _load(url: str, token_of: Callable[[int], str], workspace: str, clients: int, rate: float, seconds: float,
                settle: float, on_joined: Callable[[], Awaitable[None]] | None = None,
                on_start: Callable[[], None] = lambda: None, on_end: Callable[[], None] = lambda: None) -> Tally:
    """One kalexo_client WorkspaceClient per client (joined, heartbeating, applying ops in order); the load is
    sent round robin, `rate` chat ops a second in all, each without waiting for the last one's ack."""
    tally = Tally()
    made = [WorkspaceClient(url, token_of(i), workspace, on_event=partial(_receipt, tally, i)) for i in range(clients)]
    sends: set[asyncio.Task[Op]] = set()
    try:
        await asyncio.gather(*(client.start(60) for client in made))
        await asyncio.sleep(settle)
        if on_joined is not None:
            await on_joined()
        on_start()  # connects and joins are done: from here on, only the load counts
        started, n = time.monotonic(), 0
        while time.monotonic() - started < seconds:
            sender = n % clients
            mid = uuid.uuid4().hex[:10]
            tally.sent[mid] = sender
            task = asyncio.create_task(made[sender].chat(f"m:{mid}:{time.time():.6f}"))
            sends.add(task)
            task.add_done_callback(sends.discard)
            n += 1
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        await asyncio.sleep(3)  # let the last ones arrive
        on_end()
        await asyncio.gather(*sends, return_exceptions=True)
    finally:
        await asyncio.gather(*(client.close() for client in made), return_exceptions=True)
    return tally


def _report(name: str, tally: Tally, clients: int) -> dict[str, float]:
    q = statistics.quantiles(tally.latencies, n=100, method="inclusive")
    expected = len(tally.sent) * (clients - 1)  # every other client receives every message
    lost = expected - sum(len(r) for r in tally.received.values())
    row = {"p50": q[49], "p95": q[94], "p99": q[98], "lost": lost, "messages": len(tally.sent),
           "receipts": len(tally.latencies)}
    print(f"{name:<26} {row['p50']:8.1f} {row['p95']:8.1f} {row['p99']:8.1f} {len(tally.sent):9d} "
          f"{row['receipts']:9d} {lost:6d}")
    return row


def _spread(name: str, tally: Tally) -> None:
    """Where a message's time goes: its first receipt (everything before the fan-out, plus one post) and the
    spread from its first to its last receipt (the fan-out itself)."""
    firsts = [min(v) for v in tally.by_message.values()]
    spreads = [max(v) - min(v) for v in tally.by_message.values()]
    first_q = statistics.quantiles(firsts, n=100, method="inclusive")
    spread_q = statistics.quantiles(spreads, n=100, method="inclusive")
    print(f"{name:<26} first receipt p50 {first_q[49]:.1f} p95 {first_q[94]:.1f} p99 {first_q[98]:.1f}; "
          f"first to last p50 {spread_q[49]:.1f} p95 {spread_q[94]:.1f} p99 {spread_q[98]:.1f}")


def _gc_report(trace: Path, start: float, end: float) -> None:
    """The stack's collections over 2 ms while the load ran (local/gc_trace.py), by process."""
    pauses: dict[str, list[float]] = {}
    lines = trace.read_text().splitlines() if trace.exists() else []
    for entry in map(json.loads, lines):
        if start <= entry["at"] <= end:
            pauses.setdefault(f"{entry['process']} (pid {entry['pid']})", []).append(entry["ms"])
    print("\ngarbage collections over 2 ms during the load:" + ("" if pauses else " none"))
    for process, found in sorted(pauses.items(), key=lambda kv: -max(kv[1])):
        print(f"  {process:<40} {len(found):4d}, longest {max(found):6.1f} ms, {sum(found):7.1f} ms in all")


def _emulator_requests(state: Path) -> int:
    log = state / "emulator.log"
    return sum(1 for line in log.read_text(errors="replace").splitlines() if '" 2' in line or '" 4' in line)


def fanout_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.router_load --fanout", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=1.5, help="seconds between the last join and the load")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON (bench/cost.py reads them)")
    parser.add_argument("--gc-trace", action="store_true",
                        help="log the stack's garbage collections over 2 ms and report those during the load")
    parser.add_argument("--stack-option", action="append", default=[], metavar="ARG",
                        help="passed to `python -m local run`, e.g. --stack-option=--ws-instances=2")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "stack"
        trace = Path(tmp) / "gc.jsonl"
        if args.gc_trace:  # this process too: its clients' pauses would count as delivery latency
            os.environ["KALEXO_GC_TRACE"] = str(trace)
            install_from_env()
        stack = start_stack(state, *args.stack_option,
                            settings={"KALEXO_GC_TRACE": str(trace)} if args.gc_trace else None)
        try:
            tokens = [stack.token(USERS[i % len(USERS)]) for i in range(args.clients)]
            window: dict[str, float] = {}

            async def idle() -> None:
                """The background of pollers and the joined clients' heartbeats, without the load: over 20 s, more
                than one heartbeat interval (18 s by default), so every client's beat is in it."""
                idle_from, t0 = _emulator_requests(state), time.monotonic()
                await asyncio.sleep(20)
                window["idle_rate"] = (_emulator_requests(state) - idle_from) / (time.monotonic() - t0)

            def mark(name: str) -> Callable[[], None]:
                return lambda: window.update({name: _emulator_requests(state), f"{name}_t": time.monotonic(),
                                              f"{name}_wall": time.time()})

            stack_tally = asyncio.run(_load(stack.ws, lambda i: tokens[i], "ws-demo", args.clients, args.rate,
                                            args.seconds, args.settle, idle, mark("start"), mark("end")))
            idle_rate = window["idle_rate"]
            calls = window["end"] - window["start"] - idle_rate * (window["end_t"] - window["start_t"])
        finally:
            stop_stack(stack)
        if args.gc_trace:
            _gc_report(trace, window["start_wall"], window["end_wall"])

    async def floor() -> Tally:
        async with bare_relay(free_port()) as url:
            return await _load(url, lambda i: "bench", BARE_WORKSPACE, args.clients, args.rate, args.seconds,
                               args.settle)

    floor_tally = asyncio.run(floor())
    print(f"\n{args.clients} clients in one workspace, {args.rate:g} messages/s for {args.seconds:g} s; ms")
    print(f"{'':<26} {'p50':>8} {'p95':>8} {'p99':>8} {'messages':>9} {'receipts':>9} {'lost':>6}")
    stack_row = _report("local stack (router)", stack_tally, args.clients)
    floor_row = _report("bare websockets broadcast", floor_tally, args.clients)
    print(f"{'ratio stack / bare':<26} {stack_row['p50'] / floor_row['p50']:8.1f} "
          f"{stack_row['p95'] / floor_row['p95']:8.1f} {stack_row['p99'] / floor_row['p99']:8.1f}")
    print("\nper message, ms:")
    _spread("local stack (router)", stack_tally)
    _spread("bare websockets broadcast", floor_tally)
    per_message = calls / max(1, len(stack_tally.sent))
    print(f"\nAWS calls at the emulator per routed message: {per_message:.2f} "
          f"(background of {idle_rate:.1f} calls/s subtracted)")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d"), "clients": args.clients, "rate": args.rate, "seconds": args.seconds,
            "p50_ms": stack_row["p50"], "p95_ms": stack_row["p95"], "p99_ms": stack_row["p99"],
            "lost": stack_row["lost"], "floor_p50_ms": floor_row["p50"], "floor_p99_ms": floor_row["p99"],
            "dynamodb_calls_per_message": per_message}, indent=1))
