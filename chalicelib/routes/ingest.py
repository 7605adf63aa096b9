"""The document pipeline's queue consumers.

- uploads: S3 -> SQS object-created notifications of the documents bucket; records the version and starts
  its processing job (analysis, page tasks);
- tiles: one page task per message (or a `start` task for reprocessing);
- tiles dead-letter queue: tasks whose retries are spent; their documents are failed with a reason.
An upload notification failing on its last delivery fails its documents before it goes to the uploads
dead-letter queue (which keeps it for a person to look at, and alarms).

Batch size 1 everywhere: Chalice's SQS handlers fail or succeed per batch, so one bad message must not make
its neighbours retry. The uploads and tiles triggers cap their concurrency (settings: the tiling cap stays
within tile_pages' reserved concurrency, so Lambda never throttles a receive). Queue names are read from
settings at import, which `chalice deploy` also does (it loads the stage's environment variables before
importing the app).
"""

from __future__ import annotations

from chalice.app import Blueprint, SQSEvent

from chalicelib.container import get_container
from chalicelib.observability import logger
from chalicelib.settings import get_settings

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=get_settings().uploads_queue, batch_size=1,
                   maximum_concurrency=get_settings().ingest_concurrency)
def ingest_uploads(event: SQSEvent) -> None:
    container = get_container()
    ingest = container.upload_ingest
    for record in event:
        try:
            result = ingest.handle(record.body)
        except Exception:
            receives = int(record.to_dict().get("attributes", {}).get("ApproximateReceiveCount", 1))
            if receives >= container.settings.max_receives:  # the last try: documents must not stay analysing
                logger.error("upload notification failed on its last delivery",
                             extra={"documents_failed": ingest.dead_letter(record.body)})
            raise
        logger.info("upload notification", extra={"recorded": result.recorded, "duplicates": result.duplicates})


@bp.on_sqs_message(queue=get_settings().tiles_queue, batch_size=1,
                   maximum_concurrency=get_settings().tiling_concurrency)
def tile_pages(event: SQSEvent) -> None:
    tiler = get_container().page_tiler
    for record in event:
        tiler.handle(record.body)


@bp.on_sqs_message(queue=get_settings().tiles_dlq, batch_size=1)
def failed_tiles(event: SQSEvent) -> None:
    tiler = get_container().page_tiler
    for record in event:
        tiler.dead_letter(record.body)
