"""Tiles for viewers, behind signed grants from the manifest (no Authorization header: OpenSeadragon and IIIF
viewers fetch with plain GETs).

- Deep Zoom: `/tiles/{grant}/{page}/page.dzi` and `/tiles/{grant}/{page}/page_files/{level}/{col}_{row}.{ext}`,
  the layout OpenSeadragon derives from the descriptor's URL;
- IIIF Image API 3.0, level 0: `/iiif/{grant}/{page}/info.json` and
  `/iiif/{grant}/{page}/{region}/{size}/{rotation}/{quality}.{format}`, answered from the same tiles and the
  page's stored `max` image (chalicelib/domain/viewers.py says what is advertised);
- the page's thumbnail.
Nothing under a URL ever changes (a reprocessed document gets a new job id, so new URLs), so every answer carries
`Cache-Control: immutable` and an ETag, and a matching If-None-Match gets 304 without the body being read. It is
fresh until the URL's grant expires (`Expires`, the same for every answer under the grant, no `max-age`), never
longer: a cache (the stage's CloudFront distribution, a browser) must not go on answering a grant that has
expired, so past it the request reaches the API again, which refuses it (403 grant_expired). A 304
carries what the 200 would (ETag, Cache-Control and the representation's own Content-Type: API Gateway would
otherwise add `application/json`, which a cache updating its stored headers would copy onto the image).

`info.json`'s `id` is the configured public base (KALEXO_TILES_URL, else KALEXO_PUBLIC_API_URL), never one
taken from the request's Host or X-Forwarded-Proto: the document is cached, by a CDN too, until its grant
expires. Without either setting IIIF is not offered (404 `iiif_unavailable`); Deep Zoom needs no absolute URL
and is unaffected.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from email.utils import formatdate
from typing import TYPE_CHECKING

from chalice.app import Blueprint, CaseInsensitiveMapping, Response

from chalicelib.container import get_container
from chalicelib.domain.errors import ApiError, BadRequest, NotAcceptable, NotFound
from chalicelib.routes.errors import error_response

if TYPE_CHECKING:
    from chalicelib.services.tile_access import GrantScope

# The viewers' rules (chalicelib/domain/viewers.py, tile_plan.py) are imported by the views that use them: every
# function imports this blueprint, and only tile requests need them.

bp = Blueprint(__name__)
IIIF_JSON = 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"'


def _number(text: str, what: str) -> int:
    """In its one spelling (no leading zeros): each tile has one URL, so a cache holds it once."""
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise BadRequest(f"{what} must be a whole number (at most 6 digits)", code="bad_tile")
    if text != str(int(text)):
        raise BadRequest(f"{what} must be written without leading zeros", code="bad_tile")
    return int(text)


def _guarded(view: Callable[..., Response]) -> Callable[..., Response]:
    def wrapped(**params: str) -> Response:
        request = bp.current_request
        if "accept" not in request.headers:
            # No Accept means any type (RFC 9110 12.5.1); Chalice would refuse a binary answer without one (400),
            # and IIIF clients, its validator among them, send none.
            request.headers = CaseInsensitiveMapping({**request.headers, "accept": "*/*"})
        try:
            return view(**params)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)

    wrapped.__name__ = view.__name__
    return wrapped


def matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match (RFC 9110 13.1.2): `*`, or a list of entity tags compared weakly."""
    if if_none_match.strip() == "*":
        return True
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return f'"{etag}"' in tags or etag in tags


def cache_headers(scope: GrantScope) -> dict[str, str | list[str]]:
    """Immutable, fresh until the grant expires. A cache computes the lifetime as Expires minus the answer's
    Date (RFC 9111 4.2.1), so neither clock's skew matters."""
    return {"Cache-Control": "public, immutable", "Expires": formatdate(scope.expires, usegmt=True)}


def _answer(scope: GrantScope, etag: str, content_type: str, body: Callable[[], bytes | str],
            empty: bytes | str = "") -> Response:
    """200 with the body, or 304 without reading it when the client already holds this ETag. `empty` is the
    304's body: bytes where the 200's are (Chalice base64-encodes the answers of binary content types)."""
    if content_type.startswith("image/") and not _accepts_image(bp.current_request.headers.get("accept", "*/*")):
        # API Gateway sends a binary answer as such only to a request that accepts a binary type; to any other it
        # would send base64 text, and Chalice's local server a 400 of its own. Browsers and viewers accept images.
        raise NotAcceptable(f"this is an image ({content_type}); send Accept: {content_type}, image/* or */*")
    headers: dict[str, str | list[str]] = {"Content-Type": content_type, "ETag": f'"{etag}"',
                                         **cache_headers(scope)}
    if matches(bp.current_request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, body=empty, headers=headers)
    return Response(status_code=200, body=body(), headers=headers)


def _accepts_image(accept: str) -> bool:
    """Any image range, or `*/*`, not refused by `q=0` (RFC 9110 12.5.1). A specific image type is taken as
    taking images: a tile is stored in one format, and a viewer asking for PNG can show a JPEG."""
    ranges = set()
    for part in accept.split(","):
        media, *params = (p.strip().lower() for p in part.split(";"))
        if not any(p.replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params):
            ranges.add(media)
    return bool(ranges & {"*/*", "image/*"}) or any(r.startswith("image/") for r in ranges)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _stored(grant: str, page: int, name: str, content_type: str | None = None) -> Response:
    """`content_type`: what the URL's extension names; a page stored in another format has no such tile (one
    URL per image, so caches never hold a JPEG under a `.png` name)."""
    access = get_container().tile_access
    scope = access.verify(grant)
    head = access.head(scope, page, name)
    if head is None or (content_type is not None and head.content_type != content_type):
        access.page(grant, page)  # a miss says why: no such page, not ready, tiles gone (reads on misses only)
        raise NotFound("no such tile: outside the page's levels, columns or rows, or not in its format",
                       code="no_such_tile")
    return _answer(scope, head.etag, head.content_type, lambda: access.read(scope, page, name).data, b"")


def _iiif_base() -> str:
    settings = get_container().settings
    base = settings.tiles_url or settings.public_api_url
    if not base:
        raise NotFound("IIIF is not offered by this deployment: its public URL is not configured "
                       "(KALEXO_PUBLIC_API_URL or KALEXO_TILES_URL); use the Deep Zoom descriptor",
                       code="iiif_unavailable")
    return base.rstrip("/")


@bp.route("/tiles/{grant}/{page}/page.dzi", methods=["GET"], cors=True)
@_guarded
def dzi_descriptor(grant: str, page: str) -> Response:
    from chalicelib.domain.viewers import dzi_xml

    scope, record = get_container().tile_access.page(grant, _number(page, "page"))
    xml = dzi_xml(record)
    return _answer(scope, _digest(xml), "application/xml", lambda: xml)


@bp.route("/tiles/{grant}/{page}/page_files/{level}/{tile}", methods=["GET"], cors=True)
@_guarded
def dzi_tile(grant: str, page: str, level: str, tile: str) -> Response:
    from chalicelib.domain.tile_plan import CONTENT_TYPES, FORMAT_EXTENSIONS

    name, _, ext = tile.partition(".")
    col, _, row = name.partition("_")
    fmt = next((fmt for fmt, extension in FORMAT_EXTENSIONS.items() if extension == ext), None)
    if fmt is None:
        raise NotFound("no such tile", code="no_such_tile")
    return _stored(grant, _number(page, "page"),
                   f"{_number(level, 'level')}/{_number(col, 'column')}_{_number(row, 'row')}", CONTENT_TYPES[fmt])


@bp.route("/tiles/{grant}/{page}/thumbnail.jpg", methods=["GET"], cors=True)
@_guarded
def thumbnail(grant: str, page: str) -> Response:
    return _stored(grant, _number(page, "page"), "@thumbnail")


@bp.route("/iiif/{grant}/{page}/info.json", methods=["GET"], cors=True)
@_guarded
def iiif_info_json(grant: str, page: str) -> Response:
    from chalicelib.domain.viewers import iiif_info

    base = _iiif_base()
    number = _number(page, "page")
    scope, record = get_container().tile_access.page(grant, number)
    body = json.dumps(iiif_info(record, f"{base}/iiif/{grant}/{number}"), allow_nan=False)
    return _answer(scope, _digest(body), IIIF_JSON, lambda: body)


@bp.route("/iiif/{grant}/{page}/{region}/{size}/{rotation}/{quality}", methods=["GET"], cors=True)
@_guarded
def iiif_image(grant: str, page: str, region: str, size: str, rotation: str, quality: str) -> Response:
    from chalicelib.domain.viewers import NotATile, iiif_entry

    number = _number(page, "page")
    _, record = get_container().tile_access.page(grant, number)
    try:
        name = iiif_entry(record, region, size, rotation, quality)
    except NotATile as exc:
        # IIIF says 400 for requests a level-0 service cannot satisfy.
        raise BadRequest(str(exc), code="not_a_tile") from exc
    return _stored(grant, number, name)
