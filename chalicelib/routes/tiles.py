"""Tiles for viewers, behind signed grants from the manifest (no Authorization header: OpenSeadragon and IIIF
viewers fetch with plain GETs).

- Deep Zoom: `/tiles/{grant}/{page}/page.dzi` and `/tiles/{grant}/{page}/page_files/{level}/{col}_{row}.{ext}`,
  the layout OpenSeadragon derives from the descriptor's URL;
- IIIF Image API 3.0, level 0: `/iiif/{grant}/{page}/info.json` and
  `/iiif/{grant}/{page}/{region}/{size}/{rotation}/{quality}.{format}`, answered from the same tiles;
- the page's thumbnail.
Tiles never change under a URL (a reprocessed document gets a new job id, so new URLs), so answers carry
`Cache-Control: immutable` and an ETag, and a matching If-None-Match gets 304 without reading the tile.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from chalice.app import Blueprint, Response

from chalicelib.container import get_container
from chalicelib.domain.errors import ApiError, BadRequest, NotFound
from chalicelib.domain.tile_plan import FORMAT_EXTENSIONS
from chalicelib.domain.viewers import NotATile, dzi_xml, iiif_info, iiif_tile
from chalicelib.routes.documents import tiles_url
from chalicelib.routes.errors import error_response

bp = Blueprint(__name__)
IMMUTABLE = "public, max-age=31536000, immutable"


def _number(text: str, what: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise BadRequest(f"{what} must be a whole number", code="bad_tile")
    return int(text)


def _guarded(view: Callable[..., Response]) -> Callable[..., Response]:
    def wrapped(**params: str) -> Response:
        try:
            return view(**params)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)

    wrapped.__name__ = view.__name__
    return wrapped


def _tile_response(grant: str, page: int, name: str, headers: dict[str, str] | None = None) -> Response:
    access = get_container().tile_access
    scope = access.verify(grant)
    etag = access.etag(scope, page, name)
    if etag is None:
        raise NotFound("no such tile (or the page is not ready)", code="no_such_tile")
    cache: dict[str, str | list[str]] = {"Cache-Control": IMMUTABLE, "ETag": f'"{etag}"', **(headers or {})}
    if bp.current_request.headers.get("if-none-match", "").strip() in (f'"{etag}"', f'W/"{etag}"', etag):
        return Response(status_code=304, body="", headers=cache)
    tile = access.read(scope, page, name)
    return Response(status_code=200, body=tile.data, headers={"Content-Type": tile.content_type, **cache})


@bp.route("/tiles/{grant}/{page}/page.dzi", methods=["GET"], cors=True)
@_guarded
def dzi_descriptor(grant: str, page: str) -> Response:
    _, record = get_container().tile_access.page(grant, _number(page, "page"))
    return Response(status_code=200, body=dzi_xml(record),
                    headers={"Content-Type": "application/xml", "Cache-Control": IMMUTABLE})


@bp.route("/tiles/{grant}/{page}/page_files/{level}/{tile}", methods=["GET"], cors=True)
@_guarded
def dzi_tile(grant: str, page: str, level: str, tile: str) -> Response:
    name, _, ext = tile.partition(".")
    col, _, row = name.partition("_")
    if ext not in FORMAT_EXTENSIONS.values():
        raise NotFound("no such tile", code="no_such_tile")
    return _tile_response(grant, _number(page, "page"),
                          f"{_number(level, 'level')}/{_number(col, 'column')}_{_number(row, 'row')}")


@bp.route("/tiles/{grant}/{page}/thumbnail.jpg", methods=["GET"], cors=True)
@_guarded
def thumbnail(grant: str, page: str) -> Response:
    return _tile_response(grant, _number(page, "page"), "@thumbnail")


@bp.route("/iiif/{grant}/{page}/info.json", methods=["GET"], cors=True)
@_guarded
def iiif_info_json(grant: str, page: str) -> Response:
    number = _number(page, "page")
    _, record = get_container().tile_access.page(grant, number)
    info = iiif_info(record, f"{tiles_url(bp.current_request)}/iiif/{grant}/{number}")
    return Response(status_code=200, body=json.dumps(info), headers={
        "Content-Type": 'application/ld+json;profile="http://iiif.io/api/image/3/context.json"',
        "Cache-Control": IMMUTABLE})


@bp.route("/iiif/{grant}/{page}/{region}/{size}/{rotation}/{quality}", methods=["GET"], cors=True)
@_guarded
def iiif_image(grant: str, page: str, region: str, size: str, rotation: str, quality: str) -> Response:
    number = _number(page, "page")
    _, record = get_container().tile_access.page(grant, number)
    try:
        level, col, row = iiif_tile(record, region, size, rotation, quality)
    except NotATile as exc:
        # IIIF says 400 for requests a level-0 service cannot satisfy.
        raise BadRequest(str(exc), code="not_a_tile") from exc
    return _tile_response(grant, number, f"{level}/{col}_{row}")
