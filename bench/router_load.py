"""Router load: concurrent writers in one workspace, through the local stack, and the same clients against a
bare `websockets` broadcast server in the same run (the floor: no storage, no functions, no API Gateway hop).

`python -m bench.router_load [--writers 1,4,16] [--watchers 8] [--seconds 20] [--rate 20]`

Every connection is a kalexo_client WorkspaceClient, the product's Python client (joined, heartbeating,
applying ops in sequence order, sending again what the server asks to be sent again); the bare server speaks
enough of the protocol for the same client (bench/bare_relay.py). Each writer sends chat ops one after another,
the next as soon as the ack of the last arrives (closed loop: as fast as the router takes them); watchers only
receive. A delivery is the op applied by another client: an op received past a gap counts when the gap is
filled, as an application sees it. For each number of writers it prints the ops stored per
second (acks, all writers together), the ack latency (send to its ack), the delivery latency (send to each
other connection's receipt) at p50/p95/p99, receipts lost, and the ratios against one writer and against the
bare server. In a closed loop a saturated system's latency is writers / throughput (Little's law), so it
also runs an open loop: `--rate` ops a second in all, sent at random moments, by 1, 4 and 16 writers; there
the latency ratios show what concurrency itself costs at the same load. `--json PATH` also writes the
figures. `--fanout` runs the earlier load instead: 50 clients, 10 messages a second in aggregate (open loop),
latency to every receipt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from kalexo_client import Event, OpApplied, OpRefused, WorkspaceClient

from bench.bare_relay import WORKSPACE as BARE_WORKSPACE
from bench.bare_relay import bare_relay
from bench.router_fanout import fanout_main
from tests.e2e.api_client import Api
from tests.e2e.stack import start_stack, stop_stack
from tests.ports import free_port

USERS = ("alice",)


@dataclass
class Run:
    acks: list[float] = field(default_factory=list)  # ms from send to ack
    acked_at: list[float] = field(default_factory=list)  # monotonic time of each ack in `acks`
    deliveries: list[float] = field(default_factory=list)  # ms from send to a receipt elsewhere
    sent_at: dict[str, float] = field(default_factory=dict)  # message id -> wall time sent
    measured: set[str] = field(default_factory=set)  # ids sent while measuring: their receipts count, when they come
    receipts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    measuring: bool = False
    receivers: int = 0  # connections that should receive each op

    def delivered(self) -> bool:
        return all(self.receipts.get(mid, 0) >= self.receivers for mid in self.measured)


def pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else float("nan")


def _receipt(run: Run, event: Event) -> None:
    """Another client's op, applied in sequence order (a receipt past a gap counts once the gap is filled,
    as an application sees it)."""
    if not isinstance(event, OpApplied) or event.own:
        return
    text = event.op.text or ""
    mid = text[2:] if text.startswith("m:") else ""
    if mid in run.measured:
        run.deliveries.append((time.time() - run.sent_at[mid]) * 1000)
        run.receipts[mid] = run.receipts.get(mid, 0) + 1


def _errors(run: Run, direction: str, text: str) -> None:
    """Every error frame, also those the client handled itself (a `rate_limited` or `busy` sent again)."""
    if direction == "received" and '"error"' in text:
        error = json.loads(text).get("error")
        if isinstance(error, dict):
            run.errors[error.get("code", "?")] = run.errors.get(error.get("code", "?"), 0) + 1


async def _write(client: WorkspaceClient, run: Run, stop: asyncio.Event, interval: float | None) -> None:
    async def send_one() -> None:
        mid = uuid.uuid4().hex[:12]
        started, measuring = time.monotonic(), run.measuring
        run.sent_at[mid] = time.time()
        if measuring:
            run.measured.add(mid)
        try:
            await asyncio.wait_for(client.chat(f"m:{mid}"), timeout=30)
        except OpRefused:
            return  # counted by its error frame
        if measuring:
            run.acks.append((time.monotonic() - started) * 1000)
            run.acked_at.append(time.monotonic())

    if interval is None:  # closed loop: the next op as soon as the last one's ack is in
        while not stop.is_set():
            await send_one()
        return
    sends: set[asyncio.Task[None]] = set()  # open loop: one op every `interval` s (Poisson), acked or not
    while not stop.is_set():
        await asyncio.sleep(random.expovariate(1 / interval))
        task = asyncio.create_task(send_one())
        sends.add(task)
        task.add_done_callback(sends.discard)
    await asyncio.gather(*sends, return_exceptions=True)


async def _measure(url: str, token: str, workspace: str, writers: int, watchers: int, seconds: float,
                   rate: float | None = None) -> tuple[Run, float]:
    """Closed loop, or with `rate` an open loop of that many ops a second in all, shared by the writers. Every
    connection is a kalexo_client WorkspaceClient (joined, heartbeating, applying ops in order)."""
    run, stop = Run(receivers=writers + watchers - 1), asyncio.Event()
    interval = writers / rate if rate else None
    clients = [WorkspaceClient(url, token, workspace, on_event=partial(_receipt, run), wire_tap=partial(_errors, run))
               for _ in range(writers + watchers)]
    try:
        await asyncio.gather(*(client.start(60) for client in clients))  # everyone joined
        tasks = [asyncio.create_task(_write(client, run, stop, interval)) for client in clients[:writers]]
        await asyncio.sleep(2.0)  # warm: every function instance has served
        run.measuring, acked_before, started = True, len(run.acks), time.monotonic()
        await asyncio.sleep(seconds)
        run.measuring = False
        elapsed = time.monotonic() - started
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        waited = time.monotonic()
        while not run.delivered() and time.monotonic() - waited < 15:  # the last deliveries, or lost
            await asyncio.sleep(0.1)
    finally:
        await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)
    return run, (len(run.acks) - acked_before) / elapsed


def _row(name: str, run: Run, rate: float, connections: int) -> dict[str, float]:
    lost = sum(connections - 1 - run.receipts.get(mid, 0) for mid in run.measured)
    row = {"ops_per_s": rate, "ack_p50": pct(run.acks, 50), "ack_p95": pct(run.acks, 95), "ack_p99": pct(run.acks, 99),
           "delivery_p50": pct(run.deliveries, 50), "delivery_p95": pct(run.deliveries, 95),
           "delivery_p99": pct(run.deliveries, 99), "lost": lost, "errors": sum(run.errors.values())}
    print(f"{name:<34} {rate:8.1f} {row['ack_p50']:7.1f} {row['ack_p95']:7.1f} {row['ack_p99']:7.1f} "
          f"{row['delivery_p50']:7.1f} {row['delivery_p95']:7.1f} {row['delivery_p99']:7.1f} {lost:5.0f} "
          f"{row['errors']:5.0f}")
    return row


async def _bare(writers: int, watchers: int, seconds: float) -> tuple[Run, float]:
    async with bare_relay(free_port()) as url:
        return await _measure(url, "bench", BARE_WORKSPACE, writers, watchers, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", default="1,4,16", help="numbers of concurrent writers, one run each")
    parser.add_argument("--watchers", type=int, default=8, help="connections that only receive")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=20.0,
                        help="ops a second in all for the open-loop runs (0: closed loop only)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--fanout", action="store_true", help="the fan-out load instead (bench/router_fanout.py)")
    parser.add_argument("--stack-option", action="append", default=[], metavar="ARG",
                        help="passed to `python -m local run`, e.g. --stack-option=--ws-instances=2")
    if "--fanout" in sys.argv[1:]:  # the rest are its options: --json, --rate and --seconds mean the fan-out's
        fanout_main([arg for arg in sys.argv[1:] if arg != "--fanout"])
        return
    args = parser.parse_args()
    counts = [int(n) for n in args.writers.split(",")]
    results: dict[str, dict[str, dict[str, float]]] = {"stack": {}, "stack_open": {}, "bare": {}}
    header = (f"{'':<34} {'ops/s':>8} {'ack50':>7} {'ack95':>7} {'ack99':>7} {'dlv50':>7} {'dlv95':>7} {'dlv99':>7} "
              f"{'lost':>5} {'errs':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        # The per-connection budget (20 messages a second) is for people; writers here go as fast as they can.
        stack = start_stack(Path(tmp) / "stack", *args.stack_option,
                            settings={"KALEXO_MESSAGES_PER_SECOND": "100000", "KALEXO_RATE_LIMIT_PER_MINUTE": "0"})
        try:
            alice = Api(stack, stack.token("alice"))
            print(f"{args.watchers} watchers, {args.seconds:g} s a run; latencies in ms\n{header}")
            loads = [("stack", writers, None) for writers in counts]
            loads += [("stack_open", writers, args.rate) for writers in counts if args.rate]
            for kind, writers, rate in loads:
                workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": f"load {writers}"},
                                     status=201)["workspace_id"]
                run, done = asyncio.run(_measure(stack.ws, stack.token(USERS[0]), workspace, writers, args.watchers,
                                                 args.seconds, rate))
                name = f"local stack, {writers} writer(s)" + (f" at {rate:g}/s" if rate else "")
                results[kind][str(writers)] = _row(name, run, done, writers + args.watchers)
        finally:
            stop_stack(stack)
    for writers in counts:
        run, done = asyncio.run(_bare(writers, args.watchers, args.seconds))
        results["bare"][str(writers)] = _row(f"bare broadcast, {writers} writer(s)", run, done, writers + args.watchers)
    _ratios(counts, results)
    if args.json:
        Path(args.json).write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "watchers": args.watchers,
                                               "seconds": args.seconds, "rate": args.rate, **results}, indent=1))


def _ratios(counts: list[int], results: dict[str, dict[str, dict[str, float]]]) -> None:
    one = results["stack"][str(counts[0])]
    print(f"\nclosed loop, against {counts[0]} writer(s): ops/s, ack p99 and delivery p99 ratios")
    for writers in counts:
        row = results["stack"][str(writers)]
        print(f"  {writers:3d} writers: {row['ops_per_s'] / one['ops_per_s']:5.2f}x ops/s, "
              f"{row['ack_p99'] / one['ack_p99']:5.2f}x ack p99, "
              f"{row['delivery_p99'] / one['delivery_p99']:5.2f}x delivery p99; against the bare server: "
              f"{row['delivery_p50'] / results['bare'][str(writers)]['delivery_p50']:5.1f}x delivery p50")
    if results["stack_open"]:
        one = results["stack_open"][str(counts[0])]
        print(f"open loop (the same ops a second, shared by the writers), against {counts[0]} writer(s)")
        for writers in counts:
            row = results["stack_open"][str(writers)]
            print(f"  {writers:3d} writers: {row['ack_p99'] / one['ack_p99']:5.2f}x ack p99, "
                  f"{row['delivery_p99'] / one['delivery_p99']:5.2f}x delivery p99")

if __name__ == "__main__":
    main()
