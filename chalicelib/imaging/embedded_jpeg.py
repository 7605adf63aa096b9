# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""A PDF page's JPEG images decoded by Pillow before MuPDF renders the page.

MuPDF decodes JPEG with its own libjpeg (IJG's); Pillow's wheels bring libjpeg-turbo, which decodes the same
stream in about half the time, copy included. A scanned sheet (the page is the image, rendered at its own
resolution) spends most of its render there: a scanned letter page tiles in about three quarters of the time
once its image is handed to MuPDF decoded. So each JPEG the page draws at its full resolution or more is decoded
by Pillow, and its stream in the open document (in memory only; the stored file is never changed) replaced by
those pixels, uncompressed, up to MAX_PAGE_BYTES a page (they stay decoded while the page renders).

Only where both decoders give the same pixels, to a level: a plain DCTDecode stream of 8-bit grey, or of three
components sampled alike (4:4:4: the libraries upsample subsampled chroma differently, 25 dB apart on sharp
colour edges, so a usual 4:2:0 photograph is left to MuPDF), whose size is what the image dictionary says, with
no Decode array, no DecodeParms (MuPDF's ColorTransform, which overrides the JPEG's markers) and no colour-key
Mask (it keys on exact values, which rounding moves across). Anything else, a stream Pillow cannot read
included, is left to MuPDF, as before. So is an image drawn smaller than its pixels: MuPDF decodes it at a
reduced DCT scale, cheaper than any full decode.

A large JPEG left to MuPDF is then decoded once by MuPDF itself (`decode_once`).
"""

from __future__ import annotations

import io
import math
from typing import Any

import pymupdf
from PIL import Image

from chalicelib.imaging.documents import PILLOW_ERRORS, PYMUPDF_ERRORS
from chalicelib.imaging.encode import raw_bytes

MIN_DRAWN_SCALE = 0.95  # device pixels per image pixel, below which MuPDF's reduced-scale decode wins
MAX_PAGE_BYTES = 120_000_000  # decoded streams a page keeps beside MuPDF's own decoded copies (40 Mpx of RGB)
MODES = {1: "L", 3: "RGB"}  # components -> the Pillow mode whose bytes MuPDF reads as they are
Drawn = dict[tuple[int, int], tuple[float, set[int]]]  # pixel size -> (device pixels per image pixel, components)


def decode_jpegs(page: pymupdf.Page, scale: float) -> int:
    """Replace the page's eligible JPEG streams (rendered at `scale` device pixels a point) by their pixels;
    returns how many were replaced."""
    images, drawn = drawn_images(page, scale, ("DCTDecode",))
    replaced, budget = 0, MAX_PAGE_BYTES  # the streams stay decoded while the page renders: bounded a page
    for xref, _, width, height, bpc, *_ in images:
        size = (int(width), int(height))
        shown, kinds = drawn.get(size, (0.0, set()))
        if shown < MIN_DRAWN_SCALE or bpc != 8 or len(kinds) != 1 or not kinds <= MODES.keys():
            continue
        count = next(iter(kinds))
        if size[0] * size[1] * count <= budget and _replace(page.parent, int(xref), size, count):
            replaced += 1
            budget -= size[0] * size[1] * count
    return replaced


def drawn_images(page: pymupdf.Page, scale: float, filters: tuple[str, ...]) -> tuple[list[Any], Drawn]:
    """The page's images whose filter is one of `filters` (get_images' entries), and per pixel size, the fewest
    device pixels an image of that size gets per image pixel where it is drawn, and its colour components."""
    try:
        images = [entry for entry in page.get_images(full=True) if entry[8] in filters]
        # Where each image is drawn. Not get_image_info(xrefs=True): that decodes every image to hash it. The
        # plain call is cached on the page (the colour inspection reads it too); its entries are matched to
        # the streams by pixel size, and a size drawn small anywhere counts as small everywhere.
        infos = page.get_image_info() if images else []
    except PYMUPDF_ERRORS:
        return [], {}  # the render that follows reports a broken page
    drawn: Drawn = {}
    for info in infos:
        size, (x0, y0, x1, y1) = (int(info["width"]), int(info["height"])), info["bbox"]
        if size[0] <= 0 or size[1] <= 0 or not all(map(math.isfinite, (x0, y0, x1, y1))):
            continue
        # Device pixels per image pixel, from the areas (a rotated image has its sides swapped in the bbox).
        scaled = math.sqrt(max(0.0, (x1 - x0) * (y1 - y0)) * scale * scale / (size[0] * size[1]))
        shown, kinds = drawn.get(size, (scaled, set()))
        drawn[size] = (min(shown, scaled), kinds | {int(info.get("colorspace") or 0)})
    return images, drawn


def plain_jpeg(doc: pymupdf.Document, xref: int) -> bool:
    """DCTDecode alone, with none of the keys that make its samples mean something else."""
    if doc.xref_get_key(xref, "Filter") != ("name", "/DCTDecode"):
        return False  # a chain of filters, or not a JPEG
    # A colour-key Mask keys on exact values, which the two decoders' rounding moves across.
    return all(doc.xref_get_key(xref, key)[0] == "null" for key in ("Decode", "DecodeParms", "ImageMask", "Mask"))


def _replace(doc: pymupdf.Document, xref: int, size: tuple[int, int], components: int) -> bool:
    try:
        if not plain_jpeg(doc, xref):
            return False
        stream = doc.xref_stream_raw(xref)
    except PYMUPDF_ERRORS:
        return False
    pixels = _decoded(stream, size, components)
    if pixels is None:
        return False
    try:
        doc.update_stream(xref, pixels, compress=0)
        doc.xref_set_key(xref, "Filter", "null")
    except PYMUPDF_ERRORS:
        return False
    return True


def _decoded(stream: bytes, size: tuple[int, int], components: int) -> bytes | None:
    """The JPEG's pixels as MuPDF would read them (`components` a pixel, as its colour space has), or None when
    Pillow's would differ or it cannot tell."""
    try:
        with Image.open(io.BytesIO(stream), formats=["JPEG"]) as image:
            if image.size != size or image.mode != MODES[components]:
                return None
            # (component id, horizontal and vertical sampling, table): a colour JPEG with subsampled chroma is
            # upsampled differently by the two libraries (25 dB apart on sharp colour edges); grey and 4:4:4
            # decode to within a level.
            if len({tuple(entry[1:3]) for entry in getattr(image, "layer", [])}) != 1:
                return None
            image.load()
            return raw_bytes(image)
    except PILLOW_ERRORS:
        return None
