"""One moto server for the contract tests, patched as the local stack's emulator is, with infra/template.yaml
deployed through CloudFormation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from local import emulator_cloudformation, emulator_dynamodb, provision
from tests.ports import free_port


@pytest.fixture(scope="session")
def faults_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where a test writes failures on purpose for the emulator's DynamoDB (local/emulator_dynamodb.py)."""
    return tmp_path_factory.mktemp("emulator") / "faults.json"


@pytest.fixture(scope="session")
def endpoint(faults_file: Path) -> Iterator[str]:
    # The emulator as `make run` runs it: DynamoDB's atomic conditional writes, and failures on purpose.
    os.environ["KALEXO_EMULATOR_FAULTS"] = str(faults_file)
    emulator_dynamodb.install()
    emulator_cloudformation.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="session")
def session() -> boto3.session.Session:
    return boto3.session.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture(scope="session")
def stack(session: boto3.session.Session, endpoint: str) -> provision.Stack:
    return provision.deploy(session, endpoint, "kalexo-contract", {"Stage": "contract"})


@pytest.fixture(scope="session")
def clients(session: boto3.session.Session, endpoint: str) -> dict[str, object]:
    return {name: session.client(name, endpoint_url=endpoint) for name in ("s3", "sqs", "dynamodb", "ssm")}
