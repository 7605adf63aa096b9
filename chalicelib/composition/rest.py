"""The REST API's own parts: request budgets, administration (accounts, users, workspaces, members, usage,
the event log), recovery and health."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.composition.core import CoreParts

if TYPE_CHECKING:
    from chalicelib.adapters.dynamo_rate_limit import DynamoRateLimiter
    from chalicelib.services.directory import DirectoryService
    from chalicelib.services.events import EventQueries
    from chalicelib.services.health import HealthService
    from chalicelib.services.recovery import RecoveryService
    from chalicelib.services.usage import UsageService
    from chalicelib.services.workspaces import WorkspaceService


class RestParts(CoreParts):
    @cached_property
    def rate_limiter(self) -> DynamoRateLimiter | None:

        return self.per_minute_limiter(self.settings.rate_limit_per_minute)

    @cached_property
    def directory(self) -> DirectoryService:
        from chalicelib.services.directory import DirectoryService

        return DirectoryService(self.tenancy, self.access, self.events, self.tokens, self.connection_store,
                                self.notifier, self.storage_ledger, self.document_store, self.usage_meter)

    @cached_property
    def workspaces(self) -> WorkspaceService:
        from chalicelib.services.workspaces import WorkspaceService

        return WorkspaceService(self.tenancy, self.access, self.events, self.directory, self.connection_store,
                                self.document_store, self.storage_ledger)

    @cached_property
    def usage(self) -> UsageService:
        from chalicelib.services.usage import UsageService

        return UsageService(self.usage_meter, self.storage_ledger, self.directory)

    @cached_property
    def event_queries(self) -> EventQueries:
        from chalicelib.services.events import EventQueries

        return EventQueries(self.event_log, self.access)

    @cached_property
    def recovery(self) -> RecoveryService:
        """Restored ops are pushed to connected members where the websocket endpoint setting is there."""
        from chalicelib.services.recovery import RecoveryService

        return RecoveryService(self.access, self.workspace_log, self.op_publisher, self.events)

    @cached_property
    def health(self) -> HealthService:
        from chalicelib.adapters.health_probes import (
            BucketProbe,
            EndpointProbe,
            EventSourceProbe,
            QueueProbe,
            TableProbe,
        )
        from chalicelib.services.health import HealthService

        s, c = self.settings, self.clients
        queues = [(s.uploads_queue, s.uploads_dlq), (s.tiles_queue, s.tiles_dlq)]
        return HealthService(s.stage, [
            EndpointProbe(c.sts, s.aws_endpoint_url),
            *(TableProbe(c.dynamodb, t) for t in (s.main_table, s.connections_table, s.ops_table, s.events_table)),
            *(QueueProbe(c.sqs, q, dlq) for q, dlq in queues),
            *(BucketProbe(c.s3, b) for b in (s.documents_bucket, s.tiles_bucket)),
            EventSourceProbe(c.dynamodb, s.main_table, [s.uploads_queue], required=s.event_source_heartbeats),
        ])
