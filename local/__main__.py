"""python -m local run | reset | token | gateway | worker | ws-function  (the last three are started by `run`)."""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
from pathlib import Path

from local.config import RuntimeConfig
from local.lambda_runtime import PROJECT_DIR

DEFAULT_STATE = str(PROJECT_DIR / ".local")


def _run(args: argparse.Namespace) -> int:
    from local.banner import print_banner
    from local.supervisor import Supervisor

    cfg = RuntimeConfig(state_dir=args.state_dir, aws_port=args.aws_port, rest_port=args.rest_port,
                        ws_port=args.ws_port, tls_port=args.tls_port, worker_processes=args.workers,
                        web_port=args.web_port or 8003, web_port_fallback=args.web_port is None,
                        ws_instances=args.ws_instances,
                        idle_timeout_s=args.idle_timeout, max_connection_s=args.max_connection,
                        start_timeout_s=args.start_timeout,
                        retry_delay_s=None if args.retry_delay < 0 else args.retry_delay)
    supervisor = Supervisor(cfg)
    # Ctrl-C (or SIGTERM) while it starts stops it too: a shell that starts `make run` in the background
    # leaves SIGINT ignored, and Python then installs no handler of its own until `catch_stop_signals`.
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, signal.default_int_handler)
    try:
        env = supervisor.start()
        supervisor.catch_stop_signals()
        if not supervisor.stop.is_set():
            print_banner(supervisor.cfg, env)  # with the port the web client got
        return supervisor.wait()
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        print(f"local stack failed to start: {exc}", file=sys.stderr)
        return 1
    finally:
        supervisor.shutdown()


def _token(args: argparse.Namespace) -> int:
    from local.banner import issue_local_token

    state = Path(args.state_dir) / "runtime.json"
    runtime = json.loads(state.read_text()) if state.exists() else {}
    pid = runtime.get("supervisor_pid")
    # A stack killed outright (kill -9) leaves its runtime.json behind: its pid says whether it still runs.
    if not runtime or (pid and not Path(f"/proc/{pid}").exists()):
        # A stack started with --state-dir elsewhere is not this one: say which directory was looked at.
        print(f"no local stack is running on the state directory {args.state_dir}: start one with `make run`, or "
              "name the directory a running one was started with (make token STATE_DIR=..., "
              "python -m local token --state-dir ...)", file=sys.stderr)
        return 2
    try:
        token = issue_local_token(runtime, args.user, args.workspace, args.admin)
    except LookupError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(token)
    return 0


def _reset(args: argparse.Namespace) -> int:
    """Delete the local stack's state (what `make run` keeps across restarts), saying what it deletes."""
    import shutil

    from local.emulator_persistence import describe
    from local.state_lock import StateInUse, check_free

    state = Path(args.state_dir)
    try:
        check_free(state)
    except StateInUse as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if not state.exists():
        print(f"nothing to delete: {state} does not exist")
        return 0
    print(f"deleting {state}: {describe(state / 'aws')}, the token signing secret (every token issued "
          "before stops working), logs and certificates")
    shutil.rmtree(state)
    return 0


def main(argv: list[str] | None = None) -> int:
    # The local runtime only ever talks to its own emulator: never let a developer's real AWS credentials
    # or profile reach it (or anything else) from here.
    os.environ.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the whole local stack")
    run.add_argument("--state-dir", default=DEFAULT_STATE,
                     help=f"where the stack keeps its data and runtime.json (default {DEFAULT_STATE}; "
                          "make token STATE_DIR=... finds a stack started with another)")
    run.add_argument("--aws-port", type=int, default=4566)
    run.add_argument("--rest-port", type=int, default=8000)
    run.add_argument("--ws-port", type=int, default=8001)
    run.add_argument("--tls-port", type=int, default=8002)
    run.add_argument("--web-port", type=int, default=None,
                     help="the web client (default 8003, or any free port if 8003 is taken)")
    run.add_argument("--workers", type=int, default=RuntimeConfig(state_dir="").worker_processes,
                     help="worker processes, each polling every queue (default: one per core)")
    run.add_argument("--ws-instances", type=int, default=RuntimeConfig(state_dir="").ws_instances,
                     help="websocket function instances, one process each (default: two per core)")
    run.add_argument("--idle-timeout", type=float, default=600.0, help="websocket idle timeout, seconds")
    run.add_argument("--max-connection", type=float, default=7200.0, help="websocket maximum duration, seconds")
    run.add_argument("--start-timeout", type=float, default=600.0,
                     help="seconds a start waits for the emulator and the gateway (while they run) before giving up")
    run.add_argument("--retry-delay", type=int, default=1,
                     help="seconds before a failed SQS batch is retried; -1 waits the visibility timeout")
    run.add_argument("--fresh", action="store_true", help="delete the kept state first (as `reset` does)")
    reset = sub.add_parser("reset", help="delete the local stack's kept state (accounts, workspaces, documents...)")
    reset.add_argument("--state-dir", default=DEFAULT_STATE)
    token = sub.add_parser("token", help="print a token for a user of the running local stack")
    token.add_argument("--state-dir", default=DEFAULT_STATE)
    token.add_argument("--user", required=True)
    token.add_argument("--workspace", default="")
    token.add_argument("--admin", action="store_true")
    sub.add_parser("gateway")
    worker = sub.add_parser("worker")
    worker.add_argument("index", type=int, nargs="?", default=0)
    ws_function = sub.add_parser("ws-function")
    ws_function.add_argument("fd", type=int)
    args = parser.parse_args(argv)

    if args.command == "run":
        if args.fresh and _reset(args) != 0:
            return 2
        return _run(args)
    if args.command == "reset":
        return _reset(args)
    if args.command == "token":
        return _token(args)
    from local.children import run_gateway, run_worker, run_ws_function

    # A child that does not stop when asked is sent SIGUSR1 before it is killed: every thread's stack goes to
    # the stack's output, so a rare hang says where it was (a worker once took the whole 20-s grace, unseen since).
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    if args.command == "gateway":
        run_gateway(RuntimeConfig.from_environ())
    elif args.command == "ws-function":
        run_ws_function(RuntimeConfig.from_environ(), args.fd)
    else:
        run_worker(RuntimeConfig.from_environ(), args.index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
