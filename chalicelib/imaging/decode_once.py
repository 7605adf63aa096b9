# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""A PDF page's large scanned images decoded once by MuPDF before the page is rendered in bands.

MuPDF decodes an image again for every band the page is rendered in, each time from its first row down to the
band's last (a JPEG or a fax stream cannot be entered midway, and a band's part of the image is cached under
that band's area). A scanned A0 sheet in colour, 140 Mpx in 17 bands, was decoded about eight times over:
19.5 s of CPU for the page; decoded once, 4.8 s (grey 7.0 and 1.9 s, A1 in colour 6.7 and 3.2 s, A2 2.3 and
1.6 s, a CCITT G4 A0 sheet in black and white 2.8 and 1.3 s). So the stream, in the open document only (the
stored file is never changed), becomes MuPDF's own decode of it: its own filters, so the very samples its
render would decode, and no copy (the decoded buffer is the stream).

For JPEGs (DCTDecode alone, 8-bit, grey or RGB, none of the keys that change what samples mean) that Pillow's
faster decoder did not take (`embedded_jpeg`: 4:2:0 chroma, or over its budget), and CCITT fax streams (black
and white scans; their DecodeParms only steer the filter, so they go with it). Only images drawn at about their
own resolution or more (drawn smaller, MuPDF decodes at a reduced scale, cheaper than a full decode), of at least
MIN_PIXELS (an A3 scan in colour, 17 Mpx, gained nothing: MuPDF decodes it about once), up to MAX_PAGE_BYTES
decoded a page (one colour image at the 150 Mpx limit), which stay in memory while the page renders.
"""

from __future__ import annotations

import pymupdf
from pymupdf import mupdf

from chalicelib.imaging.documents import PYMUPDF_ERRORS
from chalicelib.imaging.embedded_jpeg import MIN_DRAWN_SCALE, MODES, drawn_images, plain_jpeg

MIN_PIXELS = 20_000_000
MAX_PAGE_BYTES = 480_000_000


def decode_once(page: pymupdf.Page, scale: float) -> int:
    """Replace the page's large JPEG and fax streams (rendered at `scale` device pixels a point) by MuPDF's
    decode of them; returns how many were replaced."""
    images, drawn = drawn_images(page, scale, ("DCTDecode", "CCITTFaxDecode"))
    doc, replaced, budget = page.parent, 0, MAX_PAGE_BYTES
    for xref, _, width, height, bpc, _, _, _, kind, *_ in images:
        shown, kinds = drawn.get((int(width), int(height)), (0.0, set()))
        if shown < MIN_DRAWN_SCALE or int(width) * int(height) < MIN_PIXELS:
            continue
        if kind == "DCTDecode":
            if bpc != 8 or len(kinds) != 1 or not kinds <= MODES.keys():
                continue
            components = next(iter(kinds))
        elif bpc == 1:  # CCITTFaxDecode: one bit a pixel, an image or a stencil mask
            components = 1
        else:
            continue
        decoded = (int(width) * components * bpc + 7) // 8 * int(height)
        if decoded <= budget and _decoded_by_mupdf(doc, int(xref), kind, decoded):
            replaced += 1
            budget -= decoded
    return replaced


def _decoded_by_mupdf(doc: pymupdf.Document, xref: int, kind: str, expected: int) -> bool:
    try:
        if kind == "DCTDecode" and not plain_jpeg(doc, xref):
            return False
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
