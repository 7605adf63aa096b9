"""Inputs for the document tests, made here with PyMuPDF and Pillow: ordinary ones and hostile ones, each
with what the pipeline must make of it: (bytes, declared content type, final status, failure code)."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from typing import Any

Sample = tuple[bytes, str, str, str | None]


def letter_pdf(pages: int = 1, text: str = "Kalexo", encrypt: str | None = None) -> bytes:
    import pymupdf

    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page(width=612, height=792)
        page.insert_text((72, 100), f"{text} - sheet {n + 1}", fontsize=18)
        page.draw_rect(pymupdf.Rect(72, 150, 540, 500), color=(0.1, 0.2, 0.6), width=2)
        for x in range(90, 540, 30):
            page.draw_line((x, 160), (x + 20, 490), color=(0.5, 0.1, 0.1))
    if encrypt is None:
        return bytes(doc.tobytes())
    # An owner password only opens with an empty user password; a user password does not.
    owner, user = ("owner-secret", "") if encrypt == "owner" else ("owner-secret", "user-secret")
    return bytes(doc.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw=owner, user_pw=user))  # type: ignore[attr-defined]


def pdf_failing_at_page(pages: int, failing: int, text: str = "Kalexo") -> bytes:
    """A PDF that passes analysis and fails while page `failing` (from 0) is tiled: that page draws a 1-bit image
    of 156 megapixels (13,000 x 12,000), over the 150 MP limit, stored as a few kilobytes of Flate."""
    import pymupdf

    doc = pymupdf.open("pdf", letter_pdf(pages, text))
    draw_image(doc, doc[failing], "/Width 13000/Height 12000/BitsPerComponent 1/ColorSpace/DeviceGray",
               bytes(13000 // 8 * 12000), b"400 0 0 300 100 450 cm")
    return bytes(doc.tobytes(garbage=0, deflate=False))


def pdf_damaged_at_page(pages: int, damaged: int, text: str = "Kalexo") -> bytes:
    """A PDF whose page `damaged` (from 0) has a content stream that claims Flate compression and is not: MuPDF
    opens the file and every page, and draws nothing of that one ("zlib error: incorrect header check")."""
    import pymupdf

    doc = pymupdf.open("pdf", letter_pdf(pages, text))
    xref = doc[damaged].get_contents()[0]
    doc.update_stream(xref, b"this is not Flate data", compress=False)
    doc.xref_set_key(xref, "Filter", "/FlateDecode")
    return bytes(doc.tobytes(garbage=0, deflate=False))


def pdf_missing_resource(name: bytes, text: str = "Kalexo") -> bytes:
    """Two letter pages, the second also drawing an image XObject `/<name>` (PDF name syntax, `#E9` a byte) that its
    resources lack: MuPDF draws the rest and warns "cannot find XObject resource"."""
    import pymupdf

    doc = pymupdf.open("pdf", letter_pdf(2, text))
    xref = doc[1].get_contents()[0]
    doc.update_stream(xref, doc.xref_stream(xref) + b"\nq 100 0 0 100 200 200 cm /" + name + b" Do Q\n")
    return bytes(doc.tobytes())


def draw_image(doc: Any, page: Any, image: str, samples: bytes, placement: bytes) -> None:
    """Adds an image XObject (`image`: its dictionary's entries after /Subtype, `samples` its raw data, stored with
    Flate) to a PyMuPDF page's resources, drawn where the `cm` operator `placement` puts the unit square."""
    page.wrap_contents()
    xref = doc.get_new_xref()
    doc.update_object(xref, f"<</Type/XObject/Subtype/Image{image}>>")
    doc.update_stream(xref, samples, compress=True)
    kind, resources = doc.xref_get_key(page.xref, "Resources")
    doc.xref_set_key(int(resources.split()[0]) if kind == "xref" else page.xref, "XObject", f"<</Im0 {xref} 0 R>>")
    draw = doc.get_new_xref()
    doc.update_object(draw, "<<>>")
    doc.update_stream(draw, b"q " + placement + b" /Im0 Do Q")
    contents = " ".join(f"{ref} 0 R" for ref in page.get_contents())
    doc.xref_set_key(page.xref, "Contents", f"[{contents} {draw} 0 R]")


def _png(width: int, height: int, mode: str = "RGB") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, (width, height), 1 if mode == "1" else (200, 120, 40)).save(out, "PNG")
    return out.getvalue()


def _tiff_two_pages() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    first, second = Image.new("RGB", (600, 400), (10, 80, 200)), Image.new("RGB", (300, 500), (240, 240, 0))
    first.save(out, "TIFF", save_all=True, append_images=[second])
    return out.getvalue()


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                                          'package/2006/content-types"/>')
        z.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


SVG = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600">'
       b'<rect x="50" y="50" width="700" height="500" fill="none" stroke="black"/></svg>')

SAMPLES: dict[str, Callable[[], Sample]] = {
    "truncated_pdf": lambda: (letter_pdf(3)[:900], "application/pdf", "either", None),
    "random_garbage": lambda: (os.urandom(4000), "application/pdf", "failed", "unsupported_type"),
    "png_labelled_as_pdf": lambda: (_png(700, 500), "application/pdf", "ready", None),
    "decompression_bomb": lambda: (_png(30000, 30000, "1"), "image/png", "failed", "image_too_large"),
    "password_protected_pdf": lambda: (letter_pdf(1, encrypt="user"), "application/pdf", "failed",
                                       "password_protected"),
    "empty_password_pdf": lambda: (letter_pdf(1, encrypt="owner"), "application/pdf", "ready", None),
    "too_many_pages": lambda: (letter_pdf(51), "application/pdf", "failed", "too_many_pages"),
    "office_file_that_is_not_one": lambda: (
        _docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "failed", "corrupt"),
    "svg_drawing": lambda: (SVG, "image/svg+xml", "ready", None),
    "multipage_tiff": lambda: (_tiff_two_pages(), "image/tiff", "ready", None),
}
