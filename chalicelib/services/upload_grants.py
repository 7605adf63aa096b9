"""Letting a member upload a document: a presigned S3 PUT into the workspace's part of the versioned
documents bucket, issued only after the plan's limits allow it, so an upload over quota is refused before
anything is written. What happens after the upload (documents, tiling) builds on the object-created
notification."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.domain.errors import BadRequest, NotFound, PayloadTooLarge, QuotaExceeded
from chalicelib.domain.events import Event
from chalicelib.domain.tenancy import WorkspaceRole
from chalicelib.ports import EventSink, TenancyReader
from chalicelib.services.access import AccessService, Actor

# What the document pipeline accepts; anything else is refused here, before a byte is stored.
CONTENT_TYPES = frozenset({
    "application/pdf", "image/jpeg", "image/png", "image/tiff", "image/webp", "image/gif", "image/svg+xml",
    "application/vnd.ms-xpsdocument", "application/oxps", "application/epub+zip", "application/vnd.comicbook+zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
})
GRANT_SECONDS = 900


class Presigner(Protocol):
    def put_url(self, key: str, content_type: str, size: int, expires_in: int) -> str: ...


class StoredBytes(Protocol):
    def totals(self, account_id: str) -> dict[str, int]: ...


@dataclass(frozen=True)
class UploadGrant:
    upload_id: str
    key: str
    url: str
    content_type: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"upload_id": self.upload_id, "key": self.key, "url": self.url, "method": "PUT",
                "headers": {"Content-Type": self.content_type, "Content-Length": str(self.size)},
                "expires_in": GRANT_SECONDS}


def safe_name(filename: str) -> str:
    """The last path component, reduced to characters that are safe in a key and a URL: no '..', no '/'."""
    name = re.sub(r"[^A-Za-z0-9._ -]", "_", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return name[:120] or "document"


class UploadGrants:
    def __init__(self, access: AccessService, tenancy: TenancyReader, stored: StoredBytes, presigner: Presigner,
                 events: EventSink, max_upload_bytes: int) -> None:
        self._access = access
        self._tenancy = tenancy
        self._stored = stored
        self._presigner = presigner
        self._events = events
        self._max_upload = max_upload_bytes

    def grant(self, actor: Actor, workspace_id: str, filename: str, size: int, content_type: str) -> UploadGrant:
        workspace = self._access.workspace(actor, workspace_id, need=WorkspaceRole.EDITOR).workspace
        if content_type not in CONTENT_TYPES:
            raise BadRequest(f"{content_type!r} is not a document type this service processes",
                             code="unsupported_type")
        if size > self._max_upload:
            raise PayloadTooLarge(f"uploads are limited to {self._max_upload} bytes", code="upload_too_large")
        account = self._tenancy.account(workspace.account_id)
        if account is None:
            raise NotFound("no such workspace")
        limit = account.quotas.max_storage_bytes
        stored = self._stored.totals(account.account_id)["bytes_stored"]
        if limit is not None and stored + size > limit:
            raise QuotaExceeded(f"the plan stores {limit} bytes; {stored} are used and this upload needs {size}",
                                code="storage_quota_exceeded")
        upload_id = secrets.token_hex(8)
        key = f"workspaces/{workspace.workspace_id}/uploads/{upload_id}/{safe_name(filename)}"
        url = self._presigner.put_url(key, content_type, size, GRANT_SECONDS)
        self._events.record(Event("upload.granted", account.account_id, workspace.workspace_id, actor.user_id,
                                  actor.user_id, {"key": key, "size": size, "content_type": content_type}))
        return UploadGrant(upload_id, key, url, content_type, size)

