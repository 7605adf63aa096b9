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

A large JPEG left to MuPDF is decoded by MuPDF once, up front, the same way (its own filters, so the very
pixels its render decodes). Else MuPDF decodes it again for every band the page is rendered in, each time
from its first row down to the band's last (a JPEG cannot be entered midway, and a band's part of the image is
cached under that band's area): a scanned A0 sheet in colour, 140 Mpx in 17 bands, was decoded about eight
times over: 19.5 s of CPU for the page, 4.8 s decoded once (A1 6.7 s and 3.2 s, A2 2.3 s and 1.6 s, the same
tiles byte for byte). From MUPDF_MIN_BYTES decoded (an A3 scan in colour, 52 MB, gained nothing: MuPDF decodes
it about once), up to MAX_MUPDF_PAGE_BYTES a page (one colour image at the 150 Mpx limit).
"""

from __future__ import annotations

import io
import math

import pymupdf
from PIL import Image
from pymupdf import mupdf

from chalicelib.imaging.documents import PILLOW_ERRORS, PYMUPDF_ERRORS
from chalicelib.imaging.encode import raw_bytes

MIN_DRAWN_SCALE = 0.95  # device pixels per image pixel, below which MuPDF's reduced-scale decode wins
MAX_PAGE_BYTES = 120_000_000  # decoded streams a page keeps beside MuPDF's own decoded copies (40 Mpx of RGB)
MODES = {1: "L", 3: "RGB"}  # components -> the Pillow mode whose bytes MuPDF reads as they are
MUPDF_MIN_BYTES = 64_000_000  # decoded bytes from which a JPEG Pillow does not decode is decoded once by MuPDF
MAX_MUPDF_PAGE_BYTES = 480_000_000


def decode_jpegs(page: pymupdf.Page, scale: float) -> int:
    """Replace the page's eligible JPEG streams (rendered at `scale` device pixels a point) by their pixels;
    returns how many were replaced."""
    try:
        jpegs = [entry for entry in page.get_images(full=True) if entry[8] == "DCTDecode"]
        # Where each image is drawn. Not get_image_info(xrefs=True): that decodes every image to hash it. The
        # plain call is cached on the page (the colour inspection reads it too); its entries are matched to
        # the streams by pixel size, and a size drawn small anywhere counts as small everywhere.
        infos = page.get_image_info() if jpegs else []
    except PYMUPDF_ERRORS:
        return 0  # the render that follows reports a broken page
    shown: dict[tuple[int, int], float] = {}
    components: dict[tuple[int, int], set[int]] = {}
    for info in infos:
        size, (x0, y0, x1, y1) = (int(info["width"]), int(info["height"])), info["bbox"]
        if size[0] <= 0 or size[1] <= 0 or not all(map(math.isfinite, (x0, y0, x1, y1))):
            continue
        # Device pixels per image pixel, from the areas (a rotated image has its sides swapped in the bbox).
        scaled = math.sqrt(max(0.0, (x1 - x0) * (y1 - y0)) * scale * scale / (size[0] * size[1]))
        shown[size] = min(shown.get(size, scaled), scaled)
        components.setdefault(size, set()).add(int(info.get("colorspace") or 0))
    # The streams stay decoded while the page renders: bounded a page.
    replaced, budget, mupdf_budget = 0, MAX_PAGE_BYTES, MAX_MUPDF_PAGE_BYTES
    for xref, _, width, height, bpc, *_ in jpegs:
        size = (int(width), int(height))
        kinds = components.get(size, set())
        if shown.get(size, 0.0) < MIN_DRAWN_SCALE or bpc != 8 or len(kinds) != 1 or not kinds <= MODES.keys():
            continue
        count = next(iter(kinds))
        decoded = size[0] * size[1] * count
        if decoded <= budget and _replace(page.parent, int(xref), size, count):
            replaced += 1
            budget -= decoded
        elif MUPDF_MIN_BYTES <= decoded <= mupdf_budget and _decoded_by_mupdf(page.parent, int(xref), decoded):
            replaced += 1
            mupdf_budget -= decoded
    return replaced


def _decoded_by_mupdf(doc: pymupdf.Document, xref: int, expected: int) -> bool:
    """Replace the JPEG stream by MuPDF's own decode of it (the pixels its render would decode, band after
    band), without copies: the decoded buffer becomes the stream."""
    try:
        if not _plain_jpeg(doc, xref):
            return False
        pdf = mupdf.pdf_specifics(doc.this)
        decoded = mupdf.pdf_load_stream_number(pdf, xref)  # through the stream's filters: DCTDecode's pixels
        if mupdf.fz_buffer_storage(decoded)[0] != expected:
            return False  # not what the dictionary says: MuPDF's render sorts that out
        mupdf.pdf_update_stream(pdf, mupdf.pdf_new_indirect(pdf, xref, 0), decoded, 0)
        doc.xref_set_key(xref, "Filter", "null")
    except PYMUPDF_ERRORS:
        return False
    return True


def _plain_jpeg(doc: pymupdf.Document, xref: int) -> bool:
    """DCTDecode alone, with none of the keys that make its samples mean something else."""
    if doc.xref_get_key(xref, "Filter") != ("name", "/DCTDecode"):
        return False  # a chain of filters, or not a JPEG
    # A colour-key Mask keys on exact values, which the two decoders' rounding moves across.
    return all(doc.xref_get_key(xref, key)[0] == "null" for key in ("Decode", "DecodeParms", "ImageMask", "Mask"))


def _replace(doc: pymupdf.Document, xref: int, size: tuple[int, int], components: int) -> bool:
    try:
        if not _plain_jpeg(doc, xref):
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
