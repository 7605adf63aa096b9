# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""A PDF page's large scanned images decoded once by MuPDF before the page is rendered in bands.

MuPDF decodes an image again for every band the page is rendered in, each time from its first row down to the
band's last (a JPEG or a fax stream cannot be entered midway, and a band's part of the image is cached under
that band's area). A scanned A0 sheet in colour, 140 Mpx in 17 bands, was decoded about eight times over:
19.5 s of CPU for the page; decoded once, 4.8 s (grey 7.0 and 1.9 s, A1 in colour 6.7 and 3.2 s, A2 2.3 and
1.6 s, a CCITT G4 A0 sheet in black and white 2.8 and 1.3 s, a Flate-compressed A1 sheet in colour 3.3 and
2.4 s). So the stream, in the open document only (the
stored file is never changed), becomes MuPDF's own decode of it: its own filters, so the very samples its
render would decode, and no copy (the decoded buffer is the stream).

For JPEGs (DCTDecode alone, 8-bit, grey or RGB, none of the keys that change what samples mean) that Pillow's
faster decoder did not take (`embedded_jpeg`: 4:2:0 chroma, or over its budget), CCITT fax streams (black
and white scans) and Flate streams (scans converted from PNG or TIFF); the DecodeParms of a fax or Flate stream
only steer its filter (a predictor, the fax's K and BlackIs1), so they go with it. Only images drawn at about their
own resolution or more (drawn smaller, MuPDF decodes at a reduced scale, cheaper than a full decode), of at least
MIN_PIXELS (an A3 scan in colour, 17 Mpx, gained nothing: MuPDF decodes it about once), up to MAX_PAGE_BYTES
decoded a page (one colour image at the 150 Mpx limit), which stay in memory while the page renders; and only
images at least VISIBLE_SHARE on the page: a scan cropped to a part (a CropBox), or a large sheet drawn on a
small page, is decoded by MuPDF only down to what the visible bands need, which costs less than all of it (an
A0 scan cropped to its top eighth: 0.7 s band by band, 2.0 s decoded whole). A clip path cutting an image down
is not seen here (the image's box is its whole placement); such a page costs what a full one does.
"""

from __future__ import annotations

import io

import pymupdf
from PIL import Image
from pymupdf import mupdf

from chalicelib.imaging.documents import PILLOW_ERRORS, PYMUPDF_ERRORS
from chalicelib.imaging.embedded_jpeg import MIN_DRAWN_SCALE, MODES, drawn_images, plain_jpeg

MIN_PIXELS = 20_000_000
MAX_PAGE_BYTES = 480_000_000
VISIBLE_SHARE = 0.5  # of an image's placement that must lie on the page


def decode_once(page: pymupdf.Page, scale: float) -> int:
    """Replace the page's large JPEG and fax streams (rendered at `scale` device pixels a point) by MuPDF's
    decode of them; returns how many were replaced."""
    images, drawn = drawn_images(page, scale, ("DCTDecode", "CCITTFaxDecode", "FlateDecode"))
    visible = _visible_shares(page) if images else {}
    doc, replaced, budget = page.parent, 0, MAX_PAGE_BYTES
    for xref, _, width, height, bpc, _, _, _, kind, *_ in images:
        size = (int(width), int(height))
        shown, kinds = drawn.get(size, (0.0, set()))
        if shown < MIN_DRAWN_SCALE or size[0] * size[1] < MIN_PIXELS or visible.get(size, 0.0) < VISIBLE_SHARE:
            continue
        if kind == "DCTDecode":
            if bpc != 8 or len(kinds) != 1 or not kinds <= MODES.keys():
                continue
            components = next(iter(kinds))
        elif kind == "FlateDecode":  # any depth and colour space: the filter (and its predictor) only unpacks
            if bpc not in (1, 2, 4, 8, 16) or len(kinds) != 1:
                continue
            components = max(1, next(iter(kinds)))  # 0: a stencil mask, one bit a pixel
        elif bpc == 1:  # CCITTFaxDecode: one bit a pixel, an image or a stencil mask
            components = 1
        else:
            continue
        decoded = (size[0] * components * bpc + 7) // 8 * size[1]
        if decoded <= budget and _decoded_by_mupdf(doc, int(xref), kind, size, decoded):
            replaced += 1
            budget -= decoded
    return replaced


def _visible_shares(page: pymupdf.Page) -> dict[tuple[int, int], float]:
    """Per pixel size, the largest share of an image of that size's placement that lies on the page."""
    shares: dict[tuple[int, int], float] = {}
    try:
        infos = page.get_image_info()  # cached on the page: `drawn_images` read it
        area = page.rect
    except PYMUPDF_ERRORS:
        return shares
    for info in infos:
        placed = pymupdf.Rect(info["bbox"])
        if placed.is_empty or placed.is_infinite:
            continue
        size = (int(info["width"]), int(info["height"]))
        shares[size] = max(shares.get(size, 0.0), abs(placed & area) / abs(placed))
    return shares


def _decoded_by_mupdf(doc: pymupdf.Document, xref: int, kind: str, size: tuple[int, int], expected: int) -> bool:
    try:
        if kind == "DCTDecode" and (not plain_jpeg(doc, xref) or _frame_size(doc.xref_stream_raw(xref)) != size):
            return False  # a frame of other dimensions than the dictionary's, even of as many bytes: as before
        if doc.xref_get_key(xref, "Filter") != ("name", f"/{kind}"):
            return False  # a chain of filters: left as it is
        pdf = mupdf.pdf_specifics(doc.this)
        decoded = mupdf.pdf_load_stream_number(pdf, xref)  # through the stream's filter: its samples
        if mupdf.fz_buffer_storage(decoded)[0] != expected:
            return False  # not what the dictionary says: MuPDF's render sorts that out, as before
        mupdf.pdf_update_stream(pdf, mupdf.pdf_new_indirect(pdf, xref, 0), decoded, 0)
        doc.xref_set_key(xref, "Filter", "null")
        doc.xref_set_key(xref, "DecodeParms", "null")  # the filter's (a fax stream's K, Columns, BlackIs1...)
    except PYMUPDF_ERRORS:
        return False
    return True


def _frame_size(jpeg: bytes) -> tuple[int, int] | None:
    """The JPEG's own width and height (its frame header; no pixel is decoded)."""
    try:
        with Image.open(io.BytesIO(jpeg), formats=["JPEG"]) as image:
            return image.size
    except PILLOW_ERRORS:
        return None
