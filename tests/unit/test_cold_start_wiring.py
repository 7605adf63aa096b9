"""What a function builds at cold start: only what its handler needs, and no AWS call; and what importing the app
loads (bench/cold_start.py measures the time; these check the wiring that keeps it low).

On AWS the signing secret is an SSM parameter, so loading it is a network call plus an SSM client (about 30 ms
to create). The websocket `$default` function and the workers never verify a token, so building their services
must not load it; a function that does verify one loads it on the first verification.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from chalicelib.auth.tokens import DeferredTokens, TokenService
from chalicelib.container import Container
from chalicelib.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/api"


@pytest.fixture
def container() -> Container:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = {**config["environment_variables"], **config["stages"]["prod"]["environment_variables"],
           "AWS_DEFAULT_REGION": "eu-west-1", "KALEXO_WEBSOCKET_ENDPOINT": ENDPOINT,
           "KALEXO_JWT_SECRET_PARAMETER": "/kalexo/prod/jwt-secret", "KALEXO_JWT_SECRET": ""}
    return Container(Settings.from_env(env))


def test_building_the_router_and_access_loads_no_secret_and_no_ssm_client(container: Container) -> None:
    _ = (container.router(ENDPOINT), container.access, container.page_tiler)  # built, nothing invoked
    assert "secret" not in container.__dict__ and "tokens" not in container.__dict__
    assert "ssm" not in container.clients.__dict__


def test_deferred_tokens_build_on_first_verification_and_verify_the_same() -> None:
    built: list[TokenService] = []
    service = TokenService(secret="s" * 32, ttl_seconds=60)

    def build() -> TokenService:
        built.append(service)
        return service

    deferred = DeferredTokens(build)
    assert built == []
    token = service.issue("u-1", "a-1", [])
    assert deferred.verify(token).user_id == "u-1"
    assert built == [service]


# ---- what a function's import loads (each in a fresh interpreter: imports are process-wide) ----------------------

_PROBE = """
import json, sys
import app
from chalicelib.container import get_container
loaded = {"import": sorted(sys.modules)}
get_container().router(sys.argv[1])
loaded["router"] = sorted(sys.modules)
_ = (get_container().access, get_container().documents, get_container().tile_access)
loaded["documents"] = sorted(sys.modules)
clients = get_container().clients
_ = (clients.dynamodb, clients.s3, clients.sqs, clients.chalice_session().client("apigatewaymanagementapi",
                                                                                 endpoint_url=sys.argv[1]))
loaded["clients"] = sorted(sys.modules)
print(json.dumps(loaded))
"""
# Loaded on first use only: by a request that needs them (a token, a body to validate, a log line or metric, the
# documents' services), never by importing the app, which every function does at every cold start.
NOT_AT_IMPORT = ("aws_lambda_powertools", "jwt", "fastjsonschema", "chalicelib.services.documents",
                 "chalicelib.services.upload_grants", "chalicelib.domain.documents", "chalicelib.domain.tile_plan",
                 "chalicelib.services.router", "chalicelib.adapters.dynamo_documents", "chalicelib.auth.external")
# The websocket `$default` function's router needs none of these either (nor ports.py's Protocol classes: only
# the type checker reads them there).
NOT_FOR_THE_ROUTER = ("aws_lambda_powertools", "jwt", "fastjsonschema", "chalicelib.services.documents",
                      "chalicelib.domain.documents", "chalicelib.services.directory", "chalicelib.services.health",
                      "chalicelib.ports")


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[str]]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KALEXO_", "POWERTOOLS_"))}
    env.update({**config["environment_variables"], **config["stages"]["dev"]["environment_variables"],
                "AWS_DEFAULT_REGION": "eu-west-1", "KALEXO_JWT_SECRET": "s" * 32,
                "KALEXO_WEBSOCKET_ENDPOINT": ENDPOINT})
    out = subprocess.run([sys.executable, "-c", _PROBE, ENDPOINT], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    result: dict[str, list[str]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _found(modules: list[str], names: tuple[str, ...]) -> list[str]:
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


def test_importing_the_app_loads_no_service_powertools_pyjwt_or_fastjsonschema(loaded: dict[str, list[str]]) -> None:
    assert _found(loaded["import"], NOT_AT_IMPORT) == []


def test_building_the_websocket_router_loads_only_what_it_uses(loaded: dict[str, list[str]]) -> None:
    assert "chalicelib.services.router" in loaded["router"]
    assert _found(loaded["router"], NOT_FOR_THE_ROUTER) == []


def test_the_rest_functions_document_services_create_no_protocol_and_load_no_imaging(
        loaded: dict[str, list[str]]) -> None:
    # ports.py's Protocol classes are for the type checker; the failure codes are all the REST function needs of
    # the imaging package (its formats module alone loads zipfile and more).
    assert "chalicelib.services.documents" in loaded["documents"]
    assert _found(loaded["documents"], ("chalicelib.ports", "chalicelib.imaging.formats", "PIL", "pymupdf")) == []


def test_no_function_imports_boto3_not_even_to_make_its_clients(loaded: dict[str, list[str]]) -> None:
    # boto3 on top of botocore (its resources, s3transfer, multiprocessing) is 25 ms or more of a cold start for
    # nothing these functions call: the clients are botocore's (chalicelib/aws.py).
    assert "botocore.client" in loaded["clients"]
    assert _found(loaded["clients"], ("boto3", "s3transfer", "multiprocessing")) == []


def test_correlation_keys_appended_before_the_logger_exists_reach_its_first_line() -> None:
    from chalicelib.observability import _DeferredLogger

    lines: list[dict[str, Any]] = []

    class Recording:
        def __init__(self) -> None:
            self.keys: dict[str, Any] = {}

        def thread_safe_append_keys(self, **keys: Any) -> None:
            self.keys.update(keys)

        def thread_safe_clear_keys(self) -> None:
            self.keys = {}

        def info(self, message: str) -> None:
            lines.append({"message": message, **self.keys})

    logger = _DeferredLogger(Recording)
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(request_id="r-1")
    assert logger.created is None  # nothing logged yet: Powertools not created
    logger.info("first")
    logger.thread_safe_clear_keys()
    logger.thread_safe_append_keys(request_id="r-2")
    logger.info("second")
    assert lines == [{"message": "first", "request_id": "r-1"}, {"message": "second", "request_id": "r-2"}]


def test_a_debug_line_creates_the_logger_only_where_debug_lines_are_written(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.observability import _DeferredLogger

    lines: list[str] = []

    class Recording:
        def thread_safe_append_keys(self, **keys: Any) -> None: ...

        def debug(self, message: str, **_: Any) -> None:
            lines.append(message)

    for setting in ("AWS_LAMBDA_LOG_LEVEL", "LOG_LEVEL"):
        monkeypatch.delenv(setting, raising=False)
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    logger = _DeferredLogger(Recording)
    logger.debug("connected", extra={"user_id": "u-1"})
    assert logger.created is None and lines == []  # at INFO: nothing created, nothing written
    monkeypatch.setenv("AWS_LAMBDA_LOG_LEVEL", "DEBUG")  # Lambda's log level control, as Powertools reads it
    logger.debug("connected", extra={"user_id": "u-1"})
    assert logger.created is not None and lines == ["connected"]
