"""One page of an uploaded file in, every tile of its deep-zoom pyramid out (streamed to a sink), then the whole
page as IIIF's `max` image (to the same sink), plus a thumbnail and the page's text.

The page is rendered at `settings.dpi` (vector kinds; lowered so the longest side stays within `max_side` and
the page within `max_pixels`) or shown at its own pixels (rasters, scaled down past either); that pixel size is
the pyramid's full-size level.
Memory stays bounded whatever the page size: see `pyramid` (streamed levels) and `render` (bands).
A page with no colour is rendered and tiled in grey. A page with a little colour (at most half its full-size
tiles) is tiled as a grey pyramid too, its colour tiles rendered and halved apart (see `mixed`); on a page
mostly in colour, the pyramid is RGB and a tile no coloured thing reaches is cut to one channel before
encoding (see `colour`). Grey tiles encode as one-channel JPEG.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Protocol

from PIL import Image, _imaging

from chalicelib.domain.tile_plan import DEFAULT_MAX_PIXELS, Level, TilePlan
from chalicelib.domain.viewers import max_image_level
from chalicelib.imaging import damage, grey_rows
from chalicelib.imaging.content import Box, ContentMap
from chalicelib.imaging.documents import (
    check_embedded_images,
    checked_source,
    open_raster,
    raster_frames,
    seek_frame,
)
from chalicelib.imaging.encode import encode, encode_blank, encode_tile
from chalicelib.imaging.formats import RASTER_KINDS, Kind
from chalicelib.imaging.held_document import lent_paged
from chalicelib.imaging.held_document import release as release_documents
from chalicelib.imaging.limits import Limits
from chalicelib.imaging.mixed import ColourTiles, worth_mixing
from chalicelib.imaging.pyramid import Pyramid
from chalicelib.imaging.raster_page import RasterPage
from chalicelib.imaging.render import VectorPage

__all__ = ["Limits", "PageTiles", "Rendition", "Tile", "TileSettings", "release_documents", "tile_page"]

DEFAULT_LIMITS = Limits()
# Pillow frees every image's memory straight back to the OS by default, so each band and level image is fresh
# memory that the kernel must fault in and zero (a third of a page's CPU time in the benchmark). Keeping freed
# 16 MB blocks for reuse removes most of that; what it keeps never exceeds the largest set of images alive at
# once. An operator's PILLOW_BLOCKS_MAX wins.
if "PILLOW_BLOCKS_MAX" not in os.environ:
    _imaging.set_blocks_max(64)
BAND_PIXELS = 8_000_000  # full-size pixels rendered per band (~24 MB from MuPDF, ~32 MB once in Pillow)
THUMBNAIL_QUALITY = 80
MAX_IMAGE_QUALITY = 90  # the `max` image of a page tiled as PNG or WebP (it is always JPEG)


@dataclass(frozen=True)
class TileSettings:
    tile_size: int = 256
    overlap: int = 0
    format: str = "jpeg"  # jpeg | png | webp
    quality: int = 85
    dpi: int = 300
    max_side: int = 16384
    max_pixels: int = DEFAULT_MAX_PIXELS  # of the full-size level (0: none); see tile_plan
    thumbnail_side: int = 256


@dataclass(frozen=True)
class Tile:
    level: int
    col: int
    row: int
    data: bytes
    uniform: str | None  # 'rrggbb' when every pixel is that colour (then `data` is the cached encoding)


@dataclass(frozen=True)
class Rendition:
    """A whole-page image stored beside the tiles under `name`: `max`, IIIF's `full/max`, is a JPEG (the format
    IIIF level 0 requires) of the pyramid level `chalicelib.domain.viewers.max_image_level` picks."""

    name: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class PageTiles:
    width: int
    height: int
    max_level: int
    tile_count: int
    uniform_count: int
    thumbnail: bytes  # JPEG, longest side `thumbnail_side` (or the page's, if smaller)
    text: str  # the page's text for search; "" for images
    damage: str = ""  # what MuPDF could not read of the page (`damage`); "" when it read it all


class _Page(Protocol):
    width: int
    height: int
    text: str
    mode: str  # "L" or "RGB", the bands'
    content_boxes: list[Box] | None
    colour_boxes: list[Box] | None  # None: unknown (every tile of an RGB page is colour)

    def band(self, top: int, bottom: int, mode: str | None = None) -> Image.Image: ...

    def damage(self) -> str: ...  # what of the page could not be read ("": all of it)

    def colour_band(self, top: int, bottom: int,
                    boxes: list[tuple[int, int, int, int]]) -> tuple[Image.Image, list[Image.Image]]: ...


Sink = Callable[[Tile | Rendition], None]


def tile_page(path: str, kind: Kind, page_index: int, settings: TileSettings, sink: Sink,
              limits: Limits = DEFAULT_LIMITS) -> PageTiles:
    """Stream every tile of page `page_index` (from 0) to `sink`, then its `max` Rendition; raises
    DocumentRejected for bad input and IndexError for a page the document does not have. A page MuPDF could
    read only in part is tiled as far as it was read, its `damage` saying what was lost."""
    with _opened_page(path, kind, page_index, settings, limits) as page:
        tiles = _tile(page, settings, sink)
        lost = page.damage()
    return replace(tiles, damage=lost) if lost else tiles


@contextmanager
def _opened_page(path: str, kind: Kind, index: int, settings: TileSettings, limits: Limits) -> Iterator[_Page]:
    source, kind = checked_source(path, kind, limits)
    if kind in RASTER_KINDS:
        with open_raster(source, limits) as image:
            _check_index(index, raster_frames(image, kind))
            seek_frame(image, index, limits)
            yield RasterPage(image, settings.max_side, settings.max_pixels)
    else:
        with lent_paged(source, kind, limits) as lease:  # the previous page's document, when it is this one
            _check_index(index, lease.doc.page_count)
            damage.begin()  # this page's warnings only, from here to the end of its tiling
            check_embedded_images(lease.doc[index], limits)
            page = VectorPage(lease.doc[index], settings.dpi, settings.max_side, settings.max_pixels)
            lease.keep = page.decoded_jpegs == 0  # replaced streams stay in the document: not held on to
            yield page


def _check_index(index: int, count: int) -> None:
    if not 0 <= index < count:
        raise IndexError(f"page {index} is outside 0..{count - 1}")


def _tile(page: _Page, settings: TileSettings, sink: Sink) -> PageTiles:
    plan = TilePlan(page.width, page.height, settings.tile_size, settings.overlap)
    content = ContentMap(page.content_boxes, plan) if page.content_boxes is not None else None
    colour = ContentMap(page.colour_boxes, plan) if page.mode == "RGB" and page.colour_boxes else None
    mixed: ColourTiles | None = None
    if colour is not None and worth_mixing(plan, colour):
        mode, colour = "L", None  # a grey pyramid; `mixed` makes the colour tiles
    else:
        mode = page.mode
    fmt, quality = settings.format, settings.quality
    counts = [0, 0]  # tiles, uniform tiles

    def cut(level: Level, row: int, image: Image.Image, image_top: int) -> None:
        for col in range(level.cols):
            left, top, right, bottom = plan.tile_box(level.level, col, row)
            box = (left, top - image_top, right, bottom - image_top)
            rgb = mixed.tile(level, col, row, image, box) if mixed is not None else None
            if rgb is not None:
                encoded = encode_tile(rgb, fmt, quality)
            elif content is not None and content.tile_blank(level, col, row):
                encoded = encode_blank(right - left, bottom - top, fmt, quality)
            elif colour is not None and colour.tile_blank(level, col, row):
                # Neutral pixels (R = G = B): one channel of the tile. (Cutting a grey copy of the whole tile
                # row first saved little and raised the A0 sheet's peak memory by 70 MB.)
                encoded = encode_tile(image.crop(box).getchannel(0), fmt, quality)
            else:
                encoded = encode_tile(image, fmt, quality, box)
            counts[0] += 1
            counts[1] += encoded.uniform is not None
            sink(Tile(level.level, col, row, encoded.data, encoded.uniform))

    whole = max_image_level(plan)
    pyramid = Pyramid(plan, cut, hold_side=settings.thumbnail_side, hold_pixels=whole.width * whole.height,
                      mode=mode)
    if mode != page.mode:
        assert page.colour_boxes
        mixed = ColourTiles(plan, ContentMap(page.colour_boxes, plan), keep_levels_to=pyramid.held_level)
    for top, bottom in bands(page.width, page.height, settings.tile_size, mixed):
        if content is not None and content.rows_blank(top, bottom):
            rows = (grey_rows.blank(page.width, bottom - top) if mode == "L" else
                    Image.new(mode, (page.width, bottom - top), (255, 255, 255)))
        elif mixed is not None:
            rows = mixed.band(page, top, bottom)
        else:
            rows = page.band(top, bottom, mode)
        pyramid.push(rows, last=bottom == page.height)

    def level_image(number: int) -> Image.Image:
        image = pyramid.images[number]
        return mixed.level_image(plan.level(number), image) if mixed is not None else image

    max_quality = quality if fmt == "jpeg" else MAX_IMAGE_QUALITY
    sink(Rendition("max", encode(level_image(whole.level), "jpeg", max_quality), whole.width, whole.height))
    return PageTiles(width=page.width, height=page.height, max_level=plan.max_level, tile_count=counts[0],
                     uniform_count=counts[1], thumbnail=_thumbnail(pyramid.images, level_image,
                                                                   settings.thumbnail_side),
                     text=page.text)


def bands(width: int, height: int, tile_size: int, mixed: ColourTiles | None) -> list[tuple[int, int]]:
    """The rows a page is rendered in, one band at a time: whole tile rows, about BAND_PIXELS a band."""
    band_rows = tile_size * max(1, BAND_PIXELS // (width * tile_size))
    if mixed is not None:
        return mixed.bands(height, band_rows)
    return [(top, min(height, top + band_rows)) for top in range(0, height, band_rows)]


def _thumbnail(levels: dict[int, Image.Image], level_image: Callable[[int], Image.Image], side: int) -> bytes:
    """From the smallest held level at least `side` on its longest side (the full size if none is)."""
    number = min((n for n, image in levels.items() if max(image.size) >= side), default=max(levels))
    image = level_image(number).copy()
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return encode(image, "jpeg", THUMBNAIL_QUALITY)
