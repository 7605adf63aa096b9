"""Large uploads in parts: resumable and bounded by what was granted.

A grant over the multipart threshold starts an S3 multipart upload and answers with one presigned URL per
part, plus a signed upload token that binds the S3 upload id to the workspace, the document, the granted size
and the part size. With the token a client can ask which parts arrived (and get fresh URLs for the others) after
a dropped connection, complete the upload, or abort it. Completing checks the parts S3 holds, not what the
client claims: every part present, the total no larger than granted. S3 then notifies the pipeline as for a
single PUT. Incomplete uploads are aborted by the bucket's lifecycle rule after seven days.

The grant's storage reservation (upload_grants.py) lives as long as the part URLs, and each status call, which
hands out fresh URLs, keeps it (and a new document's upload deadline) that much longer; an abort gives it back
at once. Completing an upload whose reservation expired is refused (and the upload aborted): its room may have
gone to another upload.
"""

from __future__ import annotations

import math
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.documents import source_key
from chalicelib.domain.errors import BadRequest, Conflict, PayloadTooLarge
from chalicelib.domain.tenancy import WorkspaceRole
from chalicelib.services.access import AccessService, Actor
from chalicelib.upload_ports import PartsRefused, StorageLedger, UploadGone

if TYPE_CHECKING:
    from chalicelib.ports import DocumentRecords

MIN_PART_BYTES = 16 * 1024**2  # S3's minimum is 5 MiB (except the last part); fewer, larger parts cost less
MAX_PARTS = 10_000  # S3's maximum
LATE_SECONDS = 3600  # a part begun just before its URL expired


class MultipartStore(Protocol):
    def start_multipart(self, key: str, content_type: str) -> str: ...

    def part_url(self, key: str, upload_id: str, part_number: int, expires_in: int, size: int) -> str: ...

    def parts(self, key: str, upload_id: str) -> list[tuple[int, str, int]]: ...

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> str | None:
        """The object's new version (None in a bucket that keeps none)."""

    def abort(self, key: str, upload_id: str) -> None: ...


@dataclass(frozen=True)
class MultipartPlan:
    """How an upload is split into parts."""
    part_size: int
    part_count: int
    size: int = 0

    def part_bytes(self, number: int) -> int:
        """Every part is part_size bytes but the last, which is what remains."""
        return min(self.part_size, self.size - (number - 1) * self.part_size)

    @classmethod
    def for_size(cls, size: int) -> MultipartPlan:
        part_size = max(MIN_PART_BYTES, math.ceil(size / MAX_PARTS))
        return cls(part_size, math.ceil(size / part_size), size)


@dataclass(frozen=True)
class _Upload:
    """A multipart upload in progress, as its grant recorded it."""
    key: str
    upload_id: str  # S3's
    size: int
    part_size: int
    account_id: str
    reservation: str  # the grant's upload id, naming its storage reservation


def _scope(workspace_id: str, document_id: str) -> str:
    return f"multipart:{workspace_id}:{document_id}"


class MultipartUploads:
    def __init__(self, access: AccessService, store: MultipartStore, tokens: CursorCodec, expires_in: int,
                 ledger: StorageLedger, documents: DocumentRecords | None = None) -> None:
        self._documents = documents
        self._access = access
        self._store = store
        self._tokens = tokens
        self._expires = expires_in
        self._ledger = ledger

    @property
    def lifetime_s(self) -> int:
        return self._expires

    def begin(self, workspace_id: str, document_id: str, content_type: str, size: int, account_id: str,
              reservation: str) -> dict[str, Any]:
        """Called by the grant, after its checks and its reservation."""
        key = source_key(workspace_id, document_id)
        plan = MultipartPlan.for_size(size)
        upload_id = self._store.start_multipart(key, content_type)
        token = self._tokens.encode({"u": upload_id, "s": size, "p": plan.part_size, "a": account_id,
                                     "r": reservation}, _scope(workspace_id, document_id))
        return {"upload_token": token, "part_size": plan.part_size, "part_count": plan.part_count,
                "parts": [{"part_number": n, "size": plan.part_bytes(n),
                           "url": self._store.part_url(key, upload_id, n, self._expires, plan.part_bytes(n))}
                          for n in range(1, plan.part_count + 1)]}

    def _open(self, actor: Actor, workspace_id: str, document_id: str, token: str) -> _Upload:
        self._access.workspace(actor, workspace_id, need=WorkspaceRole.EDITOR)
        try:
            data = self._tokens.decode(token, _scope(workspace_id, document_id))
        except BadRequest as exc:
            raise BadRequest("the upload token is not one issued for this document", code="bad_upload_token") from exc
        if not data:
            raise BadRequest("the upload token is missing", code="bad_upload_token")
        return _Upload(source_key(workspace_id, document_id), str(data["u"]), int(data["s"]), int(data["p"]),
                       str(data.get("a", "")), str(data.get("r", "")))

    def status(self, actor: Actor, workspace_id: str, document_id: str, token: str) -> dict[str, Any]:
        upload = self._open(actor, workspace_id, document_id, token)
        key, upload_id, size, part_size = upload.key, upload.upload_id, upload.size, upload.part_size
        done = {n: bytes_ for n, _, bytes_ in self._parts(key, upload_id)}
        deadline = int(time.time()) + self._expires + LATE_SECONDS
        if not self._ledger.extend(upload.account_id, key, upload.reservation, deadline):
            self._expired(upload)
        if self._documents is not None:  # a first upload's document waits as long (no-op for a new version)
            self._documents.extend_upload(workspace_id, document_id, deadline)
        plan = MultipartPlan(part_size, math.ceil(size / part_size), size)
        return {"part_size": part_size, "part_count": plan.part_count, "uploaded": sorted(done),
                "missing": [{"part_number": n, "size": plan.part_bytes(n),
                             "url": self._store.part_url(key, upload_id, n, self._expires, plan.part_bytes(n))}
                            for n in range(1, plan.part_count + 1) if n not in done]}

    def _parts(self, key: str, upload_id: str) -> list[tuple[int, str, int]]:
        try:
            return self._store.parts(key, upload_id)
        except UploadGone as exc:
            raise Conflict("this upload was completed or aborted already", code="upload_gone") from exc

    def complete(self, actor: Actor, workspace_id: str, document_id: str, token: str) -> dict[str, Any]:
        upload = self._open(actor, workspace_id, document_id, token)
        key, upload_id, size, part_size = upload.key, upload.upload_id, upload.size, upload.part_size
        parts = self._parts(key, upload_id)
        if not self._ledger.holds(upload.account_id, key, upload.reservation):
            self._expired(upload)
        count = math.ceil(size / part_size)
        numbers = sorted(n for n, _, _ in parts)
        if numbers != list(range(1, count + 1)):
            raise Conflict(f"parts {sorted(set(range(1, count + 1)) - set(numbers))} are missing",
                           code="parts_missing")
        total = sum(b for _, _, b in parts)
        if total > size:
            self._store.abort(key, upload_id)
            self._ledger.release(upload.account_id, key, upload.reservation, size)  # discarded: its room goes back
            self._given_up(upload, workspace_id, document_id)
            raise PayloadTooLarge(f"{total} bytes were uploaded but {size} were granted; the upload was discarded",
                                  code="upload_too_large")
        try:
            version = self._store.complete(key, upload_id, sorted((n, etag) for n, etag, _ in parts))
        except PartsRefused as exc:
            raise BadRequest(f"S3 refused the parts: {exc.code}", code="bad_parts") from exc
        except UploadGone as exc:
            raise Conflict("this upload was completed or aborted already", code="upload_gone") from exc
        # The version, as a single PUT's answer names it: the uploader finds it in a document's `passed_over`.
        return {"document_id": document_id, "size": total, "status": "uploaded",
                **({"version_id": version} if version else {})}

    def abort(self, actor: Actor, workspace_id: str, document_id: str, token: str) -> None:
        upload = self._open(actor, workspace_id, document_id, token)
        self._abort(upload)
        self._ledger.release(upload.account_id, upload.key, upload.reservation, upload.size)
        self._given_up(upload, workspace_id, document_id)

    def _given_up(self, upload: _Upload, workspace_id: str, document_id: str) -> None:
        """A new document whose only upload was given up is abandoned at once (members no longer see it; a
        grant for it again brings it back), not left waiting out its deadline. Not while another grant for it
        is open, and never a document that has a version: those are not awaiting an upload."""
        if self._documents is not None and not self._ledger.held(upload.account_id, upload.key):
            self._documents.abandon_upload(workspace_id, document_id)

    def _abort(self, upload: _Upload) -> None:
        with suppress(UploadGone):  # gone already: what was asked
            self._store.abort(upload.key, upload.upload_id)

    def _expired(self, upload: _Upload) -> None:
        self._abort(upload)
        raise Conflict("this upload's grant expired, was revoked (the member it was given to left the workspace or "
                       "can no longer upload) or was aborted, and its room went back to the plan; ask for a new "
                       "grant", code="grant_expired")
