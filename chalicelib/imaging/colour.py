# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""Where a vector page paints in colour, found from its content before any pixel is rendered.

Most pages people upload (text, and drawings in black and greys) have no colour, and a page without any is
rendered by MuPDF in grey and its tiles encoded as one-channel JPEG: about half the encoding time and a cheaper
render. A page with a little colour is rendered in grey except for the tiles these boxes reach (see `mixed`);
on a page mostly in colour, rendered in RGB, a tile that no coloured thing reaches is still encoded in grey
(its pixels are neutral: MuPDF renders a grey as equal R, G and B).

The boxes come from what PyMuPDF reports about the page's display list, all cheap next to a render (a few ms
for an A0 sheet): each stroked or filled path with its colour (converted to RGB by PyMuPDF, so spot and CMYK
inks count as the colour they show), each text span with its colour, each image whose colourspace has more than
one component or is indexed (a greyscale-looking RGB photo counts as colour: the check never looks at pixels).
Anything else that paints (shadings, stencil masks, annotations and form fields) is taken as colour. A page
that uses patterns is not inspected at all (`uses_patterns`): the logs place a pattern's cells in pattern
space, so where it paints is unknown, and the whole page is taken as drawn and in colour. Stroked paths are boxed
segment by segment (padded for their width and joins), so a thin coloured dimension chain across a sheet marks
a strip, not the sheet; a filled path is boxed whole.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import pymupdf

from chalicelib.imaging.content import PAD_PIXELS, Box, padded

NEUTRAL_KINDS = frozenset({"fill-path", "stroke-path", "fill-text", "stroke-text", "ignore-text", "fill-image"})
MAX_FORMS_LOOKED_AT = 500
MITER_WIDTHS = 5.0  # a miter join reaches at most limit / 2 = 5 line widths past its corner (PDF's default 10)


def is_grey(colour: Sequence[float] | None) -> bool:
    """True for no colour (nothing painted) or a neutral one: one component, equal RGB, or CMYK with C = M = Y."""
    if not colour:
        return True
    if len(colour) == 1:
        return True
    if len(colour) == 3:
        return colour[0] == colour[1] == colour[2]
    if len(colour) == 4:
        return colour[0] == colour[1] == colour[2]
    return False


def colour_boxes(page: pymupdf.Page, log: list[tuple[str, tuple[float, ...]]], to_pixels: pymupdf.Matrix,
                 scale: float, width: int, height: int, glyph_pad: float,
                 text: pymupdf.TextPage, shown_to_pixels: pymupdf.Matrix) -> list[Box]:
    """Boxes, in full-size pixels, that together cover every coloured thing the page paints (padded for
    anti-aliasing): empty for a page with no colour. `log` is the page's `get_bboxlog()`: what kinds of thing
    it paints, so only the inspections it needs run (each interprets the page again). `text` is the page's
    text as its display list holds it, in the page's shown (rotated) space, which `shown_to_pixels` maps."""
    found: list[Box] = []
    kinds = {kind for kind, _ in log}

    def add(rect: Iterable[float], pad: float, matrix: pymupdf.Matrix = to_pixels) -> None:
        x0, y0, x1, y1 = rect
        if all(map(math.isfinite, (x0, y0, x1, y1))):
            box = pymupdf.Rect(x0, y0, x1, y1) * matrix
            grown = padded((box.x0, box.y0, box.x1, box.y1), pad, width, height)
        else:
            grown = (0.0, 0.0, float(width), float(height))
        if grown is not None:
            found.append(grown)

    if kinds & {"fill-path", "stroke-path"}:
        for path in page.get_cdrawings():
            _path_boxes(path, scale, add)
    if kinds & {"fill-text", "stroke-text"}:
        # From the text page the search text is read from, not `get_texttrace()` (which interprets the page
        # again: 2.9 ms of a letter page, against 0.8 ms for this). Its colour is the sRGB the span shows (spot
        # and CMYK inks as the colour they show). Invisible text (an OCR layer) is in it too: at worst a band
        # rendered in RGB for nothing.
        for span in _spans(text):
            if not _grey_srgb(span["color"]):
                add(span["bbox"], PAD_PIXELS + glyph_pad, shown_to_pixels)
    if "fill-image" in kinds:
        for image in page.get_image_info():
            # An indexed image has one component, its palette's index, and may show any colour.
            if image.get("colorspace", 3) != 1 or "Indexed" in str(image.get("cs-name", "")):
                add(image["bbox"], PAD_PIXELS)
    for kind, bbox in log:
        if kind not in NEUTRAL_KINDS:  # shadings, stencil masks: painted in some colour
            add(bbox, PAD_PIXELS)
    for annot in page.annots():
        add(annot.rect, PAD_PIXELS)
    for widget in page.widgets():
        add(widget.rect, PAD_PIXELS)
    return found


def _spans(text: pymupdf.TextPage) -> Iterable[dict[str, Any]]:
    for block in text.extractDICT()["blocks"]:
        for line in block.get("lines", ()):
            yield from line["spans"]


def _grey_srgb(colour: int) -> bool:
    return (colour >> 16) & 0xFF == (colour >> 8) & 0xFF == colour & 0xFF


def _path_boxes(path: dict[str, Any], scale: float, add: Any) -> None:
    kind = path.get("type", "")
    if "f" in kind and not is_grey(path.get("fill")):
        add(path["rect"], PAD_PIXELS)
    if "s" in kind and not is_grey(path.get("color")):
        reach = PAD_PIXELS + MITER_WIDTHS * max(float(path.get("width") or 1.0), 1.0 / scale) * scale
        for item in path.get("items", ()):
            points = _points(item)
            if points:
                xs, ys = [p[0] for p in points], [p[1] for p in points]
                add((min(xs), min(ys), max(xs), max(ys)), reach)


def _points(item: Sequence[Any]) -> list[tuple[float, float]]:
    """The corner or control points of one path item: a line, a curve (its hull holds it), a rect or a quad."""
    points: list[tuple[float, float]] = []
    for part in item[1:]:
        if isinstance(part, pymupdf.Quad):
            points.extend((p.x, p.y) for p in (part.ul, part.ur, part.ll, part.lr))
        elif isinstance(part, pymupdf.Rect):
            points.extend(((part.x0, part.y0), (part.x1, part.y1)))
        elif isinstance(part, pymupdf.Point):
            points.append((part.x, part.y))
        elif isinstance(part, tuple) and len(part) == 2:
            points.append((float(part[0]), float(part[1])))
        elif isinstance(part, tuple) and len(part) == 4 and item[0] == "re":
            points.extend(((float(part[0]), float(part[1])), (float(part[2]), float(part[3]))))
        elif isinstance(part, tuple) and len(part) == 4 and all(isinstance(p, tuple) for p in part):
            points.extend((float(p[0]), float(p[1])) for p in part)
    return points


def uses_patterns(page: pymupdf.Page) -> bool:
    """True when the page, or a form it draws, names a pattern among its resources. MuPDF's logs report a
    pattern fill's cell where the cell is drawn (pattern space), not where the fill is painted, so neither
    what is drawn nor where colour is can be told from them: such a page is looked at pixel by pixel, in RGB."""
    doc = page.parent
    if not doc.is_pdf:  # XPS, EPUB, SVG...: no PDF objects to read (MuPDF crashes on asking)
        return False
    pending, seen = [page.xref], set[int]()
    while pending:
        xref = pending.pop()
        if xref in seen:
            continue
        if len(seen) >= MAX_FORMS_LOOKED_AT:
            return True  # too many forms to tell: assume the worst
        seen.add(xref)
        owner = _resources_owner(doc, xref) if xref == page.xref else xref
        if owner is None:
            continue
        if doc.xref_get_key(owner, "Resources/Pattern")[0] != "null":
            return True
        kind, forms = doc.xref_get_key(owner, "Resources/XObject")
        if kind == "dict":
            pending.extend(int(ref) for ref in re.findall(r"(\d+) 0 R", forms))
    return False


def _resources_owner(doc: pymupdf.Document, xref: int) -> int | None:
    """The page itself, or the nearest /Pages ancestor it inherits /Resources from."""
    for _ in range(32):
        if doc.xref_get_key(xref, "Resources")[0] != "null":
            return xref
        kind, parent = doc.xref_get_key(xref, "Parent")
        if kind != "xref":
            return None
        xref = int(parent.split()[0])
    return None
