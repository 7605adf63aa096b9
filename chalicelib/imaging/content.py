"""Where on a vector page anything is drawn, so that tiles and bands nothing reaches are never rendered or read.

PyMuPDF's `get_bboxlog()` lists the bounding box of every fill, stroke, text run and image the page paints.
A tile whose area no box touches is the page's white background at every level of the pyramid (a box average of
white is white), so it is emitted as the cached white tile without rendering, cropping or scanning it. The
boxes are padded by a few device pixels for anti-aliasing and by a margin for glyphs that reach past their
font's box, so the shortcut is conservative: a tile wrongly called "maybe drawn" only costs the normal path.
"""

from __future__ import annotations

import math

from chalicelib.domain.tile_plan import Level, TilePlan

Box = tuple[float, float, float, float]  # left, top, right, bottom in full-size pixels
PAD_PIXELS = 3.0


class ContentMap:
    def __init__(self, boxes: list[Box], plan: TilePlan) -> None:
        self._boxes = boxes
        self._plan = plan
        self._masks: dict[int, bytearray] = {}

    def rows_blank(self, top: int, bottom: int) -> bool:
        """True when nothing is drawn on full-size pixel rows [top, bottom)."""
        return not any(box[1] < bottom and box[3] > top for box in self._boxes)

    def tile_blank(self, level: Level, col: int, row: int) -> bool:
        mask = self._masks.get(level.level)
        if mask is None:
            mask = self._masks[level.level] = self._mask(level)
        return not mask[row * level.cols + col]

    def _mask(self, level: Level) -> bytearray:
        """One byte per tile of `level`: 1 where some box reaches the tile (overlap included), else 0."""
        size, overlap, scale = self._plan.tile_size, self._plan.overlap, level.scale
        mask = bytearray(level.cols * level.rows)
        for left, top, right, bottom in self._boxes:
            # A level pixel averages full-size pixels [x * scale, (x + 1) * scale): floor on both sides.
            c0 = max(0, math.floor((left / scale - overlap) / size))
            c1 = min(level.cols - 1, math.floor((right / scale + overlap) / size))
            r0 = max(0, math.floor((top / scale - overlap) / size))
            r1 = min(level.rows - 1, math.floor((bottom / scale + overlap) / size))
            if c0 > c1:
                continue
            run = b"\x01" * (c1 - c0 + 1)
            for r in range(r0, r1 + 1):
                mask[r * level.cols + c0: r * level.cols + c1 + 1] = run
        return mask


def padded(box: Box, pad: float, width: int, height: int) -> Box | None:
    """`box` grown by `pad` and clipped to the page, or None when it lies wholly off the page."""
    left, top, right, bottom = box
    if not all(math.isfinite(v) for v in box):  # MuPDF reports unbounded shadings as infinite boxes
        return (0.0, 0.0, float(width), float(height))
    left, top, right, bottom = max(0.0, left - pad), max(0.0, top - pad), min(width, right + pad), min(height,
                                                                                                          bottom + pad)
    return (left, top, right, bottom) if left < right and top < bottom else None
