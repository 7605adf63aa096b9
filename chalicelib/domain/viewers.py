"""What viewers read: the Deep Zoom descriptor (OpenSeadragon opens it directly) and the IIIF Image API 3.0
level-0 `info.json`, both describing the same tiles; and the mapping of a IIIF image request onto what is stored.

With overlap 0 the two coincide: the IIIF tile at scale factor s, column c, row r is the DZI tile c_r of
level max_level - log2(s). Level 0 of IIIF means only the advertised tiles and sizes are served, which is
exactly what is stored:
- tiles at the scale factors 1, 2, 4 ... up to the first at which the whole page is one tile (`scaleFactors`);
- whole-page images (region `full`): every level that is one tile (`sizes`), and the `max` image, a JPEG of the
  whole page stored beside the tiles at about a megapixel (`MAX_IMAGE_PIXELS`). When it is smaller than the page,
  `maxWidth`/`maxHeight` say its size, so `full/max` is defined; it is never smaller than a tile, so every
  advertised tile stays within those limits.
JPEG is the format level 0 requires. A document tiled as PNG or WebP advertises that format (`extraFormats`,
and `preferredFormats` so OpenSeadragon asks for it): its tiles and one-tile sizes are served in it, and its
`max` image in JPEG.
"""

from __future__ import annotations

import math
from typing import Any

from chalicelib.domain.documents import PageRecord
from chalicelib.domain.tile_plan import FORMAT_EXTENSIONS, Level, TilePlan

IIIF_EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}
MAX_IMAGE = "@max"  # the stored name of the `max` image
MAX_IMAGE_PIXELS = 1024 * 1024


class NotATile(ValueError):
    """A IIIF request for something a level-0 service does not have."""


def plan_of(page: PageRecord) -> TilePlan:
    return TilePlan(page.width, page.height, page.tile_size, 0)


def max_image_level(plan: TilePlan) -> Level:
    """The level stored whole as the `max` image: the largest within MAX_IMAGE_PIXELS, but never narrower or
    shorter than a tile of the page (else a full-size tile would exceed the declared maxWidth/maxHeight)."""
    levels = list(plan.levels())  # the full size first
    need_w, need_h = min(plan.tile_size, plan.width), min(plan.tile_size, plan.height)
    floor = [lv for lv in levels if lv.width >= need_w and lv.height >= need_h][-1]
    capped = next((lv for lv in levels if lv.width * lv.height <= MAX_IMAGE_PIXELS), levels[-1])
    return capped if capped.level >= floor.level else floor


def one_tile_levels(plan: TilePlan) -> list[Level]:
    return [lv for lv in plan.levels() if lv.cols == 1 and lv.rows == 1]


def scale_factors(plan: TilePlan) -> list[int]:
    """1, 2, 4 ... up to the scale at which the whole page is one tile: smaller levels add nothing a viewer
    needs (they are still served, as `sizes`)."""
    whole = one_tile_levels(plan)[0]
    return [2 ** i for i in range(plan.max_level - whole.level + 1)]


def dzi_xml(page: PageRecord) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<Image xmlns="http://schemas.microsoft.com/deepzoom/2008" Format="{FORMAT_EXTENSIONS[page.format]}" '
            f'Overlap="0" TileSize="{page.tile_size}"><Size Width="{page.width}" Height="{page.height}"/></Image>\n')


def iiif_info(page: PageRecord, service_id: str) -> dict[str, Any]:
    plan = plan_of(page)
    big = max_image_level(plan)
    sizes = {(lv.width, lv.height) for lv in one_tile_levels(plan)} | {(big.width, big.height)}
    info: dict[str, Any] = {
        "@context": "http://iiif.io/api/image/3/context.json",
        "id": service_id,
        "type": "ImageService3",
        "protocol": "http://iiif.io/api/image",
        "profile": "level0",
        "width": page.width,
        "height": page.height,
    }
    if big.level < plan.max_level:
        info.update(maxWidth=big.width, maxHeight=big.height)
    info["sizes"] = [{"width": w, "height": h} for w, h in sorted(sizes)]
    info["tiles"] = [{"width": page.tile_size, "height": page.tile_size, "scaleFactors": scale_factors(plan)}]
    if page.format != "jpeg":
        info["extraFormats"] = info["preferredFormats"] = [IIIF_EXTENSIONS[page.format]]
    return info


def _ints(text: str, count: int) -> list[int]:
    parts = text.split(",")
    # Without leading zeros: one URL per image, as the tile routes (a cache would hold each spelling).
    if len(parts) != count or not all(p.isascii() and p.isdigit() and p == str(int(p)) for p in parts):
        raise NotATile(f"{text!r} is not {count} whole numbers written without leading zeros")
    return [int(p) for p in parts]


def iiif_entry(page: PageRecord, region: str, size: str, rotation: str, quality: str) -> str:
    """The stored entry that answers a IIIF image request (`level/col_row` or MAX_IMAGE); NotATile otherwise."""
    name, _, ext = quality.partition(".")
    stored = IIIF_EXTENSIONS[page.format]
    if name != "default" or rotation != "0" or ext not in ("jpg", stored):
        raise NotATile(f"only rotation 0, quality default and the formats jpg (full/max) and {stored} are served")
    plan = plan_of(page)
    if region == "full":
        return _whole(plan, size, ext, stored)
    if ext != stored:
        raise NotATile(f"this page's tiles are stored as {stored}")
    level, col, row = _tile(page, plan, region, size)
    return f"{level}/{col}_{row}"


def _whole(plan: TilePlan, size: str, ext: str, stored: str) -> str:
    big = max_image_level(plan)
    if ext == "jpg" and size in ("max", f"{big.width},{big.height}", f"{big.width},"):
        return MAX_IMAGE
    if ext == stored:
        for lv in one_tile_levels(plan):
            if size in (f"{lv.width},", f"{lv.width},{lv.height}") or (size == "max" and lv.level == plan.max_level):
                return f"{lv.level}/0_0"
    raise NotATile("that full-image size is not one of the advertised sizes in this format")


def _tile(page: PageRecord, plan: TilePlan, region: str, size: str) -> tuple[int, int, int]:
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
