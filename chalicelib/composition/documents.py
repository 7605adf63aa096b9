"""The document functions' parts: upload grants, the ingest of new versions, tiling workers, what members read
of documents, and what they hear about them."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, cast

from chalicelib.composition.core import CoreParts
from chalicelib.lazy import Deferred

if TYPE_CHECKING:
    from chalicelib.adapters.s3_tile_store import S3TileReader, S3TileStore
    from chalicelib.adapters.sqs_tasks import SqsTaskQueue
    from chalicelib.services.document_jobs import JobLimits, JobStarter
    from chalicelib.services.document_news import DocumentNews
    from chalicelib.services.documents import DocumentService
    from chalicelib.services.multipart_uploads import MultipartUploads
    from chalicelib.services.tile_access import TileAccess
    from chalicelib.services.tiling import PageTiler
    from chalicelib.services.upload_grants import UploadGrants
    from chalicelib.services.uploads import UploadIngest


class DocumentParts(CoreParts):
    @cached_property
    def upload_ingest(self) -> UploadIngest:
        from chalicelib.adapters.dynamo_uploads import DynamoUploadLog
        from chalicelib.adapters.s3_sources import S3VersionDiscarder
        from chalicelib.services.uploads import UploadIngest

        log = DynamoUploadLog(self.clients.dynamodb, self.settings.main_table)
        discarder = S3VersionDiscarder(self.clients.s3, self.settings.documents_bucket)
        return UploadIngest(log, self.tenancy, self.events, self.job_starter, self.document_store, self.news,
                            discarder)

    @cached_property
    def tile_store(self) -> S3TileStore:
        from chalicelib.adapters.s3_tile_store import S3TileStore

        return S3TileStore(self.clients.lazy_s3(), self.settings.tiles_bucket)

    @cached_property
    def tile_reader(self) -> S3TileReader:
        """Serving tiles reads them only; the REST function's role cannot write the tiles bucket."""
        from chalicelib.adapters.s3_tile_store import S3TileReader

        return S3TileReader(self.clients.lazy_s3(), self.settings.tiles_bucket)

    @cached_property
    def tile_tasks(self) -> SqsTaskQueue:
        from chalicelib.adapters.sqs_tasks import SqsTaskQueue

        return SqsTaskQueue(self.clients.lazy_sqs(), self.settings.tiles_queue)

    @cached_property
    def job_limits(self) -> JobLimits:
        from chalicelib.services.document_jobs import JobLimits

        return JobLimits(self.settings.max_document_pages, self.settings.max_image_pixels)

    @cached_property
    def job_starter(self) -> JobStarter:
        from chalicelib.adapters.cached_tenancy import UncachedTenancy
        from chalicelib.adapters.dynamo_uploads import DynamoUploadLog
        from chalicelib.adapters.s3_sources import S3SourceStore
        from chalicelib.services.document_jobs import JobStarter
        from chalicelib.services.usage import MonthlyPages

        sources = S3SourceStore(self.clients.s3, self.settings.documents_bucket)
        # The plan read fresh at each admission: a quota an administrator just raised applies to the next document.
        # So is the workspace (one read a document, off the hot path): its `settings.tiling` just changed applies
        # to the next upload, not to uploads after the cache's TTL.
        fresh = UncachedTenancy(self.tenancy_store)
        quota = MonthlyPages(self.usage_meter.this_month, fresh)
        log = DynamoUploadLog(self.clients.dynamodb, self.settings.main_table)
        bucket = self.settings.documents_bucket
        return JobStarter(self.document_store, sources, self.tile_tasks, fresh, self.events, self.news,
                          quota, self.job_limits, lambda key, version: log.accepted(bucket, key, version))

    @cached_property
    def page_tiler(self) -> PageTiler:
        from chalicelib.adapters.s3_sources import S3SourceRemover, S3SourceStore
        from chalicelib.services.tiling import PageTiler

        sources = S3SourceStore(self.clients.s3, self.settings.documents_bucket)
        return PageTiler(self.document_store, sources, self.tile_store, self.tenancy, self.events, self.news,
                         self.job_starter, self.job_limits,
                         S3SourceRemover(self.clients.s3, self.settings.documents_bucket))

    @cached_property
    def tile_access(self) -> TileAccess:
        from chalicelib.services.tile_access import TileAccess

        return TileAccess(self.secret, self.document_store, self.tile_reader, self.settings.tile_grant_seconds)

    @cached_property
    def documents(self) -> DocumentService:
        from chalicelib.services.documents import DocumentService

        # News only when a document is removed: built then, with the op log and fan-out modules it brings.
        news = cast("DocumentNews", Deferred(lambda: self.news))
        return DocumentService(self.access, self.document_store, self.tile_tasks, self.tile_access, self.events,
                               self.storage_ledger, news)

    @cached_property
    def news(self) -> DocumentNews:
        """Document statuses into the op log, and progress live (that part needs KALEXO_WEBSOCKET_ENDPOINT:
        workers have no websocket event to configure it from)."""
        from chalicelib.adapters.dynamo_turns import DynamoTurns
        from chalicelib.services.document_news import DocumentNews
        from chalicelib.services.progress import ProgressPublisher

        progress = ProgressPublisher(self.fanout(self.notifier), self.connection_store) if self.notifier else None
        return DocumentNews(self.workspace_log, self.document_store, progress, self.op_publisher,
                            DynamoTurns(self.clients.dynamodb, self.settings.main_table))

    @cached_property
    def upload_grants(self) -> UploadGrants:
        from chalicelib.adapters.cached_tenancy import UncachedTenancy
        from chalicelib.adapters.s3_presigner import S3Presigner
        from chalicelib.services.upload_grants import UploadGrants

        presigner = S3Presigner(self.clients.lazy_s3(), self.settings.documents_bucket)
        # The plan read fresh at each grant, as for documents (JobStarter).
        return UploadGrants(self.access, UncachedTenancy(self.tenancy_store), self.storage_ledger, presigner,
                            self.events, self.settings.max_upload_bytes, self.document_store, self.multipart_uploads,
                            self.settings.multipart_threshold_bytes, self.usage_meter)

    @cached_property
    def multipart_uploads(self) -> MultipartUploads:
        from chalicelib.adapters.s3_presigner import S3Presigner
        from chalicelib.services.multipart_uploads import MultipartUploads

        presigner = S3Presigner(self.clients.lazy_s3(), self.settings.documents_bucket)
        return MultipartUploads(self.access, presigner, self.cursors, 24 * 3600, self.storage_ledger,
                                self.document_store)
