# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""A vector page as full-size rows on demand (grey, mode L, when it has no colour; else RGB), rendered band
by band.

`VectorPage` renders from a display list (the page's content is interpreted once, not once per band) with a
clip in pixel space, so bands meet exactly. Each band is rendered with 8 extra rows above and below, which are
dropped: MuPDF's anti-aliasing near a clip edge differs from a whole-page render by up to ~11 levels on
hairlines (a faint seam); with 8 rows of margin it differs by at most 1 level on the pages measured, for ~1%
more rendering. Not on every page: a long slanted stroke that crosses the clip can move by one subsample (up
to ~17 levels along its whole edge, however wide the margin), since MuPDF clips its edges before scanning
them. That is an edge moved by a seventeenth of a pixel (the stitched-tile PSNR tests hold), but it is why
everything that must match pixel for pixel (a colour band's tiles and its grey) comes from one render of the
same rows. Bands that nothing reaches are not rendered at all.

Raster uploads are `raster_page.RasterPage`'s.

A vector page whose only content is images (a scanned PDF) is rendered at its images' own resolution when that
is below the configured dpi: upsampling a 200 dpi scan to 300 dpi makes 2.25 times the tiles and no detail.
"""

from __future__ import annotations

import math

import pymupdf
from PIL import Image

from chalicelib.domain.tile_plan import fit_scale
from chalicelib.imaging import colour_rows, damage, grey_rows
from chalicelib.imaging.colour import colour_boxes, uses_patterns
from chalicelib.imaging.content import PAD_PIXELS, Box, padded
from chalicelib.imaging.decode_once import decode_once
from chalicelib.imaging.documents import PYMUPDF_ERRORS
from chalicelib.imaging.embedded_jpeg import decode_jpegs
from chalicelib.imaging.errors import corrupt

BAND_MARGIN_ROWS = 8
GLYPH_PAD_POINTS = 2.0  # glyphs may reach past their font's box (italics, accents)
MAX_TEXT_BYTES = 200_000
MIN_IMAGE_DPI = 72  # a scanned page is never rendered below this, whatever its images say
IMAGE_KINDS = frozenset({"fill-image", "ignore-text"})  # a scan, perhaps with an OCR layer


class VectorPage:
    content_boxes: list[Box] | None  # where anything is drawn, in full-size pixels
    colour_boxes: list[Box] | None  # where anything coloured is drawn (empty: the page is grey)
    mode: str  # "L" or "RGB": what `band` returns
    decoded_jpegs: int  # image streams of the page's document replaced by their pixels (`embedded_jpeg`, `decode_once`)

    def __init__(self, page: pymupdf.Page, dpi: int, max_side: int, max_pixels: int = 0) -> None:
        self._page = page
        rect = page.rect
        try:
            log = page.get_bboxlog()
            dpi = _content_dpi(page, log, dpi)
            self.scale = fit_scale(rect.width, rect.height, dpi, max_side, max_pixels)
            self._matrix = pymupdf.Matrix(self.scale, self.scale)
            # Pillow's libjpeg-turbo, not MuPDF's libjpeg, decodes the page's JPEGs: before the display list.
            self.decoded_jpegs = decode_jpegs(page, self.scale) + decode_once(page, self.scale)
            pixels = (rect * self._matrix).irect
            self.width = max(1, min(max_side, pixels.width))
            self.height = max(1, min(max_side, pixels.height))
            self._list = page.get_displaylist()
            # One text page, made from the display list, gives both the search text and the text's colours:
            # the page's own get_text() and get_texttrace() each interpret its content again (4.3 ms of a letter
            # page, against 1.4). The flags are get_text()'s, so the text is the same.
            text = pymupdf.TextPage(self._list.get_textpage(pymupdf.TEXTFLAGS_TEXT))
            # The logs are in unrotated page space; the rotation matrix maps them to the page as shown.
            to_pixels = page.rotation_matrix * self._matrix
            if uses_patterns(page):  # the logs cannot say where a pattern paints: every tile looked at, in RGB
                self.content_boxes = None
                self.colour_boxes = [(0.0, 0.0, float(self.width), float(self.height))]
            else:
                self.content_boxes = self._content(page, log, to_pixels)
                self.colour_boxes = colour_boxes(page, log, to_pixels, self.scale, self.width, self.height,
                                                 GLYPH_PAD_POINTS * self.scale, text, self._matrix)
            self.text = _capped(text.extractText())
        except PYMUPDF_ERRORS as error:
            raise corrupt(str(error)) from error
        self.mode = "RGB" if self.colour_boxes else "L"

    def _content(self, page: pymupdf.Page, log: list[tuple[str, tuple[float, ...]]],
                 to_pixels: pymupdf.Matrix) -> list[Box]:
        pad = PAD_PIXELS + GLYPH_PAD_POINTS * self.scale
        boxes = []
        for kind, bbox in log:
            if kind == "ignore-text":  # invisible text (an OCR layer) paints nothing
                continue
            rect = pymupdf.Rect(bbox) * to_pixels if all(map(math.isfinite, bbox)) else pymupdf.Rect(bbox)
            box = padded((rect.x0, rect.y0, rect.x1, rect.y1), pad, self.width, self.height)
            if box is not None:
                boxes.append(box)
        for annot in page.annots():  # in the log too, but widgets and popups have been seen missing from it
            rect = annot.rect * to_pixels  # unrotated page space, like the log
            box = padded((rect.x0, rect.y0, rect.x1, rect.y1), pad, self.width, self.height)
            if box is not None:
                boxes.append(box)
        return boxes

    def damage(self) -> str:
        """What of the page MuPDF could not read, since `damage.begin` (called before the page was opened)."""
        return damage.found(self._page)

    def band(self, top: int, bottom: int, mode: str | None = None) -> Image.Image:
        """Full-size rows [top, bottom) as an image of `mode` (L or RGB; the page's own by default). Always the
        page's full width: MuPDF anti-aliases strokes differently under a clip at its sides."""
        mode = mode or self.mode
        pix, first = self.pixmap(top, bottom, mode)
        stride, width = pix.stride, self.width
        if mode == "L":
            # Pillow maps a grey buffer in place (read-only): no copy, and no fresh memory to fault in. The
            # pixmap frees its samples when it is collected, so the band holds it for as long as it lives.
            start, end = (top - first) * stride, (bottom - first) * stride  # the margins left out
            return grey_rows.mapped(pix.samples_mv[start:end], pix.samples_ptr + start, width, bottom - top, pix)
        # RGB: Pillow unpacks to its 4-byte pixels, one copy.
        return self._copied(pix, first, (0, top, width, bottom), mode)

    def colour_band(self, top: int, bottom: int,
                    boxes: list[tuple[int, int, int, int]]) -> tuple[Image.Image, list[Image.Image]]:
        """Rows [top, bottom) rendered once in RGB, as `band` renders them, given as one grey band plus RGB
        copies of `boxes` (full-size pixels within those rows). The grey band is one channel of the render:
        exact wherever a pixel is neutral (R = G = B, a grey's luma is its value), and the caller must cover
        every other pixel with a box. Taking a channel costs about a third of what unpacking the rows to
        Pillow's four bytes a pixel and converting them costs; only the boxes are unpacked."""
        pix, first = self.pixmap(top, bottom, "RGB")
        start = (top - first) * pix.stride
        rows = pix.samples_mv[start:(bottom - first) * pix.stride]
        grey = grey_rows.green(rows, pix.samples_ptr + start, pix.stride, self.width, bottom - top)
        tiles = []
        for left, tile_top, right, tile_bottom in boxes:
            offset = (tile_top - first) * pix.stride
            tiles.append(colour_rows.from_render(pix.samples_mv[offset:], pix.samples_ptr + offset, pix.stride,
                                                 (left, tile_top, right, tile_bottom)))
        return grey, tiles

    def pixmap(self, top: int, bottom: int, mode: str) -> tuple[pymupdf.Pixmap, int]:
        """Rows [top, bottom) at full width, with BAND_MARGIN_ROWS more above and below where the page has them;
        also the page row of the pixmap's first row."""
        width, scale = self.width, self.scale
        first, last = max(0, top - BAND_MARGIN_ROWS), min(self.height, bottom + BAND_MARGIN_ROWS)
        # Inset by 0.01 px so MuPDF's outward rounding of the clip lands exactly on these pixel rows.
        clip = pymupdf.Rect(0.01 / scale, (first + 0.01) / scale, (width - 0.01) / scale, (last - 0.01) / scale)
        try:
            pix = self._list.get_pixmap(matrix=self._matrix, colorspace=pymupdf.csGRAY if mode == "L" else
                                        pymupdf.csRGB, alpha=False, clip=clip)
        except PYMUPDF_ERRORS as error:
            raise corrupt(str(error)) from error
        if (pix.x, pix.y, pix.width, pix.height) != (0, first, width, last - first):
            # Rounding disagreed (it has not been seen to): place what was rendered where it belongs.
            placed = pymupdf.Pixmap(pix.colorspace, pymupdf.IRect(0, first, width, last), False)
            placed.clear_with(255)
            placed.copy(pix, pix.irect)
            pix = placed
        return pix, first

    @staticmethod
    def _copied(pix: pymupdf.Pixmap, first: int, box: tuple[int, int, int, int], mode: str) -> Image.Image:
        """The pixels of `box` (page pixels; the pixmap's first row is page row `first`) as a Pillow image (a
        copy: Pillow holds RGB as four bytes a pixel, so it cannot map MuPDF's three)."""
        left, top, right, bottom = box
        start = (top - first) * pix.stride + left * pix.n
        image = Image.new(mode, (right - left, bottom - top), None)
        image.frombytes(pix.samples_mv[start:], "raw", mode, pix.stride, 1)
        return image


def _content_dpi(page: pymupdf.Page, log: list[tuple[str, tuple[float, ...]]], dpi: int) -> int:
    """`dpi`, or less for a page of images only: the finest of its images' own resolutions on the page."""
    if not log or any(kind not in IMAGE_KINDS for kind, _ in log):
        return dpi
    finest = 0.0
    for image in page.get_image_info():
        x0, y0, x1, y1 = image["bbox"]
        if x1 > x0 and y1 > y0:
            finest = max(finest, image["width"] * 72 / (x1 - x0), image["height"] * 72 / (y1 - y0))
    return dpi if finest <= 0 else max(MIN_IMAGE_DPI, min(dpi, math.ceil(finest)))


def _capped(text: str) -> str:
    encoded = text.encode("utf-8")
    return text if len(encoded) <= MAX_TEXT_BYTES else encoded[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore")
