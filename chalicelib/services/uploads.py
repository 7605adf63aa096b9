"""Ingest of object-created notifications from the documents bucket (S3 -> SQS -> this service).

Each new object version is recorded once (SQS delivers at least once) and metered as stored bytes for the
owning account in the same write, then written to the event log. Keys are laid out as workspaces/<workspace id>/...
A new version of a document's source starts its processing job; that step is idempotent by itself, so it
runs on redeliveries too (a crash between recording and starting must not leave the document waiting).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.documents import parse_source_key
from chalicelib.domain.events import Event
from chalicelib.domain.s3_notifications import MalformedNotification, ObjectCreated, parse_notification
from chalicelib.domain.tenancy import Workspace
from chalicelib.observability import logger
from chalicelib.ports import DocumentRecords, EventSink, TenancyReader, UploadLog
from chalicelib.services.document_jobs import JobStarter, fail_unless_shown
from chalicelib.services.document_news import DocumentNews


@dataclass(frozen=True)
class IngestResult:
    recorded: int
    duplicates: int


def workspace_of(key: str) -> str | None:
    parts = key.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "workspaces" and parts[1] else None


class UploadIngest:
    def __init__(self, log: UploadLog, tenancy: TenancyReader, events: EventSink,
                 starter: JobStarter | None = None, documents: DocumentRecords | None = None,
                 news: DocumentNews | None = None) -> None:
        self._log = log
        self._tenancy = tenancy
        self._events = events
        self._starter = starter
        self._documents = documents
        self._news = news

    def handle(self, message_body: str) -> IngestResult:
        """Record every created object; MalformedNotification propagates so the message is retried, then
        dead-lettered where a person can look at it."""
        recorded = duplicates = 0
        for obj in parse_notification(message_body):
            workspace = self._workspace_of(obj)
            account_id = workspace.account_id if workspace else None
            document = parse_source_key(obj.key)
            if not self._log.record(obj.bucket, obj.key, obj.version_id, obj.size, obj.etag, account_id):
                duplicates += 1
                if document and workspace is not None and self._starter is not None:
                    self._starter.start(document[0], document[1], obj.version_id, obj.size, only_if_latest=True)
                continue
            recorded += 1
            if workspace is not None:
                self._events.record(Event("upload.received", workspace.account_id, workspace.workspace_id,
                                          detail={"key": obj.key, "size": obj.size, "version_id": obj.version_id}))
                if document and self._starter is not None:
                    self._starter.start(document[0], document[1], obj.version_id, obj.size, only_if_latest=True)
        return IngestResult(recorded=recorded, duplicates=duplicates)

    def dead_letter(self, message_body: str) -> int:
        """A notification whose retries are spent (analysis kept failing: a crash, a timeout, no room): its
        documents must not stay `analysing` for ever. Returns how many documents failed."""
        try:
            objects = parse_notification(message_body)
        except MalformedNotification:
            logger.error("an unreadable message reached the uploads dead-letter queue")
            return 0
        failed = 0
        reason = "the upload could not be analysed, even after retries"
        for obj in objects:
            document = parse_source_key(obj.key)
            workspace = self._workspace_of(obj)
            if document is None or workspace is None:
                continue
            if self._documents is None:
                continue
            kept = not fail_unless_shown(self._documents, self._news, document[0], document[1], "processing_failed",
                                         reason)
            failed += not kept
            self._events.record(Event("document.failed", workspace.account_id, workspace.workspace_id, detail={
                "document_id": document[1], "code": "processing_failed", "reason": reason, "previous_kept": kept,
                "version_id": obj.version_id}))
        return failed

    def _workspace_of(self, obj: ObjectCreated) -> Workspace | None:
        workspace_id = workspace_of(obj.key)
        workspace = self._tenancy.workspace(workspace_id) if workspace_id else None
        if workspace is None:
            logger.warning("upload outside any known workspace", extra={"key": obj.key})
        return workspace
