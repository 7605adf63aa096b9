"""The geometry of a deep-zoom pyramid, shared by the tiler (which cuts it), the manifest (which describes
it as DZI and IIIF) and the tile routes (which map IIIF requests onto DZI tiles).

Deep Zoom's rules (the ones OpenSeadragon and libvips' dzsave follow): level `max_level` is the full image,
each level below halves it, rounding up, down to level 0 at 1 x 1 pixel, with
max_level = ceil(log2(max(width, height))). Tiles are `tile_size` square, cut from the top left; the last
column and row are smaller. With overlap 0 a DZI tile at level L is exactly the IIIF tile at scale factor
2^(max_level - L), so one set of tiles serves both viewers.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

FORMAT_EXTENSIONS = {"jpeg": "jpeg", "png": "png", "webp": "webp"}
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
# A page's full-size level holds at most this many pixels unless its tile options say otherwise: an A1 sheet at
# 300 dpi (7016 x 9933). Sheets up to A1 (and ARCH D, nearly) keep 300 dpi; an A0 sheet is rendered at 212 dpi,
# where the thinnest ISO pen (0.13 mm) is still a pixel wide and 1.8 mm lettering 15 px high, for half the
# pixels of 300 dpi: tiling is most of a large sheet's cost (docs/benchmarks.md, fifteenth pass).
DEFAULT_MAX_PIXELS = 70_000_000


@dataclass(frozen=True)
class Level:
    """One level of a tile pyramid: its size and tile grid."""
    level: int
    width: int
    height: int
    cols: int
    rows: int
    scale: int  # the IIIF scale factor: full-size pixels per pixel of this level


@dataclass(frozen=True)
class TilePlan:
    """The tile pyramid of one page: its size, tile size and overlap."""
    width: int
    height: int
    tile_size: int = 256
    overlap: int = 0

    def __post_init__(self) -> None:
        if self.width < 1 or self.height < 1:
            raise ValueError("a pyramid needs at least one pixel")
        if self.tile_size < 1 or self.overlap < 0:
            raise ValueError("bad tile size or overlap")

    @cached_property
    def max_level(self) -> int:
        return math.ceil(math.log2(max(self.width, self.height))) if max(self.width, self.height) > 1 else 0

    @cached_property
    def _levels(self) -> tuple[Level, ...]:
        """Every level, indexed by its number: made once, since the tiler asks for a level for every tile."""
        levels = []
        for level in range(self.max_level + 1):
            scale = 2 ** (self.max_level - level)
            width = math.ceil(self.width / scale)
            height = math.ceil(self.height / scale)
            levels.append(Level(level, width, height, math.ceil(width / self.tile_size),
                                math.ceil(height / self.tile_size), scale))
        return tuple(levels)

    def level(self, level: int) -> Level:
        if not 0 <= level <= self.max_level:
            raise ValueError(f"level {level} is outside 0..{self.max_level}")
        return self._levels[level]

    def levels(self) -> Iterator[Level]:
        for level in range(self.max_level, -1, -1):
            yield self.level(level)

    def tile_box(self, level: int, col: int, row: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of a tile in the level's pixels, overlap included."""
        lv = self.level(level)
        if not (0 <= col < lv.cols and 0 <= row < lv.rows):
            raise ValueError(f"tile {col}_{row} is outside level {level} ({lv.cols} x {lv.rows})")
        left = max(0, col * self.tile_size - self.overlap)
        top = max(0, row * self.tile_size - self.overlap)
        right = min(lv.width, (col + 1) * self.tile_size + self.overlap)
        bottom = min(lv.height, (row + 1) * self.tile_size + self.overlap)
        return left, top, right, bottom

    def tile_count(self) -> int:
        return sum(lv.cols * lv.rows for lv in self.levels())

    def has_tile(self, level: int, col: int, row: int) -> bool:
        if not 0 <= level <= self.max_level:
            return False
        lv = self.level(level)
        return 0 <= col < lv.cols and 0 <= row < lv.rows


def fit_scale(width_pt: float, height_pt: float, dpi: int, max_side: int, max_pixels: int = 0) -> float:
    """Pixels per point for rendering at `dpi`, lowered so neither side exceeds `max_side` pixels and the page
    holds at most `max_pixels` (0: no budget) once each side is rounded up to whole pixels, as a render does."""
    scale = dpi / 72.0
    longest = max(width_pt, height_pt)
    if longest * scale > max_side:
        scale = max_side / longest
    if max_pixels and math.ceil(width_pt * scale) * math.ceil(height_pt * scale) > max_pixels:
        # The largest scale with (width * scale + 1) * (height * scale + 1) <= max_pixels: each side may gain
        # up to a pixel when it is rounded up, and the product still fits.
        area, sides = width_pt * height_pt, width_pt + height_pt
        scale = (math.sqrt(sides * sides + 4 * area * (max_pixels - 1)) - sides) / (2 * area)
    return scale
