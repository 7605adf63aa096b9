"""Ingest of object-created notifications from the documents bucket (S3 -> SQS -> this service).

Each new object version is recorded once (SQS delivers at least once) and metered as stored bytes for the
owning account in the same write, then written to the event log. Keys are laid out as workspaces/<workspace id>/...
A new version of a document's source starts its processing job; that step is idempotent by itself, so it
runs on redeliveries too (a crash between recording and starting must not leave the document waiting).

A document's source version must settle the reservation its grant made (quotas are reservations): one that
finds none (a grant URL used a second time, or after the grant expired and its room went back) is refused,
deleted from the bucket and never processed. S3 announces versions in any order, so the refusal also starts
the version that is now the latest, which an earlier notification may have skipped as superseded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.domain.documents import parse_source_key
from chalicelib.domain.events import Event
from chalicelib.domain.s3_notifications import MalformedNotification, ObjectCreated, parse_notification
from chalicelib.domain.tenancy import Workspace
from chalicelib.observability import logger
from chalicelib.services.document_jobs import JobStarter, fail_unless_shown
from chalicelib.services.document_news import DocumentNews
from chalicelib.upload_ports import Receipt, UploadLog, VersionDiscarder

if TYPE_CHECKING:
    from chalicelib.ports import DocumentRecords, EventSink, TenancyReader


@dataclass(frozen=True)
class IngestResult:
    """How many announced versions were recorded, and how many were duplicates."""
    recorded: int
    duplicates: int


def workspace_of(key: str) -> str | None:
    parts = key.split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "workspaces" and parts[1] else None


class UploadIngest:
    def __init__(self, log: UploadLog, tenancy: TenancyReader, events: EventSink,
                 starter: JobStarter | None = None, documents: DocumentRecords | None = None,
                 news: DocumentNews | None = None, discarder: VersionDiscarder | None = None) -> None:
        self._log = log
        self._tenancy = tenancy
        self._events = events
        self._starter = starter
        self._documents = documents
        self._news = news
        self._discarder = discarder

    def handle(self, message_body: str) -> IngestResult:
        """Record every created object; MalformedNotification propagates so the message is retried, then
        dead-lettered where a person can look at it."""
        recorded = duplicates = 0
        for obj in parse_notification(message_body):
            workspace = self._workspace_of(obj)
            account_id = workspace.account_id if workspace else None
            document = parse_source_key(obj.key)
            receipt = self._log.record(obj.bucket, obj.key, obj.version_id, obj.size, obj.etag, account_id,
                                       reserved=document is not None and self._discarder is not None)
            if receipt in (Receipt.REFUSED, Receipt.REFUSED_BEFORE) and workspace is not None and document:
                self._refuse(workspace, obj, document, first=receipt is Receipt.REFUSED)
                duplicates += receipt is Receipt.REFUSED_BEFORE
                continue
            if receipt is not Receipt.RECORDED:
                duplicates += 1
                if document and workspace is not None and self._starter is not None:
                    self._starter.start(document[0], document[1], obj.version_id, obj.size, only_if_latest=True)
                continue
            recorded += 1
            if document and self._documents is not None:
                self._documents.upload_arrived(*document)  # before anything reads it: it is not abandoned
            if workspace is not None:
                # Who uploaded: the user the settled grant was issued to (a source's upload); not asked otherwise.
                by = self._log.uploader(obj.bucket, obj.key, obj.version_id) if document else None
                detail = {"key": obj.key, "size": obj.size, "version_id": obj.version_id}
                self._events.record(Event("upload.received", workspace.account_id, workspace.workspace_id, by or "",
                                          by or "", {**detail, "document_id": document[1]} if document else detail))
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
                                         reason, obj.version_id)
            failed += not kept
            self._events.record(Event("document.failed", workspace.account_id, workspace.workspace_id, detail={
                "document_id": document[1], "code": "processing_failed", "reason": reason, "previous_kept": kept,
                "version_id": obj.version_id}))
            if kept and self._starter is not None:
                self._starter.fall_back(document[0], document[1], obj.version_id)
        return failed

    def _refuse(self, workspace: Workspace, obj: ObjectCreated, document: tuple[str, str], first: bool) -> None:
        assert self._discarder is not None
        latest = self._discarder.discard(obj.key, obj.version_id)
        if first:
            logger.warning("an upload with no reservation was discarded", extra={"key": obj.key})
            self._events.record(Event("upload.refused", workspace.account_id, workspace.workspace_id, detail={
                "key": obj.key, "document_id": document[1], "size": obj.size, "version_id": obj.version_id,
                "code": "no_reservation",
                "reason": "no open upload grant for this document fits this upload: the grant was used already, "
                          "expired or was revoked, or more bytes arrived than it granted"}))
        # The version this one hid from an earlier notification, which skipped it as superseded (once that
        # version is known to be accepted: if it is another refused one, its own refusal comes back here).
        if self._starter is not None and latest is not None and latest not in ("null", obj.version_id) and \
                self._log.accepted(obj.bucket, obj.key, latest):
            self._starter.start(document[0], document[1], latest, 0, only_if_latest=True)

    def _workspace_of(self, obj: ObjectCreated) -> Workspace | None:
        workspace_id = workspace_of(obj.key)
        workspace = self._tenancy.workspace(workspace_id) if workspace_id else None
        if workspace is None:
            logger.warning("upload outside any known workspace", extra={"key": obj.key})
        return workspace
