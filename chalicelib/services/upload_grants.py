"""Letting a member upload a document: a presigned S3 PUT into the workspace's part of the versioned
documents bucket, issued only after the plan's limits allow it, so an upload over quota is refused before
anything is written.

A grant creates the document record (status `awaiting_upload`, until the grant's deadline: an upload that never
arrives leaves a document nobody sees, see Document.abandoned), or, given a `document_id`, uploads a new
version of an existing document to the same key, so the bucket keeps the earlier versions. The key is made
of ids only: the file name a person chose is kept as the document's name, never as a path. What happens
after the upload (analysis, tiling) starts from the object-created notification.

Quotas are reservations: a grant reserves its size against the plan atomically (however many grants race,
the account never commits more than it may store), the upload's arrival settles the reservation, and one
that never arrives gives its room back when it expires: the grant's lifetime plus LATE_UPLOAD_SECONDS, for an
upload begun just before the URL expired. A grant uploads once: a second PUT to its URL finds no reservation
and is discarded (services/uploads.py)."""

from __future__ import annotations

import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.documents import Document, DocumentStatus, parse_source_key, source_key
from chalicelib.domain.errors import BadRequest, NotFound, PayloadTooLarge, QuotaExceeded
from chalicelib.domain.events import Event
from chalicelib.domain.tenancy import WorkspaceRole
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.multipart_uploads import MultipartUploads
from chalicelib.upload_ports import StorageLedger

if TYPE_CHECKING:
    from chalicelib.ports import DocumentRecords, EventSink, TenancyReader, UsageMeter

# What the document pipeline accepts; anything else is refused here, before a byte is stored.
CONTENT_TYPES = frozenset({
    "application/pdf", "image/jpeg", "image/png", "image/tiff", "image/webp", "image/gif", "image/svg+xml",
    "application/vnd.ms-xpsdocument", "application/oxps", "application/epub+zip", "application/vnd.comicbook+zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
})
GRANT_SECONDS = 900
LATE_UPLOAD_SECONDS = 3600  # a single PUT is at most the multipart threshold (100 MB): an hour is 0.2 Mbit/s


def revoke_grants(ledger: StorageLedger, documents: DocumentRecords | None, account_id: str, user_id: str,
                  key_prefix: str = "") -> None:
    """The upload grants given to a user who may no longer upload (removed, made viewer, deleted): their
    reservations released, so what arrives is refused, and a new document whose only grant that was is abandoned
    at once (members stop seeing it), as an aborted upload's is."""
    for key in ledger.revoke(account_id, user_id, key_prefix):
        document = parse_source_key(key)
        if documents is not None and document is not None and not ledger.held(account_id, key):
            documents.abandon_upload(*document)


class Presigner(Protocol):
    def put_url(self, key: str, content_type: str, size: int, expires_in: int) -> str: ...


@dataclass(frozen=True)
class UploadGrant:
    """A granted upload: where to send the file and for how long."""
    upload_id: str
    document_id: str
    key: str
    url: str
    content_type: str
    size: int
    multipart: dict[str, Any] | None = None
    expires_in: int = GRANT_SECONDS  # the URLs' lifetime (a multipart upload's part URLs live longer)

    def to_dict(self) -> dict[str, Any]:
        base = {"upload_id": self.upload_id, "document_id": self.document_id, "key": self.key,
                "expires_in": self.expires_in}
        if self.multipart is not None:
            # Each part is a PUT of part_size bytes (the last one smaller) to its URL; then complete.
            return {**base, "method": "multipart", "multipart": self.multipart}
        return {**base, "url": self.url, "method": "PUT",
                "headers": {"Content-Type": self.content_type, "Content-Length": str(self.size)}}


# In a document's name: line breaks and tabs become spaces; control characters and invisible or direction-changing
# ones (which make one name look like another) go; zero-width joiners (U+200C, U+200D) stay, as Persian words and
# emoji sequences need them; what file systems refuse becomes '_', so a name saved back to disk stays the same.
_SPACES = re.compile("[\t\n\v\f\r\x85\u2028\u2029]")
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\xad\u034f\u061c\u115f\u1160\u180e\u200b\u200e\u200f\u202a-\u202e"
                        "\u2060-\u2069\u2800\u3164\ufeff\uffa0]")
_REFUSED_BY_DISKS = re.compile('[<>:"|?*]')
_SEEN = re.compile("[^\\s_.\u200c\u200d]")
MAX_NAME = 120
MAX_EXTENSION = 16


def safe_name(filename: str) -> str:
    """The last path component as a person named it, in any script (NFC: as macOS and Windows name a file
    alike), made safe to show (above); cut to MAX_NAME characters keeping the extension; 'document' when
    nothing visible is left. Keys are made of ids, so a name is only ever shown."""
    name = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    name = _REFUSED_BY_DISKS.sub("_", _INVISIBLE.sub("", _SPACES.sub(" ", name))).strip(" .")
    if len(name) > MAX_NAME:
        stem, dot, extension = name.rpartition(".")
        name = f"{stem[:MAX_NAME - 1 - len(extension)].rstrip(' ')}.{extension}" \
            if dot and 0 < len(extension) <= MAX_EXTENSION else name[:MAX_NAME].rstrip(" ")
    return name if _SEEN.search(name) else "document"


class UploadGrants:
    def __init__(self, access: AccessService, tenancy: TenancyReader, ledger: StorageLedger, presigner: Presigner,
                 events: EventSink, max_upload_bytes: int, documents: DocumentRecords,
                 multipart: MultipartUploads | None = None, multipart_threshold: int = 100 * 1024**2,
                 usage: UsageMeter | None = None) -> None:
        self._access = access
        self._tenancy = tenancy
        self._ledger = ledger
        self._presigner = presigner
        self._events = events
        self._max_upload = max_upload_bytes
        self._documents = documents
        self._multipart = multipart
        self._threshold = multipart_threshold
        self._usage = usage

    def _no_room(self, account_id: str, limit: int | None, size: int) -> QuotaExceeded:
        """Said with when the room held for uploads comes back if they never arrive (an outside tester's closed
        tab held its grant's bytes for over an hour, and the refusal did not say for how long)."""
        totals = self._ledger.totals(account_id)
        reserved = totals["bytes_reserved"]
        until = self._ledger.open_until(account_id) if reserved else None
        held = f"{reserved} reserved by uploads in progress" + (
            f" (given back by {time.strftime('%H:%M UTC', time.gmtime(until))} at the latest, for any that never "
            "arrives)" if until else "")
        return QuotaExceeded(f"the plan stores {limit} bytes; {totals['bytes_stored']} are stored, {held}, and "
                             f"this upload needs {size}", code="storage_quota_exceeded")

    def grant(self, actor: Actor, workspace_id: str, filename: str, size: int, content_type: str,
              document_id: str | None = None) -> UploadGrant:
        workspace = self._access.workspace(actor, workspace_id, need=WorkspaceRole.EDITOR).workspace
        existing = self._documents.get(workspace.workspace_id, document_id) if document_id is not None else None
        if document_id is not None and existing is None:
            raise NotFound("no such document")
        # Media types are case-insensitive, and a parameter (`; charset=binary`, as some libraries add) says
        # nothing about a document: the type is stored, and signed into the upload URL, in its plain form.
        content_type = content_type.split(";", 1)[0].strip().lower()
        if content_type not in CONTENT_TYPES:
            raise BadRequest(f"{content_type!r} is not a document type this service processes: upload a PDF, an "
                             "image (JPEG, PNG, TIFF, WebP, GIF, SVG), XPS, EPUB, CBZ or Word, PowerPoint or Excel "
                             "file; export CAD drawings (DWG, DXF, RVT) as PDF first", code="unsupported_type")
        if size > self._max_upload:
            raise PayloadTooLarge(f"uploads are limited to {self._max_upload} bytes", code="upload_too_large")
        account = self._tenancy.account(workspace.account_id)
        if account is None:
            raise NotFound("no such workspace")
        limit = account.quotas.max_storage_bytes
        upload_id = secrets.token_hex(8)
        new_document = document_id is None
        document_id = document_id or f"doc-{secrets.token_hex(8)}"
        key = source_key(workspace.workspace_id, document_id)
        multipart = self._multipart is not None and size > self._threshold
        lifetime = self._multipart.lifetime_s if self._multipart is not None and multipart else GRANT_SECONDS
        self._ledger.release_expired(account.account_id)
        deadline = int(time.time()) + lifetime + LATE_UPLOAD_SECONDS  # the reservation's, and the document's
        if not self._ledger.reserve(account.account_id, key, upload_id, size, limit, deadline, actor.user_id):
            raise self._no_room(account.account_id, limit, size)
        if new_document:
            self._documents.create(Document(workspace.workspace_id, document_id, account.account_id,
                                            safe_name(filename), content_type, DocumentStatus.AWAITING_UPLOAD,
                                            int(time.time()), actor.user_id, size, upload_deadline=deadline))
            if self._usage is not None:
                self._usage.add(account.account_id, {"documents": 1})  # documents created this month
        elif existing is not None and existing.status is DocumentStatus.AWAITING_UPLOAD:
            # A first upload tried again (the earlier one failed or its URL expired): the document waits longer.
            self._documents.extend_upload(workspace.workspace_id, document_id, deadline)
        parts = url = None
        try:
            if self._multipart is not None and multipart:
                parts = self._multipart.begin(workspace.workspace_id, document_id, content_type, size,
                                              account.account_id, upload_id)
            else:
                url = self._presigner.put_url(key, content_type, size, GRANT_SECONDS)
        except Exception:
            self._ledger.release(account.account_id, key, upload_id, size)
            raise
        self._events.record(Event("upload.granted", account.account_id, workspace.workspace_id, actor.user_id,
                                  actor.user_id, {"key": key, "size": size, "content_type": content_type,
                                   "document_id": document_id}))
        return UploadGrant(upload_id, document_id, key, url or "", content_type, size, parts, lifetime)

