"""Building a deep-zoom pyramid from the full-size page's rows, fed top to bottom in bands, in bounded memory.

The full-size level is never held whole (an A0 sheet at 300 dpi is 139 Mpx: 418 MB as MuPDF's RGB, 558 MB as
Pillow's). Each large level keeps only the rows it has not cut into tiles yet; as rows arrive it cuts every
tile row they complete, then halves them (`Image.reduce(2)`: a 2 x 2 box average that rounds odd edges up, as
Deep Zoom does; for grey rows, the same arithmetic in C, see `grey_rows`) and passes the half-size rows to the
level below, which does the same. Memory per level is about a band plus a tile row of its own width, so the
whole pyramid needs roughly two bands of the full-size width.

Once a level is small (a few megapixels) it is assembled whole in memory (its rows joined once the last
arrive), and it and every level below are cut from whole images; those images are kept, because the thumbnail
comes from one of them rather than a second render.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PIL import Image

from chalicelib.domain.tile_plan import Level, TilePlan
from chalicelib.imaging import grey_rows

SMALL_LEVEL_PIXELS = 4_000_000
# Cuts every tile of tile row `row` of `level` from `image`, whose first pixel row is the level's row `image_top`.
RowCutter = Callable[[Level, int, Image.Image, int], None]


class _Rows(Protocol):
    def push(self, rows: Image.Image, last: bool) -> None: ...


class _StreamedLevel:
    """A level too big to hold: cuts tile rows as their pixels arrive, hands halved rows to the level below."""

    def __init__(self, level: Level, plan: TilePlan, cut: RowCutter, below: _Rows) -> None:
        self._level, self._plan, self._cut, self._below = level, plan, cut, below
        self._pending: Image.Image | None = None  # rows not yet needed by a cut tile row
        self._pending_top = 0  # the level row of the first pending row
        self._next_row = 0  # the next tile row to cut
        self._carry: Image.Image | None = None  # an odd row waiting for its pair before halving

    def push(self, rows: Image.Image, last: bool) -> None:
        self._pending = rows if self._pending is None else grey_rows.joined([self._pending, rows])
        self._cut_ready_rows()
        self._halve_and_pass(rows, last)

    def _cut_ready_rows(self) -> None:
        assert self._pending is not None
        size, overlap, level = self._plan.tile_size, self._plan.overlap, self._level
        available = self._pending_top + self._pending.height
        while self._next_row < level.rows and min(level.height, (self._next_row + 1) * size + overlap) <= available:
            self._cut(level, self._next_row, self._pending, self._pending_top)
            self._next_row += 1
        # Drop what no later tile row reads (with overlap, a tile row starts `overlap` rows above its own).
        keep_from = min(available, max(0, self._next_row * size - overlap))
        if keep_from >= available:
            self._pending, self._pending_top = None, available
        elif keep_from > self._pending_top:
            self._pending = grey_rows.rows(self._pending, keep_from - self._pending_top, self._pending.height)
            self._pending_top = keep_from

    def _halve_and_pass(self, rows: Image.Image, last: bool) -> None:
        if self._carry is not None:
            rows, self._carry = grey_rows.joined([self._carry, rows]), None
        if not last and rows.height % 2:
            self._carry = grey_rows.rows(rows, rows.height - 1, rows.height)
            rows = grey_rows.rows(rows, 0, rows.height - 1)
        if rows.height:
            self._below.push(grey_rows.halved(rows), last)
        elif last:
            raise AssertionError("the last rows of a level must not be empty")


class _HeldLevels:
    """The first small level, assembled whole, then every level below it made from it by halving."""

    def __init__(self, level: Level, plan: TilePlan, cut: RowCutter) -> None:
        self._level, self._plan, self._cut = level, plan, cut
        self.level = level.level
        self._parts: list[Image.Image] = []  # the level's rows as they came, joined once all are in
        self._filled = 0
        self.images: dict[int, Image.Image] = {}

    def push(self, rows: Image.Image, last: bool) -> None:
        self._parts.append(rows)
        self._filled += rows.height
        if last:
            assert self._filled == self._level.height, (self._filled, self._level)
            image, self._parts = grey_rows.joined(self._parts), []
            self._cut_all(image)

    def _cut_all(self, image: Image.Image) -> None:
        for number in range(self._level.level, -1, -1):
            if number < self._level.level:
                image = grey_rows.halved(image)
            level = self._plan.level(number)
            assert image.size == (level.width, level.height), (image.size, level)
            for row in range(level.rows):
                self._cut(level, row, image, 0)
            self.images[number] = image


class Pyramid:
    """Push the full-size level's rows top to bottom (`last=True` with the final band), then read `images`.
    Every band is of one `mode` (L for a grey page, RGB)."""

    def __init__(self, plan: TilePlan, cut: RowCutter, hold_side: int = 0,
                 small_pixels: int = SMALL_LEVEL_PIXELS, hold_pixels: int = 0, mode: str = "RGB") -> None:
        self.mode = mode
        levels = list(plan.levels())
        # Hold whole the first level under `small_pixels`, or the first that keeps a level at least `hold_side`
        # on its longest side (the thumbnail's source) in memory, or one of `hold_pixels` (the `max` image).
        held_pixels = max(small_pixels, 4 * hold_side * hold_side, hold_pixels)
        held = next(level for level in levels if level.width * level.height <= held_pixels)
        self._held = _HeldLevels(held, plan, cut)
        top: _Rows = self._held
        for level in reversed(levels[:levels.index(held)]):
            top = _StreamedLevel(level, plan, cut, top)
        self._top = top
        self._plan = plan
        self._received = 0

    def push(self, rows: Image.Image, last: bool) -> None:
        if rows.mode != self.mode or rows.width != self._plan.width:
            raise ValueError(f"rows must be {self.mode} and {self._plan.width} wide, got {rows.mode} {rows.width}")
        self._received += rows.height
        if last != (self._received == self._plan.height):
            raise ValueError(f"{self._received} of {self._plan.height} rows received with last={last}")
        self._top.push(grey_rows.owned(rows), last)

    @property
    def held_level(self) -> int:
        """The largest level held whole (it and every level below are in `images` at the end)."""
        return self._held.level

    @property
    def images(self) -> dict[int, Image.Image]:
        """The levels held whole (level number -> image), complete once the last rows are pushed."""
        return self._held.images
