"""Reading a document's pages as a viewer does: signed, expiring tile grants, descriptors and tiles.

Viewers (OpenSeadragon, IIIF clients) fetch tiles with plain GETs that carry no Authorization header, so the
manifest (which only members get) hands out URLs that embed a grant: the workspace, document and job, an
expiry, and an HMAC over them. Expiries are rounded up to the hour so every member gets the same URLs within
an hour, which lets a CDN and the browsers cache tiles across users. A grant outlives a revoked membership by
at most its lifetime (`KALEXO_TILE_GRANT_SECONDS`, default six hours).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from chalicelib.domain.documents import PageRecord
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.ports import DocumentRecords, PageRef, StoredTile, TileReader

HOUR = 3600


@dataclass(frozen=True)
class GrantScope:
    workspace_id: str
    document_id: str
    job_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TileAccess:
    def __init__(self, secret: str, documents: DocumentRecords, tiles: TileReader, grant_seconds: int) -> None:
        self._key = hmac.new(secret.encode(), b"kalexo tile grants", hashlib.sha256).digest()
        self._documents = documents
        self._tiles = tiles
        self._seconds = grant_seconds

    def grant(self, workspace_id: str, document_id: str, job_id: str, now: float | None = None) -> str:
        expires = (int((now or time.time()) + self._seconds) // HOUR + 1) * HOUR
        payload = f"{workspace_id}~{document_id}~{job_id}~{expires}".encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:18]

    def verify(self, grant: str, now: float | None = None) -> GrantScope:
        try:
            body, signature = grant.split(".", 1)
            payload = _unb64(body)
            valid = hmac.compare_digest(_unb64(signature), self._sign(payload))
            workspace_id, document_id, job_id, expires = payload.decode().split("~")
        except (ValueError, UnicodeDecodeError) as exc:
            raise NotFound("no such tiles") from exc
        if not valid:
            raise NotFound("no such tiles")
        if int(expires) < (now or time.time()):
            raise Forbidden("this tile link has expired; reload the document to get a new one", code="grant_expired")
        return GrantScope(workspace_id, document_id, job_id)

    def page(self, grant: str, page: int) -> tuple[GrantScope, PageRecord]:
        scope = self.verify(grant)
        record = self._documents.page(scope.document_id, scope.job_id, page)
        if record is None:
            raise NotFound("that page is not ready", code="page_not_ready")
        return scope, record

    def ref(self, scope: GrantScope, page: int) -> PageRef:
        return PageRef(scope.workspace_id, scope.document_id, scope.job_id, page)

    def etag(self, scope: GrantScope, page: int, name: str) -> str | None:
        return self._tiles.etag(self.ref(scope, page), name)

    def read(self, scope: GrantScope, page: int, name: str) -> StoredTile:
        tile = self._tiles.read(self.ref(scope, page), name)
        if tile is None:
            raise NotFound("no such tile", code="no_such_tile")
        return tile
