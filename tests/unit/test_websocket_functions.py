"""The websocket functions as Lambda runs them: their own settings say `KALEXO_SERVES=websocket`, so app.py skips
the REST and event blueprints (a shorter cold start). Each must still answer its first event whole, and no other
function may be configured so (the REST function would lose its routes).

Each case runs in a fresh interpreter with the function's deployed environment, every HTTP request answered
in-process by the cold-start benchmark's stub DynamoDB (bench/cold_start_invoke.py), so the whole path runs:
handler, container, services, botocore's client pipeline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cold_start_invoke import SECRET, TRANSPORT, events, function_env

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
WEBSOCKET_FUNCTIONS = {"websocket_connect", "websocket_message", "websocket_disconnect"}
ENDPOINT = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/api"

_INVOKE = """
import json, sys
{transport}
import urllib3.connectionpool
posted, _stub = [], urllib3.connectionpool.HTTPConnectionPool.urlopen


def _recording(self, method, url, body=None, headers=None, **kwargs):
    if "@connections" in url:  # a message posted to a connection (the stub answers it too)
        posted.append({{"url": url, "body": body.decode() if isinstance(body, bytes) else body}})
    return _stub(self, method, url, body, headers, **kwargs)


urllib3.connectionpool.HTTPConnectionPool.urlopen = _recording
import app
context = type("Context", (), {{"function_name": "kalexo-dev-ws", "aws_request_id": "r-1"}})()
answer = getattr(app, {handler!r})(json.loads({event!r}), context)
print(json.dumps({{"answer": answer, "posted": posted, "routes": len(app.app.routes),
                  "powertools": "aws_lambda_powertools" in sys.modules,
                  "handlers": sorted(app.app.websocket_handlers),
                  "modules": sorted(m for m in sys.modules if m.startswith("chalicelib.routes"))}}))
"""


def _environment(kind: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KALEXO_", "POWERTOOLS_"))}
    env.update({**CONFIG["environment_variables"], **CONFIG["stages"]["dev"]["environment_variables"],
                "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "KALEXO_JWT_SECRET": SECRET, "KALEXO_WEBSOCKET_ENDPOINT": ENDPOINT,
                "POWERTOOLS_TRACE_DISABLED": "true", **function_env(kind)})
    return env


@pytest.mark.parametrize("kind", ["websocket $default", "websocket $connect"])
def test_a_websocket_function_answers_its_first_event_without_the_rest_blueprints(kind: str) -> None:
    assert function_env(kind) == {"KALEXO_SERVES": "websocket"}
    handler, event = events()[kind]
    code = _INVOKE.format(transport=TRANSPORT, handler=handler, event=json.dumps(event))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_environment(kind), capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["answer"]["statusCode"] == 200, result["answer"]
    if kind == "websocket $default":  # the heartbeat's pong goes out through the management API
        (pong,) = result["posted"]
        assert pong["url"].endswith("/@connections/c_bench") and json.loads(pong["body"])["action"] == "pong", pong
    assert result["routes"] == 0
    assert result["powertools"] is False  # nothing logged at INFO: no Powertools at a websocket cold start
    assert result["handlers"] == ["$connect", "$default", "$disconnect"]
    assert result["modules"] == ["chalicelib.routes", "chalicelib.routes.chalice_errors",
                                 "chalicelib.routes.errors", "chalicelib.routes.websocket"]


def test_only_the_websocket_functions_skip_the_rest_blueprints() -> None:
    for stage, settings in CONFIG["stages"].items():
        assert settings.get("environment_variables", {}).get("KALEXO_SERVES") is None, stage
        for name, function in settings["lambda_functions"].items():
            serves = function.get("environment_variables", {}).get("KALEXO_SERVES")
            assert serves == ("websocket" if name in WEBSOCKET_FUNCTIONS else None), (stage, name)
    assert CONFIG["environment_variables"].get("KALEXO_SERVES") is None


def test_without_the_setting_every_route_is_registered() -> None:
    code = "import app, json; print(json.dumps([len(app.app.routes), sorted(app.app.websocket_handlers)]))"
    env = {k: v for k, v in _environment("websocket $default").items() if k != "KALEXO_SERVES"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    routes, handlers = json.loads(out.stdout.strip().splitlines()[-1])
    assert routes > 20 and handlers == ["$connect", "$default", "$disconnect"]
