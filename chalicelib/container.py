"""The composition root: builds each service once per process from settings and the shared clients.

Handlers ask the container for a service; tests build services directly with fakes instead.
"""

from __future__ import annotations

from functools import cached_property, lru_cache

from chalicelib.adapters.dynamo_connections import DynamoConnectionStore
from chalicelib.adapters.dynamo_uploads import DynamoUploadLog
from chalicelib.adapters.health_probes import (
    BucketProbe,
    EndpointProbe,
    EventSourceProbe,
    QueueProbe,
    TableProbe,
)
from chalicelib.adapters.notifier import ManagementApiNotifier
from chalicelib.adapters.secrets import signing_secret
from chalicelib.auth.tokens import TokenService
from chalicelib.aws import AwsClients
from chalicelib.services.connections import ConnectionService
from chalicelib.services.health import HealthService
from chalicelib.services.router import MessageRouter
from chalicelib.services.uploads import UploadIngest
from chalicelib.settings import Settings, get_settings


class Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clients = AwsClients(settings)

    @cached_property
    def tokens(self) -> TokenService:
        secret = signing_secret(self.settings, self.clients.ssm)
        return TokenService(secret=secret, ttl_seconds=self.settings.token_ttl_seconds)

    @cached_property
    def connections(self) -> ConnectionService:
        store = DynamoConnectionStore(self.clients.dynamodb, self.settings.connections_table)
        return ConnectionService(self.tokens, store)

    def router(self, management_endpoint: str) -> MessageRouter:
        notifier = ManagementApiNotifier(self.clients.management_api(management_endpoint))
        return MessageRouter(notifier)

    @cached_property
    def upload_ingest(self) -> UploadIngest:
        return UploadIngest(DynamoUploadLog(self.clients.dynamodb, self.settings.main_table))

    @cached_property
    def health(self) -> HealthService:
        s, c = self.settings, self.clients
        queues = [(s.uploads_queue, s.uploads_dlq), (s.tiles_queue, s.tiles_dlq)]
        return HealthService(s.stage, [
            EndpointProbe(c.dynamodb, s.aws_endpoint_url),
            *(TableProbe(c.dynamodb, t) for t in (s.main_table, s.connections_table, s.ops_table, s.events_table)),
            *(QueueProbe(c.sqs, q, dlq) for q, dlq in queues),
            *(BucketProbe(c.s3, b) for b in (s.documents_bucket, s.tiles_bucket)),
            EventSourceProbe(c.dynamodb, s.main_table, [s.uploads_queue], required=s.event_source_heartbeats),
        ])


@lru_cache(maxsize=1)
def get_container() -> Container:
    return Container(get_settings())
