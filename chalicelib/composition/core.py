"""What every kind of function shares: settings, clients, who is asking, connections, the event log, the
workspace op log, and delivery to websocket connections.

Each member imports its adapters and services when it is first built, not at module import: Chalice loads the
whole app in every function, so a top-level import here would make the websocket functions load the document
services (and the REST function the router's) at every cold start. Names used only in annotations are imported
for the type checker alone."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.aws import AwsClients
from chalicelib.settings import Settings

if TYPE_CHECKING:
    from chalicelib.adapters.cache_local import LocalTtlCache
    from chalicelib.adapters.cached_tenancy import CachedTenancy
    from chalicelib.adapters.dynamo_audience import DynamoAudienceCounter
    from chalicelib.adapters.dynamo_connections import DynamoConnectionStore
    from chalicelib.adapters.dynamo_documents import DynamoDocumentStore
    from chalicelib.adapters.dynamo_events import DynamoEventLog
    from chalicelib.adapters.dynamo_rate_limit import DynamoRateLimiter
    from chalicelib.adapters.dynamo_storage import DynamoStorageLedger
    from chalicelib.adapters.dynamo_tenancy import DynamoTenancyStore
    from chalicelib.adapters.dynamo_usage import DynamoUsageMeter
    from chalicelib.adapters.notifier import ManagementApiNotifier
    from chalicelib.auth.tokens import TokenService
    from chalicelib.domain.cursors import CursorCodec
    from chalicelib.log_ports import OpLog
    from chalicelib.ports import Cache
    from chalicelib.services.access import AccessService, Actor
    from chalicelib.services.auth_failures import AuthFailures
    from chalicelib.services.events import EventRecorder
    from chalicelib.services.fanout import Fanout, OpPublisher
    from chalicelib.services.workspace_log import WorkspaceLog


class CoreParts:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clients = AwsClients(settings)

    @cached_property
    def secret(self) -> str:
        from chalicelib.adapters.secrets import signing_secret

        return signing_secret(self.settings, self.clients.lazy_ssm())

    @cached_property
    def tokens(self) -> TokenService:
        from chalicelib.auth.external import ExternalIssuers
        from chalicelib.auth.tokens import TokenService

        external = ExternalIssuers.from_setting(self.settings.jwt_issuers)
        return TokenService(secret=self.secret, ttl_seconds=self.settings.token_ttl_seconds, external=external)

    @cached_property
    def cursors(self) -> CursorCodec:
        from chalicelib.domain.cursors import CursorCodec

        return CursorCodec(self.secret)

    @cached_property
    def cache(self) -> Cache:
        if self.settings.cache_backend == "memcached":
            from chalicelib.adapters.cache_memcached import MemcachedCache

            return MemcachedCache(self.clients.memcached(), prefix=f"kalexo:{self.settings.stage}:")
        from chalicelib.adapters.cache_local import LocalTtlCache

        return LocalTtlCache()

    @cached_property
    def tenancy(self) -> CachedTenancy:
        from chalicelib.adapters.cached_tenancy import CachedTenancy

        return CachedTenancy(self.tenancy_store, self.cache, self.settings.cache_ttl_seconds)

    @cached_property
    def tenancy_store(self) -> DynamoTenancyStore:
        from chalicelib.adapters.dynamo_tenancy import DynamoTenancyStore

        return DynamoTenancyStore(self.clients.dynamodb, self.settings.main_table)

    @cached_property
    def access(self) -> AccessService:
        from chalicelib.auth.tokens import DeferredTokens
        from chalicelib.services.access import AccessService

        return AccessService(DeferredTokens(lambda: self.tokens), self.tenancy)

    @cached_property
    def fresh_access(self) -> AccessService:
        """Uncached reads: for decisions that must not rest on a grant another instance revoked seconds ago
        (admitting a websocket connection, joining a workspace, a heartbeat)."""
        from chalicelib.adapters.cached_tenancy import UncachedTenancy
        from chalicelib.auth.tokens import DeferredTokens
        from chalicelib.services.access import AccessService

        return AccessService(DeferredTokens(lambda: self.tokens), UncachedTenancy(self.tenancy_store))

    @cached_property
    def connection_store(self) -> DynamoConnectionStore:
        from chalicelib.adapters.dynamo_connections import DynamoConnectionStore

        return DynamoConnectionStore(self.clients.dynamodb, self.settings.connections_table,
                                     self.settings.presence_stale_seconds)

    @cached_property
    def event_log(self) -> DynamoEventLog:
        from chalicelib.adapters.dynamo_events import DynamoEventLog

        return DynamoEventLog(self.clients.dynamodb, self.settings.events_table, self.settings.event_retention_days)

    @cached_property
    def events(self) -> EventRecorder:
        from chalicelib.services.events import EventRecorder

        return EventRecorder(self.event_log, self.connection_store, self.notifier, self.may_follow_events)

    def per_minute_limiter(self, limit: int) -> DynamoRateLimiter | None:
        """A budget of `limit` a minute per caller in the main table; none when the setting is 0."""
        from chalicelib.adapters.dynamo_rate_limit import DynamoRateLimiter

        return DynamoRateLimiter(self.clients.dynamodb, self.settings.main_table, limit) if limit > 0 else None

    @cached_property
    def auth_failure_limiter(self) -> DynamoRateLimiter | None:
        return self.per_minute_limiter(self.settings.auth_failures_per_minute)

    @cached_property
    def auth_failures(self) -> AuthFailures:
        """Failed logins at REST routes and websocket connects: one budget per source address."""
        from chalicelib.services.auth_failures import AuthFailures

        return AuthFailures(self.auth_failure_limiter, self.events)

    def may_follow_events(self, connection_id: str, scope: str) -> bool:
        actor = self.actor_of_connection(connection_id)
        return actor is not None and (actor.is_platform_admin or (scope == actor.account_id
                                                                    and actor.administers(scope)))

    def actor_of_connection(self, connection_id: str) -> Actor | None:
        """Who is on a connection. The connection's user never changes, so that mapping is cached for the
        connection's life; the user record itself goes through the (short-lived) tenancy cache."""
        from chalicelib.adapters.dynamo_connections import CONNECTION_ROW_TTL_SECONDS
        from chalicelib.services.access import Actor

        cached = self._connection_users.get(connection_id)
        if cached is None:
            row = self.connection_store.get(connection_id)
            if row is None:
                return None
            cached = str(row["user_id"]).encode()
            self._connection_users.set(connection_id, cached, ttl_seconds=CONNECTION_ROW_TTL_SECONDS)
        user = self.tenancy.user(cached.decode())
        return Actor(user) if user else None

    @cached_property
    def _connection_users(self) -> LocalTtlCache:
        from chalicelib.adapters.cache_local import LocalTtlCache

        return LocalTtlCache(max_entries=20_000)

    @cached_property
    def usage_meter(self) -> DynamoUsageMeter:
        from chalicelib.adapters.dynamo_usage import DynamoUsageMeter

        return DynamoUsageMeter(self.clients.dynamodb, self.settings.main_table)

    @cached_property
    def storage_ledger(self) -> DynamoStorageLedger:
        from chalicelib.adapters.dynamo_storage import DynamoStorageLedger

        return DynamoStorageLedger(self.clients.dynamodb, self.settings.main_table, self.settings.documents_bucket)

    @cached_property
    def notifier(self) -> ManagementApiNotifier | None:
        """For pushing to connections outside websocket handlers; needs the configured endpoint."""
        endpoint = self.settings.websocket_endpoint
        return self.notifier_for(endpoint) if endpoint else None

    def notifier_for(self, endpoint: str) -> ManagementApiNotifier:
        from chalicelib.adapters.notifier import ManagementApiNotifier

        return ManagementApiNotifier(self.clients.lazy_management_api(endpoint),
                                     self.clients.connection_poster(endpoint))

    @cached_property
    def workspace_log(self) -> WorkspaceLog:
        from chalicelib.adapters.s3_snapshots import S3Snapshots
        from chalicelib.services.workspace_log import WorkspaceLog

        return WorkspaceLog(self.op_log, S3Snapshots(self.clients.lazy_s3(), self.settings.documents_bucket))

    @cached_property
    def op_log(self) -> OpLog:
        from chalicelib.adapters.dynamo_oplog import DynamoOpLog

        return DynamoOpLog(self.clients.dynamodb, self.settings.ops_table, self.settings.main_table)

    @cached_property
    def audience_counter(self) -> DynamoAudienceCounter:
        """What `$connect` needs of the op log: counting a connection opened in a workspace into its audience."""
        from chalicelib.adapters.dynamo_audience import DynamoAudienceCounter

        return DynamoAudienceCounter(self.clients.dynamodb, self.settings.ops_table)

    def fanout(self, notifier: ManagementApiNotifier, endpoint: str | None = None) -> Fanout:
        """Posts to up to `fanout_inline_max` connections itself and queues the rest (a large workspace must not
        keep one invocation past API Gateway's 29 s)."""
        from chalicelib.adapters.sqs_tasks import SqsTaskQueue
        from chalicelib.services.fanout import Fanout
        from chalicelib.services.fanout_overflow import QueuedFanout

        overflow = QueuedFanout(SqsTaskQueue(self.clients.lazy_sqs(), self.settings.fanout_queue),
                                endpoint or self.settings.websocket_endpoint or "")
        return Fanout(notifier, self.connection_store, overflow=overflow, inline_max=self.settings.fanout_inline_max)

    @cached_property
    def op_publisher(self) -> OpPublisher | None:
        """Ops written outside the router (documents, restores) to the workspace's connections; needs the
        websocket endpoint setting (workers and the REST API have no websocket event to take it from)."""
        from chalicelib.services.fanout import OpPublisher

        return OpPublisher(self.fanout(self.notifier), self.connection_store) if self.notifier else None

    @cached_property
    def document_store(self) -> DynamoDocumentStore:
        """Document records: the document functions', and the REST function's (a workspace with documents
        is not deleted)."""
        from chalicelib.adapters.dynamo_documents import DynamoDocumentStore

        return DynamoDocumentStore(self.clients.dynamodb, self.settings.main_table)
