"""Reading a document's pages as a viewer does: signed, expiring tile grants, descriptors and tiles.

Viewers (OpenSeadragon, IIIF clients) fetch tiles with plain GETs that carry no Authorization header, so the
manifest (which only members get) hands out URLs that embed a grant: the workspace, document and job, an
expiry, and an HMAC over them. Expiries are rounded up to the hour so every member gets the same URLs within
an hour, which lets a CDN and the browsers cache tiles across users. A grant outlives a revoked membership by
at most its lifetime (`KALEXO_TILE_GRANT_SECONDS`, default six hours).

A grant is read strictly: both parts must be the canonical unpadded base64url of their bytes (no padding, no
other characters, no stray bits), so one grant has exactly one spelling and a cache key cannot be varied. Every
route that reads a page checks the grant's workspace, not only the tiles: descriptors are answered only for pages
whose tiles are stored under that workspace.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.domain.documents import PageRecord
from chalicelib.domain.errors import Forbidden, NotFound
from chalicelib.port_types import PageRef, StoredTile

if TYPE_CHECKING:
    from chalicelib.ports import DocumentRecords, TileReader

HOUR = 3600
THUMBNAIL = "@thumbnail"  # stored with every tiled page
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class GrantScope:
    """What a tile grant gives access to: one job of one document, until `expires` (epoch seconds)."""
    workspace_id: str
    document_id: str
    job_id: str
    expires: int = 0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    """The bytes of canonical unpadded base64url only: ValueError for anything else (`a..b`, `=`, spaces, a
    length no encoding has, trailing bits that are not zero)."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not canonical base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc
    if _b64(data) != text:
        raise ValueError("not canonical base64url")
    return data


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
            body, signature = grant.split(".")
            payload = _unb64(body)
            valid = hmac.compare_digest(_unb64(signature), self._sign(payload))
            workspace_id, document_id, job_id, expires = payload.decode().split("~")
        except (ValueError, UnicodeDecodeError) as exc:
            raise NotFound("no such tiles") from exc
        if not valid:
            raise NotFound("no such tiles")
        if int(expires) < (now or time.time()):
            raise Forbidden("this tile link has expired; reload the document to get a new one", code="grant_expired")
        return GrantScope(workspace_id, document_id, job_id, int(expires))

    def page(self, grant: str, page: int) -> tuple[GrantScope, PageRecord]:
        """The page's record, for descriptors (DZI, IIIF `info.json`). The record is keyed by document and job
        alone, so the grant's workspace is checked against where the page's tiles are stored, as the tile
        routes do: a grant naming another workspace finds nothing."""
        scope = self.verify(grant)
        record = self._documents.page(scope.document_id, scope.job_id, page)
        if record is None:
            job = self._documents.job(scope.document_id, scope.job_id)  # which: only on this path
            if job is not None and job.page_count and not 0 <= page < job.page_count:
                raise NotFound(f"the document has pages 0 to {job.page_count - 1} (numbered from 0)",
                               code="no_such_page")
            raise NotFound("that page is not ready", code="page_not_ready")
        if self._tiles.head(self.ref(scope, page), THUMBNAIL) is None:
            raise NotFound("these tiles are gone (the document has a newer version, was reprocessed or removed): "
                           "read its manifest again for the links of its pages now", code="tiles_gone")
        return scope, record

    def ref(self, scope: GrantScope, page: int) -> PageRef:
        return PageRef(scope.workspace_id, scope.document_id, scope.job_id, page)

    def head(self, scope: GrantScope, page: int, name: str) -> StoredTile | None:
        """The entry's ETag and content type, without reading its bytes."""
        return self._tiles.head(self.ref(scope, page), name)

    def read(self, scope: GrantScope, page: int, name: str) -> StoredTile:
        tile = self._tiles.read(self.ref(scope, page), name)
        if tile is None:
            raise NotFound("no such tile", code="no_such_tile")
        return tile
