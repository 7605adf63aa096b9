"""The tiling services wired to their real adapters on the emulator, for contract tests that hand page tasks to
the tiler themselves (so a worker can die, or a race happen, exactly where a test wants it)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from chalicelib.adapters.dynamo_documents import DynamoDocumentStore
from chalicelib.adapters.s3_sources import S3SourceStore
from chalicelib.adapters.s3_tile_store import S3TileStore
from chalicelib.adapters.sqs_tasks import SqsTaskQueue
from chalicelib.domain.documents import Document, DocumentStatus, source_key
from chalicelib.domain.tenancy import Account, Workspace
from chalicelib.services.document_jobs import JobLimits, JobStarter
from chalicelib.services.tiling import PageTiler
from chalicelib.services.usage import MonthlyPages
from tests.fakes import InMemoryTenancy, RecordingEvents


def tiling_parts(stack: Any, clients: Any, cache_dir: str, tiles: S3TileStore,
                 accepted: Callable[[str, str], bool] | None = None) -> tuple[DynamoDocumentStore, JobStarter,
                                                                              PageTiler]:
    """Records, starter and tiler of workspace `ws-t` (account `acc-t`), writing tiles through `tiles`;
    `accepted(key, version)` tells the starter which uploads were accepted (None: it falls back to none)."""
    tenancy = InMemoryTenancy()
    tenancy.accounts["acc-t"] = Account("acc-t", "T", "team", 0)
    tenancy.workspaces["ws-t"] = Workspace("ws-t", "acc-t", "W", 0)
    documents = DynamoDocumentStore(clients["dynamodb"], stack.outputs["MainTableName"])
    sources = S3SourceStore(clients["s3"], stack.outputs["DocumentsBucketName"], cache_dir=cache_dir)
    starter = JobStarter(documents, sources, SqsTaskQueue(clients["sqs"], stack.outputs["TilesQueueName"]), tenancy,
                         RecordingEvents(), None, MonthlyPages(lambda account: {}, tenancy), JobLimits(), accepted)
    return documents, starter, PageTiler(documents, sources, tiles, tenancy, RecordingEvents(), None, starter,
                                         JobLimits())


def new_document(stack: Any, clients: Any, documents: DynamoDocumentStore, body: bytes) -> tuple[str, str]:
    """A document of `ws-t` whose source `body` was uploaded: (document id, version id)."""
    document_id = f"doc-{time.time_ns():016x}"[-20:]
    documents.create(Document("ws-t", document_id, "acc-t", "plan.pdf", "application/pdf",
                              DocumentStatus.AWAITING_UPLOAD, int(time.time()), "u", 0))
    version = clients["s3"].put_object(Bucket=stack.outputs["DocumentsBucketName"], Key=source_key("ws-t", document_id),
                                       Body=body)["VersionId"]
    return document_id, str(version)
