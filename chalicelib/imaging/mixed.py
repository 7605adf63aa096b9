"""The colour tiles of a page that is mostly grey: rendered and halved apart from the grey pyramid.

A plan sheet with blue dimension chains, a report page with a red heading: a little colour makes the page a
colour page, and an RGB pyramid costs three to four times a grey one to halve, crop and copy (Pillow holds RGB
as four bytes a pixel), for tiles that are nearly all grey. So such a page is rendered and tiled in grey, and
only the full-size tiles some coloured thing reaches (from `colour.colour_boxes`) are rendered again in RGB, a
run of adjacent tiles at a time, with margins like a band's.

Every tile below the full size is the 2 x 2 box average of its four children. Where a child is a colour tile,
the parent is the grey tile turned RGB with each colour child's halved pixels pasted over its quadrant: the
same pixels an RGB pyramid would have (a grey pixel is a neutral RGB one, and halving works on each child
alone, even at a level's odd last column or row, since a level's odd edge is a tile's edge). A parent with no
colour child is grey. Colour tiles are kept until their parent is cut, and for good on the levels held whole
(the `max` image and the thumbnail are made from those).

Only for pyramids without overlap: with overlap a tile is not made of its children's pixels alone.
"""

from __future__ import annotations

from typing import Protocol

from PIL import Image

from chalicelib.domain.tile_plan import Level, TilePlan
from chalicelib.imaging.content import ContentMap

MAX_COLOUR_SHARE = 0.5  # above this share of full-size tiles in colour, an RGB pyramid is cheaper
MAX_BAND_SHARE = 0.2  # above this share of a band's tiles in colour, one RGB render of the band is cheaper


class _Renders(Protocol):
    def region(self, box: tuple[int, int, int, int], mode: str) -> Image.Image: ...


def worth_mixing(plan: TilePlan, colour: ContentMap) -> bool:
    """True when few enough full-size tiles are in colour for a grey pyramid with colour tiles to pay."""
    if plan.overlap:
        return False
    full = plan.level(plan.max_level)
    coloured = sum(not colour.tile_blank(full, col, row) for row in range(full.rows) for col in range(full.cols))
    return coloured <= MAX_COLOUR_SHARE * full.cols * full.rows


class ColourTiles:
    def __init__(self, plan: TilePlan, colour: ContentMap, keep_levels_to: int) -> None:
        self._plan, self._colour = plan, colour
        self._full = plan.level(plan.max_level)
        self._keep_levels_to = keep_levels_to  # levels numbered up to this stay held whole: keep their tiles
        self._tiles: dict[tuple[int, int, int], Image.Image] = {}

    def band(self, page: _Renders, top: int, bottom: int) -> Image.Image:
        """Full-size rows [top, bottom) in grey, after rendering in RGB the colour tiles of the tile rows they
        hold. Where colour tiles are a small share of the band's, they are rendered apart, a run of adjacent
        tiles at a time; else the band is rendered once in RGB, its colour tiles cut from it, and turned grey
        (a neutral pixel's luma is its value), since a second render of the same pixels costs more."""
        size, full = self._plan.tile_size, self._full
        rows = range(top // size, min(full.rows, -(-bottom // size)))
        runs = [(row, run) for row in rows for run in self._runs(row)]
        coloured = sum(end - start for _, (start, end) in runs)
        if coloured > MAX_BAND_SHARE * len(rows) * full.cols:
            rgb = page.region((0, top, full.width, bottom), "RGB")
            for row, (start, end) in runs:
                self._cut(rgb, row, start, end, 0, top)
            return rgb.convert("L")
        for row, (start, end) in runs:
            left, run_top, _, run_bottom = self._plan.tile_box(full.level, start, row)
            right = self._plan.tile_box(full.level, end - 1, row)[2]
            self._cut(page.region((left, run_top, right, run_bottom), "RGB"), row, start, end, left, run_top)
        return page.region((0, top, full.width, bottom), "L")

    def _runs(self, row: int) -> list[tuple[int, int]]:
        """The runs [start, end) of adjacent colour tiles on full-size tile row `row`."""
        runs, start, full = [], None, self._full
        for col in range(full.cols + 1):
            colour = col < full.cols and not self._colour.tile_blank(full, col, row)
            if colour and start is None:
                start = col
            elif not colour and start is not None:
                runs.append((start, col))
                start = None
        return runs

    def _cut(self, image: Image.Image, row: int, start: int, end: int, left: int, top: int) -> None:
        """Keep the full-size tiles [start, end) of tile row `row` from `image`, whose top left pixel is the
        full-size pixel (left, top)."""
        for col in range(start, end):
            x0, y0, x1, y1 = self._plan.tile_box(self._full.level, col, row)
            self._tiles[(self._full.level, col, row)] = image.crop((x0 - left, y0 - top, x1 - left, y1 - top))

    def tile(self, level: Level, col: int, row: int, image: Image.Image,
             box: tuple[int, int, int, int]) -> Image.Image | None:
        """The RGB tile at (col, row) of `level`, or None when it is grey. `box` is where the tile lies in
        `image`, rows of the grey pyramid's level. Every tile must be asked for, children before parents (the
        pyramid cuts them in that order)."""
        key = (level.level, col, row)
        if level.level == self._full.level:
            return self._tiles.get(key)
        below = level.level + 1
        children = [(dx, dy, self._take((below, 2 * col + dx, 2 * row + dy))) for dy in (0, 1) for dx in (0, 1)]
        coloured = [(dx, dy, child) for dx, dy, child in children if child is not None]
        if not coloured:
            return None
        half = self._plan.tile_size // 2
        tile = image.crop(box).convert("RGB")
        for dx, dy, child in coloured:
            tile.paste(child.reduce(2), (dx * half, dy * half))
        self._tiles[key] = tile
        return tile

    def _take(self, key: tuple[int, int, int]) -> Image.Image | None:
        if key[0] <= self._keep_levels_to:
            return self._tiles.get(key)
        return self._tiles.pop(key, None)

    def level_image(self, level: Level, grey: Image.Image) -> Image.Image:
        """A held level (`grey`, the whole level from the grey pyramid) in colour, or `grey` if it has none."""
        tiles = [(key, tile) for key, tile in self._tiles.items() if key[0] == level.level]
        if not tiles:
            return grey
        image = grey.convert("RGB")
        for (_, col, row), tile in tiles:
            left, top, _, _ = self._plan.tile_box(level.level, col, row)
            image.paste(tile, (left, top))
        return image
