"""What a function builds at cold start: only what its handler needs, and no AWS call.

On AWS the signing secret is an SSM parameter, so loading it is a network call plus an SSM client (about 30 ms
to create). The websocket `$default` function and the workers never verify a token, so building their services
must not load it; a function that does verify one loads it on the first verification.
"""

from __future__ import annotations

import json
from pathlib import Path

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
