"""Ingest of object-created notifications from the documents bucket (S3 -> SQS -> this service)."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.s3_notifications import parse_notification
from chalicelib.ports import UploadLog


@dataclass(frozen=True)
class IngestResult:
    recorded: int
    duplicates: int


class UploadIngest:
    def __init__(self, log: UploadLog) -> None:
        self._log = log

    def handle(self, message_body: str) -> IngestResult:
        """Record every created object; MalformedNotification propagates so the message is retried, then
        dead-lettered where a person can look at it."""
        recorded = duplicates = 0
        for obj in parse_notification(message_body):
            if self._log.record(obj.bucket, obj.key, obj.version_id, obj.size, obj.etag):
                recorded += 1
            else:
                duplicates += 1
        return IngestResult(recorded=recorded, duplicates=duplicates)
