"""The processes the supervisor starts after the emulator: the gateway (REST + WebSocket API + @connections)
and the workers (SQS pollers). Both import the app exactly as Lambda would, with the stage's environment."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import sys
import threading
import time
from collections.abc import Callable

import boto3
import botocore.config
from aiohttp import web

from local.config import API_ID, LOCAL_RUNTIME_AGENT, REGION, STAGE, RuntimeConfig
from local.function_instances import FunctionInstances, serve_instance
from local.lambda_runtime import AppFunctions
from local.log import log
from local.management_api import ManagementApi
from local.open_connections import OpenConnections
from local.rest_server import create_rest_server
from local.scheduler import start_schedules
from local.sqs_pollers import PollerOptions, start_pollers
from local.tls import ensure_certificates
from local.ws_events import ApiInfo
from local.ws_gateway import GatewayLimits, WebsocketGateway

DRAIN_S = 5.0  # how long a stopping gateway waits for the invocations under way
POLLERS_STOP_S = 3.0  # how long a stopping worker waits for its pollers, all together


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def wait_for_stop(stop: threading.Event) -> None:
    """Woken twice a second, not once for ever: a stop signal the kernel hands to another thread (a poller's,
    when the main one already had a signal pending or was running) only sets a flag that the main thread reads
    when it runs Python code, and a main thread blocked in a lock's wait never did. So now and then a worker
    ignored Ctrl-C for the supervisor's whole grace (20 s), or outlived a supervisor killed with -9."""
    while not stop.wait(0.5):
        pass


def run_gateway(cfg: RuntimeConfig) -> None:
    functions = AppFunctions(cfg.config_stage, STAGE, REGION)
    rest = create_rest_server(functions.app, functions.config, "127.0.0.1", cfg.rest_port)
    rest_serving = threading.Event()

    def serve_rest() -> None:
        # Last: the supervisor's readiness check is the REST API's /health, so by the time it answers the
        # function instances and the WebSocket API are up too.
        threading.Thread(target=rest.server.serve_forever, name="rest", daemon=True).start()
        rest_serving.set()
        log("rest", f"serving {cfg.rest_url}")

    api = ApiInfo(api_id=API_ID, stage=STAGE, domain_name=f"127.0.0.1:{cfg.tls_port}")
    limits = GatewayLimits(cfg.max_message_bytes, cfg.idle_timeout_s, cfg.max_connection_s)
    stop = _stop_on_signals()
    asyncio.run(_serve_websockets(cfg, set(functions.app.websocket_handlers), api, limits, stop, serve_rest))
    if rest_serving.is_set():  # shutdown() would wait forever for a loop that never started
        rest.server.shutdown()


async def _serve_websockets(cfg: RuntimeConfig, route_keys: set[str], api: ApiInfo, limits: GatewayLimits,
                            stop: threading.Event, then: Callable[[], None]) -> None:
    instances = FunctionInstances(cfg.ws_instances)
    await instances.start()
    gateway = WebsocketGateway(instances, route_keys, api, limits, OpenConnections(cfg.state_path / "ws-open"))
    app = web.Application(client_max_size=cfg.max_message_bytes * 2)
    ManagementApi(gateway).add_routes(app)
    instances.stalls.add_routes(app)
    app.router.add_get("/{tail:.*}", gateway.handle_upgrade)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    _, cert, key = ensure_certificates(cfg.state_path / "tls")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    await web.TCPSite(runner, "127.0.0.1", cfg.ws_port).start()
    await web.TCPSite(runner, "127.0.0.1", cfg.tls_port, ssl_context=tls).start()
    log("ws", f"serving {cfg.ws_url} with {instances.size} function instances (management API "
              f"{cfg.plain_management_endpoint} and {cfg.management_endpoint})")
    then()
    watchdog = asyncio.create_task(gateway.watchdog())
    ended = await gateway.end_left_over()  # the connections the last run held: their $disconnect, usage metered
    if ended:
        log("ws", f"ended {ended} connection(s) left open by the last run ($disconnect, 1006)")
    while not stop.is_set():
        await asyncio.sleep(0.2)
    watchdog.cancel()
    await gateway.shutdown()
    # The management API goes last: invocations still running post to it (a doc-only client's Ctrl-C under
    # load saw them fail against a closed port, with tracebacks).
    if not await instances.drain(DRAIN_S):
        log("ws", f"invocations still running after {DRAIN_S:.0f}s; stopping anyway")
    await runner.cleanup()
    await instances.close()


def run_ws_function(cfg: RuntimeConfig, fd: int) -> None:
    """One websocket function instance, started by the gateway with its end of a socket pair."""
    serve_instance(fd, cfg.config_stage, STAGE, REGION)


def run_worker(cfg: RuntimeConfig, index: int) -> None:
    functions = AppFunctions(cfg.config_stage, STAGE, REGION)
    session = boto3.session.Session(region_name=REGION)
    sqs = session.client("sqs", endpoint_url=cfg.aws_endpoint)
    # The pollers' heartbeats are this runtime's own writes (AWS's event source mappings make none): marked, so
    # the emulator's log says so and the benchmarks leave them out of what a document costs.
    dynamodb = session.client("dynamodb", endpoint_url=cfg.aws_endpoint,
                              config=botocore.config.Config(user_agent_extra=LOCAL_RUNTIME_AGENT))
    stop = _stop_on_signals()
    from chalicelib.settings import get_settings  # the app's own settings name the heartbeat table

    ledger = cfg.state_path / "inflight"  # kept when the supervisor starts a killed worker again
    ledger.mkdir(exist_ok=True)
    pollers = start_pollers(functions, sqs, dynamodb, get_settings().main_table, REGION,
                            PollerOptions(retry_delay_s=cfg.retry_delay_s, ledger_dir=ledger, worker=index), stop)
    log("sqs", f"worker {index}: polling {', '.join(p.queue_name for p in pollers) or 'nothing'}")
    if index == 0:  # one process runs the schedules, as EventBridge invokes each rule once
        start_schedules(functions, REGION, stop)
    wait_for_stop(stop)
    # One deadline for all: joined one after another, 3 s each, a worker long-polling six queues took 18 s and
    # was killed by the supervisor's grace (seen on Ctrl-C under load). A task cut short is delivered again.
    deadline = time.monotonic() + POLLERS_STOP_S
    for poller in pollers:
        poller.join(timeout=max(0.0, deadline - time.monotonic()))
    # Out now, as a Lambda instance's environment goes: an invocation still running (an S3 download by boto3's
    # transfer threads, which interpreter shutdown would wait for, retrying against an emulator already gone)
    # must not keep the process alive after its supervisor died (the test of that saw it outlive 60 s).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
