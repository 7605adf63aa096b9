"""The composition root: builds each service once per process from settings and the shared clients.
Handlers ask the container for a service; tests build services directly with fakes instead."""

from __future__ import annotations

from functools import cached_property, lru_cache

from chalicelib.adapters.cache_local import LocalTtlCache
from chalicelib.adapters.cached_tenancy import CachedTenancy, UncachedTenancy
from chalicelib.adapters.dynamo_connections import CONNECTION_ROW_TTL_SECONDS, DynamoConnectionStore
from chalicelib.adapters.dynamo_documents import DynamoDocumentStore
from chalicelib.adapters.dynamo_events import DynamoEventLog
from chalicelib.adapters.dynamo_oplog import DynamoOpLog
from chalicelib.adapters.dynamo_rate_limit import DynamoRateLimiter
from chalicelib.adapters.dynamo_tenancy import DynamoTenancyStore
from chalicelib.adapters.dynamo_uploads import DynamoUploadLog
from chalicelib.adapters.dynamo_usage import DynamoUsageMeter
from chalicelib.adapters.health_probes import BucketProbe, EndpointProbe, EventSourceProbe, QueueProbe, TableProbe
from chalicelib.adapters.notifier import ManagementApiNotifier
from chalicelib.adapters.s3_presigner import S3Presigner
from chalicelib.adapters.s3_snapshots import S3Snapshots
from chalicelib.adapters.s3_sources import S3SourceStore
from chalicelib.adapters.s3_tile_store import S3TileStore
from chalicelib.adapters.secrets import signing_secret
from chalicelib.adapters.sqs_tasks import SqsTaskQueue
from chalicelib.auth.external import ExternalIssuers
from chalicelib.auth.tokens import DeferredTokens, TokenService
from chalicelib.aws import AwsClients
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.token_bucket import TokenBuckets
from chalicelib.ports import Cache
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.connections import ConnectionService
from chalicelib.services.directory import DirectoryService
from chalicelib.services.document_jobs import JobLimits, JobStarter, MonthlyPages
from chalicelib.services.documents import DocumentService
from chalicelib.services.events import EventQueries, EventRecorder
from chalicelib.services.fanout import Fanout
from chalicelib.services.fanout_overflow import FanoutChunks, QueuedFanout
from chalicelib.services.health import HealthService
from chalicelib.services.multipart_uploads import MultipartUploads
from chalicelib.services.presence import PresenceService
from chalicelib.services.progress import ProgressPublisher
from chalicelib.services.recovery import RecoveryService
from chalicelib.services.router import MessageRouter
from chalicelib.services.sync import WorkspaceHistory, WorkspaceSync
from chalicelib.services.tile_access import TileAccess
from chalicelib.services.tiling import PageTiler
from chalicelib.services.upload_grants import UploadGrants
from chalicelib.services.uploads import UploadIngest
from chalicelib.services.usage import UsageService
from chalicelib.services.workspaces import WorkspaceService
from chalicelib.settings import Settings, get_settings


class Container:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clients = AwsClients(settings)

    @cached_property
    def secret(self) -> str:
        return signing_secret(self.settings, self.clients.lazy_ssm())

    @cached_property
    def tokens(self) -> TokenService:
        external = ExternalIssuers.from_setting(self.settings.jwt_issuers)
        return TokenService(secret=self.secret, ttl_seconds=self.settings.token_ttl_seconds, external=external)

    @cached_property
    def cursors(self) -> CursorCodec:
        return CursorCodec(self.secret)

    @cached_property
    def cache(self) -> Cache:
        if self.settings.cache_backend == "memcached":
            from chalicelib.adapters.cache_memcached import MemcachedCache

            return MemcachedCache(self.clients.memcached(), prefix=f"kalexo:{self.settings.stage}:")
        return LocalTtlCache()

    @cached_property
    def tenancy(self) -> CachedTenancy:
        store = DynamoTenancyStore(self.clients.dynamodb, self.settings.main_table)
        return CachedTenancy(store, self.cache, self.settings.cache_ttl_seconds)

    @cached_property
    def access(self) -> AccessService:
        return AccessService(DeferredTokens(lambda: self.tokens), self.tenancy)

    @cached_property
    def connection_store(self) -> DynamoConnectionStore:
        return DynamoConnectionStore(self.clients.dynamodb, self.settings.connections_table,
                                     self.settings.presence_stale_seconds, recipients_ttl_s=1.0)

    @cached_property
    def event_log(self) -> DynamoEventLog:
        return DynamoEventLog(self.clients.dynamodb, self.settings.events_table, self.settings.event_retention_days)

    @cached_property
    def events(self) -> EventRecorder:
        return EventRecorder(self.event_log, self.connection_store, self.notifier, self.may_follow_events)

    def may_follow_events(self, connection_id: str, scope: str) -> bool:
        actor = self.actor_of_connection(connection_id)
        return actor is not None and (actor.is_platform_admin or (scope == actor.account_id
                                                                    and actor.administers(scope)))

    @cached_property
    def event_queries(self) -> EventQueries:
        return EventQueries(self.event_log, self.access)

    @cached_property
    def rate_limiter(self) -> DynamoRateLimiter | None:
        limit = self.settings.rate_limit_per_minute
        return DynamoRateLimiter(self.clients.dynamodb, self.settings.main_table, limit) if limit > 0 else None

    @cached_property
    def auth_failure_limiter(self) -> DynamoRateLimiter | None:
        limit = self.settings.auth_failures_per_minute
        return DynamoRateLimiter(self.clients.dynamodb, self.settings.main_table, limit) if limit > 0 else None

    @cached_property
    def usage_meter(self) -> DynamoUsageMeter:
        return DynamoUsageMeter(self.clients.dynamodb, self.settings.main_table)

    @cached_property
    def notifier(self) -> ManagementApiNotifier | None:
        """For pushing to connections outside websocket handlers; needs the configured endpoint."""
        endpoint = self.settings.websocket_endpoint
        if not endpoint:
            return None
        return ManagementApiNotifier(self.clients.lazy_management_api(endpoint),
                                     self.clients.connection_poster(endpoint))

    @cached_property
    def directory(self) -> DirectoryService:
        return DirectoryService(self.tenancy, self.access, self.events, self.tokens, self.connection_store,
                                self.notifier)

    @cached_property
    def workspaces(self) -> WorkspaceService:
        return WorkspaceService(self.tenancy, self.access, self.events, self.directory, self.connection_store)

    @cached_property
    def usage(self) -> UsageService:
        return UsageService(self.usage_meter, self.directory)

    @cached_property
    def connections(self) -> ConnectionService:
        # Uncached reads at connect: a connection lives for hours, so it must not be admitted on a grant
        # that another function instance revoked seconds ago.
        fresh = AccessService(self.tokens, UncachedTenancy(self.tenancy.store))
        departure = None
        if self.notifier is not None:
            presence = PresenceService(self.access, self.connection_store, self.fanout(self.notifier))

            def departure(workspace: str, connection: str, user: str) -> None:
                presence.announce(workspace, connection, user, {"status": "offline"})
        return ConnectionService(fresh, self.connection_store, self.events, self.usage_meter, departure)

    @cached_property
    def history(self) -> WorkspaceHistory:
        return WorkspaceHistory(self.oplog, S3Snapshots(self.clients.lazy_s3(), self.settings.documents_bucket))

    def router(self, management_endpoint: str) -> MessageRouter:
        notifier = ManagementApiNotifier(self.clients.lazy_management_api(management_endpoint),
                                         self.clients.connection_poster(management_endpoint))
        fanout = self.fanout(notifier, management_endpoint)
        presence = PresenceService(self.access, self.connection_store, fanout)
        sync = WorkspaceSync(self.access, self.oplog, self.connection_store, fanout, presence, self.history)
        return MessageRouter(notifier, self.connection_store, self.actor_of_connection, sync, self.message_budgets)

    @cached_property
    def recovery(self) -> RecoveryService:
        """From REST: restored ops are pushed to connected members when the endpoint setting is there."""
        fanout = self.fanout(self.notifier) if self.notifier else None
        return RecoveryService(self.access, self.history, self.oplog, self.connection_store, fanout, self.events)

    @cached_property
    def message_budgets(self) -> TokenBuckets:
        rate = self.settings.messages_per_second
        return TokenBuckets(rate_per_s=rate, burst=int(rate * 2))

    @cached_property
    def oplog(self) -> DynamoOpLog:
        return DynamoOpLog(self.clients.dynamodb, self.settings.ops_table)

    def actor_of_connection(self, connection_id: str) -> Actor | None:
        """Who is on a connection. The connection's user never changes, so that mapping is cached for the
        connection's life; the user record itself goes through the (short-lived) tenancy cache."""
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
        return LocalTtlCache(max_entries=20_000)

    @cached_property
    def upload_ingest(self) -> UploadIngest:
        log = DynamoUploadLog(self.clients.dynamodb, self.settings.main_table)
        return UploadIngest(log, self.tenancy, self.events, self.job_starter, self.document_store)

    @cached_property
    def document_store(self) -> DynamoDocumentStore:
        return DynamoDocumentStore(self.clients.dynamodb, self.settings.main_table)

    @cached_property
    def tile_store(self) -> S3TileStore:
        return S3TileStore(self.clients.lazy_s3(), self.settings.tiles_bucket)

    @cached_property
    def tile_tasks(self) -> SqsTaskQueue:
        return SqsTaskQueue(self.clients.lazy_sqs(), self.settings.tiles_queue)

    @cached_property
    def job_limits(self) -> JobLimits:
        return JobLimits(self.settings.max_document_pages, self.settings.max_image_pixels)

    @cached_property
    def job_starter(self) -> JobStarter:
        sources = S3SourceStore(self.clients.s3, self.settings.documents_bucket)
        quota = MonthlyPages(self.usage_meter.this_month, self.tenancy)
        return JobStarter(self.document_store, sources, self.tile_tasks, self.tenancy, self.events, self.progress,
                          quota, self.job_limits)

    @cached_property
    def page_tiler(self) -> PageTiler:
        sources = S3SourceStore(self.clients.s3, self.settings.documents_bucket)
        return PageTiler(self.document_store, sources, self.tile_store, self.tenancy, self.events, self.progress,
                         self.job_starter, self.job_limits)

    @cached_property
    def tile_access(self) -> TileAccess:
        return TileAccess(self.secret, self.document_store, self.tile_store, self.settings.tile_grant_seconds)

    @cached_property
    def documents(self) -> DocumentService:
        return DocumentService(self.access, self.document_store, self.tile_tasks, self.tile_access, self.events)

    @cached_property
    def progress(self) -> ProgressPublisher | None:
        """For workers: needs KALEXO_WEBSOCKET_ENDPOINT (they have no websocket event to configure from)."""
        if self.notifier is None:
            return None
        # Not the router's store: its one-second recipients cache would miss a member who just connected.
        fresh = DynamoConnectionStore(self.clients.dynamodb, self.settings.connections_table)
        return ProgressPublisher(self.fanout(self.notifier), fresh)

    def fanout(self, notifier: ManagementApiNotifier, endpoint: str | None = None) -> Fanout:
        """Posts to up to `fanout_inline_max` connections itself and queues the rest (a large workspace must not
        keep one invocation past API Gateway's 29 s)."""
        overflow = QueuedFanout(SqsTaskQueue(self.clients.lazy_sqs(), self.settings.fanout_queue),
                                endpoint or self.settings.websocket_endpoint or "")
        return Fanout(notifier, self.connection_store, overflow=overflow, inline_max=self.settings.fanout_inline_max)

    @cached_property
    def fanout_chunks(self) -> FanoutChunks:
        def fanout_for(endpoint: str) -> Fanout:
            notifier = ManagementApiNotifier(self.clients.lazy_management_api(endpoint),
                                             self.clients.connection_poster(endpoint))
            return Fanout(notifier, self.connection_store)  # no overflow: a chunk is delivered, never re-queued

        return FanoutChunks(fanout_for)

    @cached_property
    def upload_grants(self) -> UploadGrants:
        presigner = S3Presigner(self.clients.lazy_s3(), self.settings.documents_bucket)
        return UploadGrants(self.access, self.tenancy, self.usage_meter, presigner, self.events,
                            self.settings.max_upload_bytes, self.document_store, self.multipart_uploads,
                            self.settings.multipart_threshold_bytes)

    @cached_property
    def multipart_uploads(self) -> MultipartUploads:
        presigner = S3Presigner(self.clients.lazy_s3(), self.settings.documents_bucket)
        return MultipartUploads(self.access, presigner, self.cursors, 24 * 3600)

    @cached_property
    def health(self) -> HealthService:
        s, c = self.settings, self.clients
        queues = [(s.uploads_queue, s.uploads_dlq), (s.tiles_queue, s.tiles_dlq)]
        return HealthService(s.stage, [
            EndpointProbe(c.sts, s.aws_endpoint_url),
            *(TableProbe(c.dynamodb, t) for t in (s.main_table, s.connections_table, s.ops_table, s.events_table)),
            *(QueueProbe(c.sqs, q, dlq) for q, dlq in queues),
            *(BucketProbe(c.s3, b) for b in (s.documents_bucket, s.tiles_bucket)),
            EventSourceProbe(c.dynamodb, s.main_table, [s.uploads_queue], required=s.event_source_heartbeats),
        ])


@lru_cache(maxsize=1)
def get_container() -> Container:
    return Container(get_settings())
