"""The one place that creates boto3 clients.

Clients are cached per process (a Lambda execution environment reuses them across invocations) and use the
standard retry mode. The endpoint comes from AWS_ENDPOINT_URL, so the same code talks to the local emulator
or to AWS; boto3 itself would honour that variable too, but naming it here keeps the choice visible.

They are botocore's clients, created from a botocore session: a boto3 client *is* one, and importing boto3
on top of botocore (its resources, s3transfer, multiprocessing) costs 25 ms or more of every cold start for
nothing these functions call (docs/benchmarks.md, "Cold start"). So no code here may use what boto3 adds to
its clients (S3's managed transfers, `download_file` and the like); sources are read with one streamed GET.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.config import Config

from chalicelib.adapters.connection_poster import SignedConnectionPoster
from chalicelib.lazy import Deferred
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_ssm import SSMClient

_CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 4},
    connect_timeout=3,
    read_timeout=20,
    # Fan-out posts to many connections in parallel through one shared client.
    max_pool_connections=32,
)
# The fan-out posts one message to every connection of a workspace: boto3's per-request CPU is the router's cost
# (about 1 ms a post). Parameter validation is a tenth of it and pointless for requests this code builds itself.
_FANOUT_CONFIG = _CLIENT_CONFIG.merge(Config(parameter_validation=False))


def _lazy_client(create: Callable[[], Any]) -> Any:
    """A client created on first use. Creating a boto3 client loads its service model (80-250 ms each at cold
    start), so a function builds only the clients its invocations actually call: e.g. the REST function needs S3
    and SQS only for uploads and reprocessing."""
    return Deferred(create)


class AwsClients:
    """Lazily created, process-wide boto3 clients for one set of settings."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._management: dict[str, Any] = {}

    @cached_property
    def session(self) -> botocore.session.Session:
        session = botocore.session.get_session()
        session.set_config_variable("region", self._settings.region)
        return session

    def _client(self, service: str, endpoint_url: str | None = None, config: Config = _CLIENT_CONFIG) -> Any:
        # Sessions are not thread safe for client creation; clients themselves are.
        with self._lock:
            return self.session.create_client(
                service, region_name=self._settings.region,
                endpoint_url=endpoint_url or self._settings.aws_endpoint_url, config=config)

    def chalice_session(self) -> ChaliceSession:
        """What Chalice's `app.websocket_api.session` is given (it asks a boto3 session for one client)."""
        return ChaliceSession(self)

    def lazy_s3(self) -> S3Client:
        return cast("S3Client", _lazy_client(lambda: self.s3))

    def lazy_sqs(self) -> SQSClient:
        return cast("SQSClient", _lazy_client(lambda: self.sqs))

    def lazy_ssm(self) -> SSMClient:
        return cast("SSMClient", _lazy_client(lambda: self.ssm))

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        client: DynamoDBClient = self._client("dynamodb")
        return client

    @cached_property
    def s3(self) -> S3Client:
        # Presigned uploads must be SigV4 (SigV2 signs neither the length nor the region) and name the bucket's
        # regional host: the global one can answer a fresh bucket with a redirect, which a browser's CORS upload
        # does not follow. Emulators take path-style addressing (KALEXO_S3_ADDRESSING=path).
        s = self._settings
        addressing: Any = {"addressing_style": s.s3_addressing}
        config = _CLIENT_CONFIG.merge(Config(signature_version="s3v4", s3=addressing))
        endpoint = s.aws_endpoint_url or f"https://s3.{s.region}.amazonaws.com"
        client: S3Client = self._client("s3", endpoint_url=endpoint, config=config)
        return client

    @cached_property
    def sqs(self) -> SQSClient:
        client: SQSClient = self._client("sqs")
        return client

    @cached_property
    def sts(self) -> Any:
        return self._client("sts")

    @cached_property
    def ssm(self) -> SSMClient:
        client: SSMClient = self._client("ssm")
        return client

    def memcached(self) -> Any:
        """A pymemcache client for the configured endpoint (TLS for ElastiCache Serverless)."""
        from pymemcache.client.base import Client

        host, _, port = (self._settings.memcached_endpoint or "").rpartition(":")
        tls = None
        if self._settings.memcached_tls:
            import ssl

            tls = ssl.create_default_context()
        return Client((host, int(port)), connect_timeout=1, timeout=1, tls_context=tls, no_delay=True)

    def lazy_management_api(self, endpoint_url: str) -> ApiGatewayManagementApiClient:
        """Only closing a connection needs the client now (posts go through the poster): made on first use."""
        return cast("ApiGatewayManagementApiClient", _lazy_client(lambda: self.management_api(endpoint_url)))

    def connection_poster(self, endpoint_url: str) -> SignedConnectionPoster:
        """The fan-out's signed HTTP poster for one websocket API endpoint (shared per endpoint)."""
        key = f"poster {endpoint_url}"
        poster = self._management.get(key)
        if poster is None:
            ca_bundle = self.session.get_config_variable("ca_bundle")  # AWS_CA_BUNDLE, as botocore reads it
            created = SignedConnectionPoster(endpoint_url, self.session.get_credentials(),
                                             self._settings.region, ca_bundle)
            poster = self._management.setdefault(key, created)
        return poster  # type: ignore[no-any-return]

    def management_api(self, endpoint_url: str) -> ApiGatewayManagementApiClient:
        """The @connections client for one websocket API endpoint (one shared client per endpoint)."""
        client = self._management.get(endpoint_url)
        if client is None:
            created = self._client("apigatewaymanagementapi", endpoint_url=endpoint_url, config=_FANOUT_CONFIG)
            client = self._management.setdefault(endpoint_url, created)
        return client  # type: ignore[no-any-return]


class ChaliceSession:
    """The part of a boto3 session Chalice's WebsocketAPI uses (`client`, `region_name`), over these clients."""

    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    @property
    def region_name(self) -> str:
        return self._clients._settings.region

    def client(self, service_name: str, endpoint_url: str | None = None) -> Any:
        return self._clients._client(service_name, endpoint_url=endpoint_url)
