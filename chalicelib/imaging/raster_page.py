"""A raster upload (a photo, a scan, a drawing exported as an image) as full-size rows on demand.

Pillow has no partial decoding, so the frame is decoded whole (its pixel count was checked against the limit
before) and held while the page is tiled. Nothing else of that size is made:
- EXIF orientation is applied in place. `ImageOps.exif_transpose` by default returns a copy even when there is
  nothing to turn, which held a second full-size image for every raster: 2.0 GB resident for a 256 Mpx scan.
- A frame larger than `max_side` is scaled down a piece of a band at a time (at most SOURCE_PIXELS source
  pixels a piece, however much the frame is scaled), each piece resized from the source rows its filter
  reaches (`Image.resize` with a `box`), instead of into a second, scaled copy of the whole frame (and, for
  16-bit or transparent frames, a converted third). The rows are the whole-frame resize's (with
  `reducing_gap`), up to rounding: a level, two for pieces a few rows high. A JPEG is first decoded at a
  reduced DCT scale (`draft`) while that stays at least the target.
- Conversions (to RGB or L, transparency onto white, 16-bit to 8) happen per band, on the rows a band needs.

A raster already grey (L, 1, 16-bit, grey with alpha) stays grey; an RGB one stays RGB, since telling a
grey-looking RGB scan would mean reading every pixel.
"""

from __future__ import annotations

import math

from PIL import Image, ImageOps

from chalicelib.imaging.content import Box
from chalicelib.imaging.documents import PILLOW_ERRORS
from chalicelib.imaging.errors import corrupt

WHITE = (255, 255, 255)
GREY_RASTER_MODES = frozenset({"1", "L", "LA", "La", "I", "F"})
RESIZE_FILTER = Image.Resampling.LANCZOS
FILTER_SUPPORT = 3.0  # Lanczos' radius, in output pixels: a band reads this many times the scale past its rows
REDUCING_GAP = 3.0  # a factor of 2 x this or more is first reduced by whole blocks (as `Image.resize` can)
SOURCE_PIXELS = 8_000_000  # source pixels a scaled band is made from at a time (converted, they are copied)


class RasterPage:
    content_boxes: list[Box] | None = None  # unknown: every tile is looked at
    colour_boxes: list[Box] | None = None  # unknown: an RGB raster's tiles are all colour
    text = ""

    def __init__(self, image: Image.Image, max_side: int, max_pixels: int = 0) -> None:
        try:
            target = fitted(image.size, max_side, max_pixels)
            if target != image.size:
                image.draft("RGB", target)  # JPEG only: 1/2, 1/4 or 1/8, still >= target
            image.load()
            ImageOps.exif_transpose(image, in_place=True)  # phones store photos sideways with a tag
        except PILLOW_ERRORS as error:
            raise corrupt(str(error)) from error
        self._image = image
        self.width, self.height = fitted(image.size, max_side, max_pixels)
        # Pillow's own rule for `resize(..., reducing_gap=REDUCING_GAP)` of the whole frame, per axis.
        self._reduce = (max(1, int(image.width / self.width / REDUCING_GAP)),
                        max(1, int(image.height / self.height / REDUCING_GAP)))
        self._margin = math.ceil(FILTER_SUPPORT * image.height / self.height) + self._reduce[1]
        self._scale = _intensity_scale(image)
        self.mode = "L" if image.mode in GREY_RASTER_MODES or image.mode.startswith("I;16") else "RGB"

    @staticmethod
    def damage() -> str:
        return ""  # Pillow refuses a damaged raster outright (DocumentRejected), so a page tiled is whole

    def band(self, top: int, bottom: int, mode: str | None = None) -> Image.Image:
        """Full-size rows [top, bottom) as `mode` (L or RGB; the page's own by default)."""
        mode = mode or self.mode
        image = self._image
        try:
            if (self.width, self.height) == image.size:
                return self._converted(image.crop((0, top, self.width, bottom)), mode)
            # A band is sized in output pixels; scaled down a lot, its source rows could be most of the frame.
            # So it is made in pieces of at most about SOURCE_PIXELS source pixels each.
            scale = image.height / self.height
            per_piece = max(1, int((SOURCE_PIXELS / image.width - 2 * self._margin) / scale))
            if bottom - top <= per_piece:
                return self._scaled(top, bottom, mode)
            out = Image.new(mode, (self.width, bottom - top))
            for piece in range(top, bottom, per_piece):
                out.paste(self._scaled(piece, min(bottom, piece + per_piece), mode), (0, piece - top))
            return out
        except PILLOW_ERRORS as error:
            raise corrupt(str(error)) from error

    def _scaled(self, top: int, bottom: int, mode: str) -> Image.Image:
        """Output rows [top, bottom) of the scaled frame, from the source rows the filter reaches: what a resize
        of the whole converted frame gives, up to rounding. Like Pillow's `reducing_gap`, a large factor is
        first reduced by whole blocks (cheaper), the blocks aligned on the frame's, not the piece's, origin."""
        image, (fx, fy) = self._image, self._reduce
        source_top, source_bottom = top * image.height / self.height, bottom * image.height / self.height
        first = max(0, math.floor(source_top) - self._margin) // fy * fy
        last = min(image.height, -(-(math.ceil(source_bottom) + self._margin) // fy) * fy)
        if image.mode == mode:  # nothing to convert: read the frame where it lies, no copy of its rows
            rows, offset, region = image, 0, (0, first, image.width, last)
        else:  # converted first: Pillow resizes plain RGB and L, and composites nothing
            rows = self._converted(image.crop((0, first, image.width, last)), mode)
            offset, region = first, (0, 0, image.width, last - first)
        if fx > 1 or fy > 1:
            rows, offset = rows.reduce((fx, fy), box=region), first
        # `rows`' row r is the frame's row offset + r (reduced: offset + r * fy).
        return rows.resize((self.width, bottom - top), RESIZE_FILTER,
                           box=(0, (source_top - offset) / fy, image.width / fx, (source_bottom - offset) / fy))

    def colour_band(self, top: int, bottom: int,
                    boxes: list[tuple[int, int, int, int]]) -> tuple[Image.Image, list[Image.Image]]:
        """As VectorPage's (a raster names no colour boxes, so the tiler does not ask for it today)."""
        rows = self.band(top, bottom, "RGB")
        return rows.convert("L"), [rows.crop((left, y0 - top, right, y1 - top)) for left, y0, right, y1 in boxes]

    def _converted(self, rows: Image.Image, mode: str) -> Image.Image:
        return _grey(rows, self._scale) if mode == "L" else _rgb(rows, self._scale)


def fitted(size: tuple[int, int], max_side: int, max_pixels: int = 0) -> tuple[int, int]:
    """`size` scaled down, keeping its proportions, so neither side exceeds `max_side` and it holds at most
    `max_pixels` (0: no budget)."""
    width, height = size
    factor = max(width, height) / max_side
    fit = [max(1, round(width / factor)), max(1, round(height / factor))] if factor > 1 else [width, height]
    if max_pixels and fit[0] * fit[1] > max_pixels:
        factor = math.sqrt(width * height / max_pixels)
        # Rounded down, so the product stays within the budget (and the sides within `max_side`, which the
        # budget's factor is at least about).
        fit = [max(1, min(max_side, math.floor(side / factor))) for side in (width, height)]
        while fit[0] * fit[1] > max_pixels:  # only where the division's floating point rounded up past a whole
            fit[fit[1] > fit[0]] -= 1
    return fit[0], fit[1]


def _intensity_scale(image: Image.Image) -> float:
    """For 16- and 32-bit greyscale: the factor that maps the image's brightest value to 255."""
    if image.mode.startswith("I;16"):
        return 255 / 65535
    if image.mode in ("I", "F"):
        low_high = image.getextrema()
        high = float(low_high[1]) if isinstance(low_high[1], int | float) else 0.0
        return 255 / high if high > 0 else 1.0
    return 1.0


def _rgb(image: Image.Image, scale: float = 1.0) -> Image.Image:
    """`image` as RGB; transparency is composited onto white (JPEG has no alpha, and pages are white)."""
    if image.mode == "RGB":
        return image
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        return _eight_bit(image, scale).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", image.size, WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _grey(image: Image.Image, scale: float = 1.0) -> Image.Image:
    """A grey raster's rows as L; transparency composited onto white."""
    if image.mode in ("LA", "La"):
        background = Image.new("L", image.size, 255)
        background.paste(image.convert("LA").getchannel("L"), mask=image.convert("LA").getchannel("A"))
        return background
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        return _eight_bit(image, scale)
    return image if image.mode == "L" else image.convert("L")


def _eight_bit(image: Image.Image, scale: float) -> Image.Image:
    """16- and 32-bit grey (integer or float) as L, scaled so the brightest value is 255. A float frame is
    scaled as floats: made integers first, one of values in 0..1 had two levels left."""
    wide = image if image.mode in ("I", "F") else image.convert("I")
    return wide.point(lambda value: value * scale).convert("L")
