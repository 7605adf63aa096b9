"""`make run`: the whole system on one machine, as one process tree.

emulator (moto server, local/emulator.py) -> CloudFormation deploy of infra/template.yaml -> seed -> gateway +
workers; the web client's server runs in a thread of the supervisor.
Ctrl-C (or SIGTERM) stops every child; children also die with the supervisor (PR_SET_PDEATHSIG), so no
process is left behind even if the supervisor is killed outright.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import IO

import boto3

from infra.outputs import settings_from_outputs
from local import provision, seed, state_lock
from local.banner import app_container
from local.config import REGION, RUNTIME_ENV, STAGE, RuntimeConfig
from local.lambda_runtime import PROJECT_DIR
from local.log import log
from local.tls import ensure_certificates
from local.web_server import WebServer

STACK_NAME = f"kalexo-{STAGE}"
RESTARTS = 5  # a child that dies more often than this within RESTART_WINDOW_S is broken, not unlucky
RESTART_WINDOW_S = 60.0
# A worker may be in the middle of a page when asked to stop, and a loaded machine is slow to schedule it: five
# seconds was not always enough (children were killed). What a child has not finished is delivered again.
STOP_GRACE_S = 20.0


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Supervisor:
    def __init__(self, cfg: RuntimeConfig) -> None:
        self.cfg = cfg
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stop = threading.Event()
        self.web: WebServer | None = None
        self._lock: IO[str] | None = None  # the state directory's, while this stack runs (state_lock)
        self._specs: dict[str, tuple[list[str], dict[str, str], bool]] = {}  # how each child was started
        self._app_env: dict[str, str] = {}

    def _spawn(self, name: str, args: list[str], env: dict[str, str], backend: bool = False) -> None:
        # The emulator logs every request: that goes to a file, not the developer's terminal. It also runs in
        # a session of its own, so a Ctrl-C in the terminal reaches the app processes first and the
        # emulator is stopped last, after nothing needs it any more.
        self._specs[name] = (args, env, backend)  # to start it again should it die (wait)
        output = open(self.cfg.state_path / f"{name}.log", "wb") if backend else None
        self.children[name] = subprocess.Popen(args, env=env, cwd=PROJECT_DIR, preexec_fn=_die_with_parent,
                                               stdin=subprocess.DEVNULL, stdout=output, stderr=output,
                                               start_new_session=backend)

    def base_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true", "PYTHONUNBUFFERED": "1",
        })
        env.pop("AWS_PROFILE", None)
        return env

    def app_env(self, outputs: dict[str, str], secret: str, ca_bundle: Path) -> dict[str, str]:
        """The functions' environment: the stack's resources and endpoints, plus any other KALEXO_ setting
        from the developer's own environment (cache backend, limits, retention)."""
        env = {k: v for k, v in self.base_env().items() if not k.startswith("KALEXO_")}
        overrides = {k: v for k, v in os.environ.items() if k.startswith("KALEXO_")}
        env.update(settings_from_outputs(outputs))
        env.update({
            "KALEXO_STAGE": STAGE, "AWS_ENDPOINT_URL": self.cfg.aws_endpoint, "AWS_CA_BUNDLE": str(ca_bundle),
            "KALEXO_WEBSOCKET_ENDPOINT": self.cfg.management_endpoint, "KALEXO_JWT_SECRET": secret,
            "KALEXO_EVENT_SOURCE_HEARTBEATS": "true", "KALEXO_S3_ADDRESSING": "path",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_XRAY_SDK_ENABLED": "false", "POWERTOOLS_METRICS_NAMESPACE": "Kalexo",
            "POWERTOOLS_SERVICE_NAME": "kalexo", RUNTIME_ENV: self.cfg.to_json(),
        })
        managed = set(env)
        env.update({k: v for k, v in overrides.items() if k not in managed})
        # The public base of IIIF ids and manifest links: this REST API, unless the developer's environment
        # names another (or sets it empty: then IIIF is not offered, as on a deployment without it).
        env.setdefault("KALEXO_PUBLIC_API_URL", self.cfg.rest_url)
        return env

    def _signing_secret(self) -> str:
        path = self.cfg.state_path / "jwt-secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def _check_ports_free(self) -> None:
        for name, port in (("emulator", self.cfg.aws_port), ("REST", self.cfg.rest_port),
                           ("WebSocket", self.cfg.ws_port), ("management TLS", self.cfg.tls_port),
                           *(() if self.cfg.web_port_fallback else (("web client", self.cfg.web_port),))):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    raise RuntimeError(f"port {port} ({name}) is already in use: is another local stack "
                                       "running? Stop it, or choose other ports (python -m local run --help)")

    def start(self) -> dict[str, str]:
        started = time.monotonic()
        self._lock = state_lock.hold(self.cfg.state_path)  # before anything is read from it
        self._check_ports_free()
        # A stack killed outright leaves its runtime.json: nobody may read that one as this stack's.
        (self.cfg.state_path / "runtime.json").unlink(missing_ok=True)
        env = self.base_env()
        self._spawn("emulator", [sys.executable, "-m", "local.emulator", "-H", "127.0.0.1", "-p",
                                 str(self.cfg.aws_port)], {**env, "MOTO_PORT": str(self.cfg.aws_port),
                                                           "KALEXO_EMULATOR_FAULTS": str(self.cfg.faults_path),
                                                           "KALEXO_EMULATOR_STATE": str(self.cfg.aws_state_path)},
                    backend=True)
        _wait_http(f"{self.cfg.aws_endpoint}/moto-api/", self.cfg.start_timeout_s, self._check_children)
        log("emulator", f"up at {self.cfg.aws_endpoint} (requests logged to {self.cfg.state_path}/emulator.log)")
        session = boto3.session.Session(region_name=REGION, aws_access_key_id="local",
                                        aws_secret_access_key="local")
        stack = provision.deploy(session, self.cfg.aws_endpoint, STACK_NAME, {"Stage": STAGE})
        log("emulator", f"stack {stack.name} deployed from infra/template.yaml")
        restored = self._restore()
        ca_bundle, _, _ = ensure_certificates(self.cfg.state_path / "tls")
        app_env = self.app_env(stack.outputs, self._signing_secret(), ca_bundle)
        seeded = self.cfg.aws_state_path / "seeded"
        if not restored:
            seed.seed(app_container(app_env))
            seeded.touch()
        elif not seeded.exists():  # the first start was stopped before its seed was done
            log("runtime", "the demo tenants were never fully seeded in this state: `make reset` starts clean")
        # The web server first: its port (another one when the default is taken) is in the functions' settings,
        # as the site's address is on AWS (the REST API's /docs page links to the source archive it serves).
        self.web = WebServer(self.cfg, app_env)
        self.cfg = replace(self.cfg, web_port=self.web.start())  # the banner and runtime.json show the real port
        app_env["KALEXO_SOURCE_URL"] = f"{self.cfg.web_url.rstrip('/')}/source.tar.gz"
        self._spawn("gateway", [sys.executable, "-m", "local", "gateway"], app_env)
        for index in range(self.cfg.worker_processes):
            self._spawn(f"worker-{index}", [sys.executable, "-m", "local", "worker", str(index)],
                        {**app_env, "TMPDIR": self._scratch(f"worker-{index}")})
        _wait_http(f"{self.cfg.rest_url}/health", self.cfg.start_timeout_s, self._check_children, accept=(200,))
        self._app_env = app_env
        self._write_runtime()
        log("runtime", f"ready in {time.monotonic() - started:.1f}s")
        return app_env

    def _write_runtime(self) -> None:
        _write_private(self.cfg.state_path / "runtime.json", json.dumps({
            "config": json.loads(self.cfg.to_json()),
            "pids": {name: child.pid for name, child in self.children.items()},
            "supervisor_pid": os.getpid(),
            "env": {k: v for k, v in self._app_env.items() if k.startswith(("KALEXO_", "AWS_"))},
        }, indent=2))

    def _scratch(self, name: str) -> str:
        """A process's own /tmp, empty at each start, as a Lambda instance's is: workers never share a cache."""
        path = self.cfg.state_path / "scratch" / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return str(path)

    def _restore(self) -> bool:
        """Put back what the last run kept (local/emulator_persistence.py); False on a fresh state."""
        request = urllib.request.Request(f"{self.cfg.aws_endpoint}/_kalexo/restore", method="POST", data=b"")
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                result = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"the kept state could not be read: {json.loads(exc.read()).get('error')}") from exc
        where = self.cfg.aws_state_path
        if result["restored"]:
            log("emulator", f"restored {result['items']} items, {result['objects']} objects and "
                            f"{result['messages']} queued messages from {where} in {result['seconds']}s"
                            + (f" ({result['skipped']} no longer in the template)" if result["skipped"] else ""))
        else:
            log("emulator", f"fresh state in {where}: seeding the demo tenants")
        return bool(result["restored"])

    def _check_children(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None:
                raise RuntimeError(f"{name} exited with status {child.returncode}")

    def catch_stop_signals(self) -> None:
        """From now on Ctrl-C (or SIGTERM) asks `wait` to return. Installed as soon as the stack is up, before
        the banner: a KeyboardInterrupt raised inside the banner's AWS calls could be swallowed by a library,
        and the stack then ran on, deaf to the one Ctrl-C it was sent (seen as a test's stack killed after 60 s)."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop.set())

    def wait(self) -> int:
        """Until Ctrl-C. A gateway or worker that dies (killed, out of memory) is started again, as Lambda
        replaces a failed instance: what it was doing is redelivered (SQS) or resent by clients (websockets).
        The emulator's death, or a child dying again and again (RESTARTS within RESTART_WINDOW_S), stops all."""
        self.catch_stop_signals()
        deaths: dict[str, list[float]] = {}
        while not self.stop.wait(0.5):
            for name, child in list(self.children.items()):
                if child.poll() is None:
                    continue
                if self.stop.wait(0.3):  # a Ctrl-C reaches the children too: they die because we stop
                    return 0
                now = time.monotonic()
                deaths[name] = [t for t in deaths.get(name, []) if now - t < RESTART_WINDOW_S] + [now]
                if name == "emulator" or len(deaths[name]) > RESTARTS:
                    log("runtime", f"{name} exited with status {child.returncode}; stopping everything")
                    return 1
                log("runtime", f"{name} exited with status {child.returncode}; starting it again")
                args, env, backend = self._specs[name]
                if "TMPDIR" in env:
                    self._scratch(name)  # a new instance's /tmp is empty
                self._spawn(name, args, env, backend)
                self._write_runtime()
        return 0

    def shutdown(self) -> None:
        started = time.monotonic()
        if self.web is not None:
            self.web.stop()
        app_children = {n: c for n, c in self.children.items() if n != "emulator"}
        self._stop_all(app_children)  # the app first, while the emulator still answers
        self._stop_all({n: c for n, c in self.children.items() if n == "emulator"})
        log("runtime", f"stopped in {time.monotonic() - started:.1f}s")

    @staticmethod
    def _stop_all(children: dict[str, subprocess.Popen[bytes]]) -> None:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for name, child in children.items():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log("runtime", f"{name} did not stop in {STOP_GRACE_S:.0f}s; its threads' stacks follow; killing it")
                child.send_signal(signal.SIGUSR1)  # faulthandler in the child (local/__main__.py) prints them
                time.sleep(1.0)
                child.kill()
                child.wait()


SAY_EVERY_S = 30.0  # how often a slow start says it is still waiting


def _wait_http(url: str, timeout: float, check: Callable[[], None], accept: tuple[int, ...] = ()) -> None:
    """Until `url` answers (`accept`: with one of those statuses); `check` raises if a child has died meanwhile,
    so a long `timeout` only waits for a slow machine. Says every 30 s that it still waits."""
    started = time.monotonic()
    deadline, said = started + timeout, started
    last: Exception | None = None
    while time.monotonic() < deadline:
        check()
        if time.monotonic() - said >= SAY_EVERY_S:
            said = time.monotonic()
            log("runtime", f"still waiting for {url} after {said - started:.0f}s (a busy machine starts slowly; "
                           f"it gives up after {timeout:.0f}s, --start-timeout)")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if not accept or response.status in accept:
                    return
        except Exception as exc:  # connection refused while starting, or 503 while degraded
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f}s: {last!r}")


def _write_private(path: Path, text: str) -> None:
    """Write whole or not at all (readers poll for the file), readable by the owner only (it holds the token
    signing secret) from the moment it exists."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    os.replace(partial, path)
