"""The local runtime's options, passed from the supervisor to its child processes as one JSON variable."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STAGE = "local"
REGION = "us-east-1"
API_ID = "kalexolocal"
# In the User-Agent of the requests the local runtime makes for itself (pollers' heartbeats), not for the app.
LOCAL_RUNTIME_AGENT = "kalexo-local-runtime"
RUNTIME_ENV = "KALEXO_LOCAL_RUNTIME"


@dataclass(frozen=True)
class RuntimeConfig:
    state_dir: str
    aws_port: int = 4566
    rest_port: int = 8000
    ws_port: int = 8001
    tls_port: int = 8002
    web_port: int = 8003  # the web client (web/)
    web_port_fallback: bool = False  # the port was not asked for: serve on any free one if it is taken
    worker_processes: int = max(1, os.cpu_count() or 1)
    ws_instances: int = 2 * max(1, os.cpu_count() or 1)  # websocket function instances (processes)
    idle_timeout_s: float = 600.0
    # How long a start waits for the emulator and then the gateway to answer, while every child is alive: a busy
    # machine (a tester's, at load 20 on 2 cores) took 75 s, and a start that gives up stops the whole stack.
    start_timeout_s: float = 600.0
    max_connection_s: float = 7200.0
    max_message_bytes: int = 128 * 1024
    retry_delay_s: int | None = 1
    config_stage: str = "dev"  # whose per-function memory and timeout the local functions get

    @property
    def aws_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def management_endpoint(self) -> str:
        """HTTPS, like execute-api: what the app's settings and Chalice's WebsocketAPI use."""
        return f"https://127.0.0.1:{self.tls_port}/{STAGE}"

    @property
    def plain_management_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ws_port}/{STAGE}"

    @property
    def state_path(self) -> Path:
        return Path(self.state_dir)

    @property
    def aws_state_path(self) -> Path:
        """What the emulator keeps across restarts (local/emulator_persistence.py)."""
        return self.state_path / "aws"

    @property
    def faults_path(self) -> Path:
        """Failures on purpose for the emulator's DynamoDB (local/emulator_dynamodb.py); absent: none."""
        return self.state_path / "faults.json"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_environ(cls) -> RuntimeConfig:
        return cls(**json.loads(os.environ[RUNTIME_ENV]))
