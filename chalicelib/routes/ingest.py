"""S3 -> SQS -> Lambda: object-created notifications of the documents bucket.

Batch size 1: Chalice's SQS handlers fail or succeed per batch, so one bad notification must not make its
neighbours retry. The queue name is read from settings at import, which `chalice deploy` also does (it
loads the stage's environment variables before importing the app).
"""

from __future__ import annotations

from chalice.app import Blueprint, SQSEvent

from chalicelib.container import get_container
from chalicelib.observability import logger
from chalicelib.settings import get_settings

bp = Blueprint(__name__)


@bp.on_sqs_message(queue=get_settings().uploads_queue, batch_size=1)
def ingest_uploads(event: SQSEvent) -> None:
    ingest = get_container().upload_ingest
    for record in event:
        result = ingest.handle(record.body)
        logger.info("upload notification", extra={"recorded": result.recorded, "duplicates": result.duplicates})
