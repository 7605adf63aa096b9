"""Starting and stopping the whole local stack (`python -m local run`) for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests

from chalicelib.auth.tokens import TokenService
from chalicelib.domain.principal import Role
from local.config import RuntimeConfig
from tests.orphans import signalled_when_parent_goes
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LocalStack:
    process: subprocess.Popen[str]
    state_dir: Path
    ports: dict[str, int]
    runtime: dict[str, Any] = field(default_factory=dict)
    started_in_s: float = 0.0

    @property
    def cfg(self) -> RuntimeConfig:
        """The runtime's own view of its addresses (local/config.py), for the ports this stack was given."""
        return RuntimeConfig(state_dir=str(self.state_dir), aws_port=self.ports["aws"], rest_port=self.ports["rest"],
                             ws_port=self.ports["ws"], tls_port=self.ports["tls"])

    @property
    def rest(self) -> str:
        return self.cfg.rest_url

    @property
    def ws(self) -> str:
        return self.cfg.ws_url

    @property
    def management_http(self) -> str:
        return self.cfg.plain_management_endpoint

    @property
    def management_https(self) -> str:
        return self.cfg.management_endpoint

    @property
    def aws(self) -> str:
        return self.cfg.aws_endpoint

    @property
    def ca_bundle(self) -> str:
        return str(self.state_dir / "tls" / "ca.pem")

    @property
    def env(self) -> dict[str, str]:
        return dict(self.runtime["env"])

    def token(self, user: str = "alice", roles: tuple[Role, ...] = (Role.MEMBER,), ttl: int | None = None) -> str:
        """A token for a user as the stack would issue it (their real account); unknown users get acc-demo."""
        item = self.client("dynamodb").get_item(TableName=self.env["KALEXO_MAIN_TABLE"],
                                                Key={"pk": {"S": f"USER#{user}"}, "sk": {"S": "USER"}}).get("Item")
        account = item["account_id"]["S"] if item else "acc-demo"
        return TokenService(self.env["KALEXO_JWT_SECRET"], 3600).issue(user, account, roles, ttl)

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(region_name="us-east-1", aws_access_key_id="local",
                                     aws_secret_access_key="local")

    def client(self, service: str, **kwargs: Any) -> Any:
        endpoint = kwargs.pop("endpoint_url", self.aws)
        return self.session().client(service, endpoint_url=endpoint, **kwargs)  # type: ignore[call-overload]

    def log(self, tail: int | None = 6000) -> str:
        text = (self.state_dir / "stack.log").read_text(errors="replace")
        return text if tail is None else text[-tail:]


def start_stack(state_dir: Path, *extra: str, timeout: float = 120.0,
                settings: dict[str, str] | None = None) -> LocalStack:
    ports = {name: free_port() for name in ("aws", "rest", "ws", "tls")}
    state_dir.mkdir(parents=True, exist_ok=True)
    out = open(state_dir / "stack.log", "w")  # noqa: SIM115 - lives as long as the stack
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "local", "run", "--state-dir", str(state_dir), "--aws-port", str(ports["aws"]),
         "--rest-port", str(ports["rest"]), "--ws-port", str(ports["ws"]), "--tls-port", str(ports["tls"]), *extra],
        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
        preexec_fn=signalled_when_parent_goes,  # noqa: PLW1509 - no threads in the child before exec
        env={**{k: v for k, v in os.environ.items() if not k.startswith(("KALEXO_", "AWS_"))}, **(settings or {})})
    stack = LocalStack(process, state_dir, ports)
    runtime_file = state_dir / "runtime.json"
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"local stack exited with {process.returncode}:\n{stack.log()}")
        runtime = _runtime_of(runtime_file, process.pid)
        if runtime is not None:
            try:
                if requests.get(f"{stack.rest}/health", timeout=5).status_code == 200:
                    stack.runtime = runtime
                    stack.started_in_s = time.monotonic() - started
                    return stack
            except requests.RequestException:
                pass
        time.sleep(0.2)
    stop_stack(stack)
    raise RuntimeError(f"local stack not ready in {timeout}s:\n{stack.log()}")


def _runtime_of(runtime_file: Path, pid: int) -> dict[str, Any] | None:
    """The stack's runtime.json once this process wrote it (a killed stack's stale file names another pid)."""
    try:
        runtime: dict[str, Any] = json.loads(runtime_file.read_text())
    except (OSError, ValueError):
        return None
    return runtime if runtime.get("supervisor_pid") == pid else None


def stop_stack(stack: LocalStack) -> int:
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGINT)
        try:
            stack.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()
    return stack.process.returncode


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes (its parent has not reaped it yet).
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" not in status.read_text()
