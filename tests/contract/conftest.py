"""One moto server for the contract tests, with infra/template.yaml deployed through CloudFormation."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from local import provision
from tests.ports import free_port


@pytest.fixture(scope="session")
def endpoint() -> Iterator[str]:
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
