"""What a deploy of a stage must produce, from two sources the deploy itself does not control:

- Chalice's own model of the app (its application graph, built from the project `make deploy` generated), for
  each Lambda function's name, handler, memory, timeout, reserved concurrency and policy document, the SQS
  triggers with their batch size and maximum concurrency, the schedules, the REST routes and the websocket
  handlers;
- the tracked configuration and the stack's outputs, for the settings every function must carry.

tests/e2e/test_deploy_rehearsal.py compares these with what the emulator reports after `make deploy`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_MODEL = r"""
import json, sys
sys.path[:0] = [".", sys.argv[2]]  # the generated project's app first; the checkout for tests.chalice_graph
import app
from chalice.deploy import models
from tests.chalice_graph import resources

stage = sys.argv[1]
out = {"functions": {}, "sqs": {}, "schedules": {}, "routes": {}, "websocket": []}
for r in resources(app.app, stage):
    if isinstance(r, models.LambdaFunction):
        policy = r.role.policy
        out["functions"][r.resource_name] = {
            "function_name": r.function_name, "handler": r.handler, "memory": r.memory_size,
            "timeout": r.timeout, "layers": list(r.layers), "reserved": r.reserved_concurrency,
            "environment": r.environment_variables,
            "policy": json.load(open(policy.filename)) if hasattr(policy, "filename") else None}
    elif isinstance(r, models.SQSEventSource):
        out["sqs"][r.queue] = {"function": r.lambda_function.resource_name, "batch_size": r.batch_size,
                               "maximum_concurrency": r.maximum_concurrency}
    elif isinstance(r, models.ScheduledEvent):
        out["schedules"][r.rule_name] = {"function": r.lambda_function.resource_name,
                                         "expression": r.schedule_expression}
    elif isinstance(r, models.WebsocketAPI):
        out["websocket"] = sorted(r.routes)
for path, methods in app.app.routes.items():
    out["routes"][path] = sorted(methods)
print(json.dumps(out))
"""


def chalice_model(project: Path, stage: str) -> dict[str, Any]:
    config = json.loads((project / ".chalice" / "config.json").read_text())
    env = {**config["stages"][stage]["environment_variables"], "PATH": os.environ["PATH"],
           "KALEXO_JWT_SECRET": "not-used", "AWS_DEFAULT_REGION": "us-east-1"}
    result = subprocess.run([sys.executable, "-c", _MODEL, stage, str(ROOT)], cwd=project, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-3000:]
    model: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return model


def client_for(session: Any, endpoint: str, name: str) -> Any:
    return session.client(name, endpoint_url=endpoint)
