"""The colour tiles of a page that is mostly grey: rendered and halved apart from the grey pyramid.

A plan sheet with blue dimension chains, a report page with a red heading: a little colour makes the page a
colour page, and an RGB pyramid costs three to four times a grey one to halve, crop and copy (Pillow holds RGB
as four bytes a pixel), for tiles that are nearly all grey. So such a page is tiled in grey, in bands cut where
colour starts and stops: a band that no coloured thing reaches (from `colour.colour_boxes`) is rendered in
grey; a band some colour reaches is rendered in RGB, the full-size tiles the colour reaches copied out, and one
channel of the rest taken for the pyramid (the pixels outside colour tiles are neutral: any channel is their
grey).

Every tile below the full size is the 2 x 2 box average of its four children. Where a child is a colour tile,
the parent is the grey tile turned RGB with each colour child's halved pixels pasted over its quadrant: the
same pixels an RGB pyramid would have (a grey pixel is a neutral RGB one, and halving works on each child
alone, even at a level's odd last column or row, since a level's odd edge is a tile's edge). A parent with no
colour child is grey. Colour tiles are kept until their parent is cut, and for good on the levels held whole
(the `max` image and the thumbnail are made from those).

Only for pyramids without overlap and with an even tile size: with overlap a tile is not made of its children's
pixels alone, and with an odd size a parent's 2 x 2 boxes straddle two children.
"""

from __future__ import annotations

from typing import Protocol

from PIL import Image

from chalicelib.domain.tile_plan import Level, TilePlan
from chalicelib.imaging import colour_rows
from chalicelib.imaging.content import ContentMap

MAX_COLOUR_SHARE = 0.5  # above this share of full-size tiles in colour, an RGB pyramid is cheaper


class _Renders(Protocol):
    def band(self, top: int, bottom: int, mode: str | None = None) -> Image.Image: ...

    def colour_band(self, top: int, bottom: int,
                    boxes: list[tuple[int, int, int, int]]) -> tuple[Image.Image, list[Image.Image]]: ...


def worth_mixing(plan: TilePlan, colour: ContentMap) -> bool:
    """True when few enough full-size tiles are in colour for a grey pyramid with colour tiles to pay."""
    if plan.overlap or plan.tile_size % 2:  # see the module's docstring
        return False
    full = plan.level(plan.max_level)
    coloured = sum(not colour.tile_blank(full, col, row) for row in range(full.rows) for col in range(full.cols))
    return coloured <= MAX_COLOUR_SHARE * full.cols * full.rows


class ColourTiles:
    def __init__(self, plan: TilePlan, colour: ContentMap, keep_levels_to: int) -> None:
        self._plan, self._colour = plan, colour
        self._full = plan.level(plan.max_level)
        self._keep_levels_to = keep_levels_to  # levels numbered up to this stay held whole: keep their tiles
        # Per level, the colour tiles by (col, row): most tiles of most levels have no colour child, and
        # finding that out is one look at an empty dict.
        self._levels: dict[int, dict[tuple[int, int], Image.Image]] = {n: {} for n in range(plan.max_level + 1)}

    def band(self, page: _Renders, top: int, bottom: int) -> Image.Image:
        """Full-size rows [top, bottom) in grey; a band holding colour tiles is rendered once in RGB, its colour
        tiles kept, and given as one of its channels (exact where pixels are neutral: everywhere but the colour
        tiles, whose grey pixels no tile shows). Only whole bands: MuPDF anti-aliases a stroke differently
        under a clip at its sides, by up to 16 levels however wide the margin, so colour tiles rendered apart
        would show seams against their grey neighbours."""
        coloured = self._coloured(top, bottom)
        if not coloured:
            return page.band(top, bottom, "L")
        boxes = [self._plan.tile_box(self._full.level, col, row) for row, col in coloured]
        grey, crops = page.colour_band(top, bottom, boxes)
        tiles = self._levels[self._full.level]
        for (row, col), crop in zip(coloured, crops, strict=True):
            tiles[(col, row)] = crop
        return grey

    def bands(self, height: int, band_rows: int) -> list[tuple[int, int]]:
        """The page's rows [0, height) as bands of at most `band_rows` (a whole number of tile rows), cut where
        colour starts or stops: the tile rows no colour reaches are rendered in grey, not in RGB then split
        (a third of the bytes to paint, and no channel to take), for one more pass over the display list."""
        size, spans = self._plan.tile_size, list[tuple[int, int, bool]]()
        for top in range(0, height, size):
            bottom, coloured = min(height, top + size), bool(self._coloured(top, top + 1))  # one tile row
            if spans and spans[-1][2] == coloured and spans[-1][1] - spans[-1][0] < band_rows:
                spans[-1] = (spans[-1][0], bottom, coloured)
            else:
                spans.append((top, bottom, coloured))
        return [(top, bottom) for top, bottom, _ in spans]

    def band_mode(self, top: int, bottom: int) -> str:
        """RGB when some colour tile starts in rows [top, bottom) (then `band` renders some of them in RGB)."""
        return "RGB" if self._coloured(top, bottom) else "L"

    def _coloured(self, top: int, bottom: int) -> list[tuple[int, int]]:
        """(row, col) of the full-size colour tiles of the tile rows starting in rows [top, bottom)."""
        size, full = self._plan.tile_size, self._full
        return [(row, col) for row in range(-(-top // size), min(full.rows, -(-bottom // size)))
                for col in range(full.cols) if not self._colour.tile_blank(full, col, row)]

    def tile(self, level: Level, col: int, row: int, image: Image.Image,
             box: tuple[int, int, int, int]) -> Image.Image | None:
        """The RGB tile at (col, row) of `level`, or None when it is grey. `box` is where the tile lies in
        `image`, rows of the grey pyramid's level. Every tile must be asked for, children before parents (the
        pyramid cuts them in that order)."""
        if level.level == self._full.level:
            return self._levels[level.level].get((col, row))
        children = self._levels[level.level + 1]
        if not children:
            return None
        keep = level.level + 1 <= self._keep_levels_to
        tile, half = None, self._plan.tile_size // 2
        for dy in (0, 1):
            for dx in (0, 1):
                key = (2 * col + dx, 2 * row + dy)
                child = children.get(key) if keep else children.pop(key, None)
                if child is not None:
                    if tile is None:
                        tile = colour_rows.from_grey(image, box)
                    colour_rows.halve_into(tile, child, dx * half, dy * half)
        if tile is not None:
            self._levels[level.level][(col, row)] = tile
        return tile

    def level_image(self, level: Level, grey: Image.Image) -> Image.Image:
        """A held level (`grey`, the whole level from the grey pyramid) in colour, or `grey` if it has none."""
        tiles = self._levels[level.level]
        if not tiles:
            return grey
        image = grey.convert("RGB")
        for (col, row), tile in tiles.items():
            left, top, _, _ = self._plan.tile_box(level.level, col, row)
            image.paste(tile, (left, top))
        return image
