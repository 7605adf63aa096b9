"""Large uploads in parts: resumable and bounded by what was granted.

A grant over the multipart threshold starts an S3 multipart upload and answers with one presigned URL per
part, plus a signed upload token that binds the S3 upload id to the workspace, the document, the granted size
and the part size. With the token a client can ask which parts arrived (and get fresh URLs for the others) after
a dropped connection, complete the upload, or abort it. Completing checks the parts S3 holds, not what the
client claims: every part present, the total no larger than granted. S3 then notifies the pipeline as for a
single PUT. Incomplete uploads are aborted by the bucket's lifecycle rule after seven days.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError

from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.documents import source_key
from chalicelib.domain.errors import BadRequest, Conflict, PayloadTooLarge
from chalicelib.domain.tenancy import WorkspaceRole
from chalicelib.services.access import AccessService, Actor

MIN_PART_BYTES = 16 * 1024**2  # S3's minimum is 5 MiB (except the last part); fewer, larger parts cost less
MAX_PARTS = 10_000  # S3's maximum


class MultipartStore(Protocol):
    def start_multipart(self, key: str, content_type: str) -> str: ...

    def part_url(self, key: str, upload_id: str, part_number: int, expires_in: int, size: int) -> str: ...

    def parts(self, key: str, upload_id: str) -> list[tuple[int, str, int]]: ...

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None: ...

    def abort(self, key: str, upload_id: str) -> None: ...


@dataclass(frozen=True)
class MultipartPlan:
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


def _scope(workspace_id: str, document_id: str) -> str:
    return f"multipart:{workspace_id}:{document_id}"


class MultipartUploads:
    def __init__(self, access: AccessService, store: MultipartStore, tokens: CursorCodec, expires_in: int) -> None:
        self._access = access
        self._store = store
        self._tokens = tokens
        self._expires = expires_in

    def begin(self, workspace_id: str, document_id: str, content_type: str, size: int) -> dict[str, Any]:
        """Called by the grant, after its checks."""
        key = source_key(workspace_id, document_id)
        plan = MultipartPlan.for_size(size)
        upload_id = self._store.start_multipart(key, content_type)
        token = self._tokens.encode({"u": upload_id, "s": size, "p": plan.part_size}, _scope(workspace_id, document_id))
        return {"upload_token": token, "part_size": plan.part_size, "part_count": plan.part_count,
                "parts": [{"part_number": n, "size": plan.part_bytes(n),
                           "url": self._store.part_url(key, upload_id, n, self._expires, plan.part_bytes(n))}
                          for n in range(1, plan.part_count + 1)]}

    def _open(self, actor: Actor, workspace_id: str, document_id: str, token: str) -> tuple[str, str, int, int]:
        self._access.workspace(actor, workspace_id, need=WorkspaceRole.EDITOR)
        try:
            data = self._tokens.decode(token, _scope(workspace_id, document_id))
        except BadRequest as exc:
            raise BadRequest("the upload token is not one issued for this document", code="bad_upload_token") from exc
        if not data:
            raise BadRequest("the upload token is missing", code="bad_upload_token")
        return source_key(workspace_id, document_id), str(data["u"]), int(data["s"]), int(data["p"])

    def status(self, actor: Actor, workspace_id: str, document_id: str, token: str) -> dict[str, Any]:
        key, upload_id, size, part_size = self._open(actor, workspace_id, document_id, token)
        done = {n: bytes_ for n, _, bytes_ in self._parts(key, upload_id)}
        plan = MultipartPlan(part_size, math.ceil(size / part_size), size)
        return {"part_size": part_size, "part_count": plan.part_count, "uploaded": sorted(done),
                "missing": [{"part_number": n, "size": plan.part_bytes(n),
                             "url": self._store.part_url(key, upload_id, n, self._expires, plan.part_bytes(n))}
                            for n in range(1, plan.part_count + 1) if n not in done]}

    def _parts(self, key: str, upload_id: str) -> list[tuple[int, str, int]]:
        try:
            return self._store.parts(key, upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchUpload":
                raise Conflict("this upload was completed or aborted already", code="upload_gone") from exc
            raise

    def complete(self, actor: Actor, workspace_id: str, document_id: str, token: str) -> dict[str, Any]:
        key, upload_id, size, part_size = self._open(actor, workspace_id, document_id, token)
        parts = self._parts(key, upload_id)
        count = math.ceil(size / part_size)
        numbers = sorted(n for n, _, _ in parts)
        if numbers != list(range(1, count + 1)):
            raise Conflict(f"parts {sorted(set(range(1, count + 1)) - set(numbers))} are missing",
                           code="parts_missing")
        total = sum(b for _, _, b in parts)
        if total > size:
            self._store.abort(key, upload_id)
            raise PayloadTooLarge(f"{total} bytes were uploaded but {size} were granted; the upload was discarded",
                                  code="upload_too_large")
        try:
            self._store.complete(key, upload_id, sorted((n, etag) for n, etag, _ in parts))
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("EntityTooSmall", "InvalidPart", "InvalidPartOrder"):
                raise BadRequest(f"S3 refused the parts: {code}", code="bad_parts") from exc
            if code == "NoSuchUpload":
                raise Conflict("this upload was completed or aborted already", code="upload_gone") from exc
            raise
        return {"document_id": document_id, "size": total, "status": "uploaded"}

    def abort(self, actor: Actor, workspace_id: str, document_id: str, token: str) -> None:
        key, upload_id, _, _ = self._open(actor, workspace_id, document_id, token)
        try:
            self._store.abort(key, upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchUpload":  # gone already: what was asked
                raise
