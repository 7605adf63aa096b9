"""What viewers read: the Deep Zoom descriptor (OpenSeadragon opens it directly) and the IIIF Image API 3.0
level-0 `info.json`, both describing the same tiles; and the mapping of a IIIF tile request onto a DZI tile.

With overlap 0 the two coincide: the IIIF tile at scale factor s, column c, row r is the DZI tile c_r of
level max_level - log2(s). Level 0 of IIIF means only the advertised tiles and sizes are served, which is
exactly what is stored.
"""

from __future__ import annotations

import math
from typing import Any

from chalicelib.domain.documents import PageRecord
from chalicelib.domain.tile_plan import FORMAT_EXTENSIONS, TilePlan

IIIF_EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}


class NotATile(ValueError):
    """A IIIF request for something a level-0 service does not have."""


def plan_of(page: PageRecord) -> TilePlan:
    return TilePlan(page.width, page.height, page.tile_size, 0)


def dzi_xml(page: PageRecord) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="{FORMAT_EXTENSIONS[page.format]}" '
            f'Overlap="0" TileSize="{page.tile_size}"><Size Width="{page.width}" Height="{page.height}"/></Image>\n')


def iiif_info(page: PageRecord, service_id: str) -> dict[str, Any]:
    plan = plan_of(page)
    # Whole-image sizes a client may ask for with region "full": every level that is a single tile.
    sizes = [{"width": lv.width, "height": lv.height} for lv in plan.levels() if lv.cols == 1 and lv.rows == 1]
    return {
        "@context": "http://iiif.io/api/image/3/context.json",
        "id": service_id,
        "type": "ImageService3",
        "protocol": "http://iiif.io/api/image",
        "profile": "level0",
        "width": page.width,
        "height": page.height,
        "sizes": sorted(sizes, key=lambda s: s["width"]),
        "tiles": [{"width": page.tile_size, "scaleFactors": [2 ** i for i in range(plan.max_level + 1)]}],
        "extraFormats": [] if page.format == "jpeg" else [IIIF_EXTENSIONS[page.format]],
    }


def _ints(text: str, count: int) -> list[int]:
    parts = text.split(",")
    if len(parts) != count or not all(p.isascii() and p.isdigit() for p in parts):
        raise NotATile(f"{text!r} is not {count} whole numbers")
    return [int(p) for p in parts]


def iiif_tile(page: PageRecord, region: str, size: str, rotation: str, quality: str) -> tuple[int, int, int]:
    """(level, col, row) of the DZI tile that answers a IIIF Image API request; NotATile otherwise."""
    plan = plan_of(page)
    name, _, ext = quality.partition(".")
    if name != "default" or ext != IIIF_EXTENSIONS[page.format] or rotation != "0":
        raise NotATile("only rotation 0, quality default and the stored format are served")
    if region == "full":
        for lv in plan.levels():
            if lv.cols == 1 and lv.rows == 1 and size in (f"{lv.width},", f"{lv.width},{lv.height}"):
                return lv.level, 0, 0
        raise NotATile("that full-image size is not one of the advertised sizes")
    x, y, w, h = _ints(region, 4)
    size_w, _, size_h = size.partition(",")
    for lv in plan.levels():
        span = page.tile_size * lv.scale
        if x % span or y % span or w != min(span, page.width - x) or h != min(span, page.height - y):
            continue
        want_w, want_h = math.ceil(w / lv.scale), math.ceil(h / lv.scale)
        if size_w != str(want_w) or size_h not in ("", str(want_h)):
            continue
        col, row = x // span, y // span
        if plan.has_tile(lv.level, col, row):
            return lv.level, col, row
    raise NotATile("the region and size are not one of the advertised tiles")
