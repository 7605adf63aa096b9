# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""Opening an uploaded file with PyMuPDF or Pillow, turning every way it can fail into a `DocumentRejected`.

Both `analyse` and `tile_page` open files only through here, so the two agree on what is acceptable: the size
checks, the password rule (an empty user password is no password), the page limit and the decompression-bomb
guard, which reads the header's pixel count before a single pixel is decoded.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import pymupdf
from PIL import Image

from chalicelib.imaging import office
from chalicelib.imaging.errors import (
    EMPTY,
    FILE_TOO_LARGE,
    IMAGE_TOO_LARGE,
    NO_PAGES,
    PASSWORD_PROTECTED,
    TOO_MANY_PAGES,
    UNSUPPORTED_TYPE,
    DocumentRejected,
    corrupt,
)
from chalicelib.imaging.formats import OFFICE_KINDS, PAGED_KINDS, RASTER_KINDS, Kind
from chalicelib.imaging.limits import Limits

# Pillow's own guard uses a process-wide limit (and only warns below twice that); ours is per call and runs
# right after the header is parsed, so Pillow's is switched off rather than left to disagree with it.
Image.MAX_IMAGE_PIXELS = None
warnings.simplefilter("ignore", Image.DecompressionBombWarning)

# What PyMuPDF raises for a broken file (FileDataError is a RuntimeError; MuPDF's own errors are FzErrorBase).
PYMUPDF_ERRORS: tuple[type[Exception], ...] = (RuntimeError, ValueError, pymupdf.mupdf.FzErrorBase)
# What Pillow's decoders raise for a broken file: plugins use all of these for bad headers and truncated data.
PILLOW_ERRORS: tuple[type[Exception], ...] = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
                                              IndexError, KeyError, TypeError)


def checked_source(path: str, kind: Kind | None, limits: Limits) -> tuple[str, Kind]:
    """The file to open and how: size limits first (an empty file sniffs as nothing, and "empty" is the better
    reason), then the kind (None: sniffed as nothing we show), then Office documents become LibreOffice's PDF."""
    size = os.path.getsize(path)
    if size == 0:
        raise DocumentRejected(EMPTY, "The file is empty (0 bytes); the upload may have failed, so try again.")
    if size > limits.max_file_bytes:
        raise DocumentRejected(FILE_TOO_LARGE, f"The file is larger than this workspace accepts "
                                               f"({limits.max_file_bytes // 1024**2} MB).")
    if kind is None or (kind not in PAGED_KINDS and kind not in RASTER_KINDS and kind not in OFFICE_KINDS):
        raise DocumentRejected(UNSUPPORTED_TYPE, "This type of file cannot be shown here; upload a PDF, an image "
                                                 "(JPEG, PNG, TIFF, WebP, GIF), SVG, XPS, EPUB or CBZ.")
    if kind in OFFICE_KINDS:
        return office.as_pdf(path, kind), Kind.PDF
    return path, kind


def check_page_count(count: int, limits: Limits) -> None:
    if count < 1:
        raise DocumentRejected(NO_PAGES, "The file has no pages to show.")
    if count > limits.max_pages:
        raise DocumentRejected(TOO_MANY_PAGES, f"The file has {count} pages; at most {limits.max_pages} "
                                               f"can be shown, so split it and upload the parts.")


@contextmanager
def open_paged(path: str, kind: Kind, limits: Limits) -> Iterator[pymupdf.Document]:
    """A PyMuPDF document opened as `kind` (by content: the file's name may say otherwise), checked and unlocked."""
    doc = opened_paged(path, kind, limits)
    try:
        yield doc
    finally:
        doc.close()


def opened_paged(path: str, kind: Kind, limits: Limits) -> pymupdf.Document:
    """`open_paged`'s document, for a caller that closes it itself."""
    try:
        doc = pymupdf.open(path, filetype=kind.value)
    except PYMUPDF_ERRORS as error:
        raise corrupt(str(error)) from error
    try:
        # A PDF encrypted with only an owner password opens with an empty user password, as in any viewer.
        if doc.needs_pass and not doc.authenticate(""):
            raise DocumentRejected(PASSWORD_PROTECTED, "The file is protected by a password; remove the password "
                                                       "(or save an unprotected copy) and upload it again.")
        try:
            count = doc.page_count  # EPUB lays the whole book out here
        except PYMUPDF_ERRORS as error:
            raise corrupt(str(error)) from error
        check_page_count(count, limits)
    except BaseException:
        doc.close()
        raise
    return doc


@contextmanager
def open_raster(path: str, limits: Limits) -> Iterator[Image.Image]:
    """A Pillow image with only its header read; every frame's pixel count is checked before decoding."""
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as error:  # only if someone turned Pillow's guard back on
        raise too_large(0, limits) from error
    except PILLOW_ERRORS as error:
        raise corrupt(str(error)) from error
    with image:
        check_pixels(image, limits)
        yield image


def check_pixels(image: Image.Image, limits: Limits) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise corrupt(f"image size {width} x {height}")
    if width * height > pixel_limit(image, limits):
        raise too_large(width * height, limits, pixel_limit(image, limits))


def pixel_limit(image: Image.Image, limits: Limits) -> int:
    """The most pixels decoded for this image: a WebP costs Pillow about 15 bytes a pixel to decode (the
    decoder's canvas, the frame it hands over, then the image), against 4 for the other formats, so it has a
    limit of its own, which keeps it within the tiling function's memory (tests/unit/test_function_memory.py)."""
    if image.format == "WEBP":
        return min(limits.max_image_pixels, limits.max_webp_pixels)
    return limits.max_image_pixels


def check_embedded_images(page: pymupdf.Page, limits: Limits) -> None:
    """MuPDF decodes a page's images itself when it renders, and a small file can hold an image of billions of
    pixels (a compressed stream of zeros). Their sizes come from the image dictionaries, read before any is
    decoded."""
    try:
        images = page.get_images(full=True)
    except PYMUPDF_ERRORS as error:
        raise corrupt(str(error)) from error
    for entry in images:
        pixels = int(entry[2]) * int(entry[3])
        if pixels > limits.max_image_pixels:
            raise too_large(pixels, limits)


def too_large(pixels: int, limits: Limits, limit: int | None = None) -> DocumentRejected:
    claimed = f" ({pixels / 1e6:,.0f} megapixels)" if pixels else ""
    limit = limits.max_image_pixels if limit is None else limit
    kind = " for a WebP image" if limit < limits.max_image_pixels else ""
    return DocumentRejected(IMAGE_TOO_LARGE, f"The image is too large to show{claimed}; the limit{kind} is "
                                             f"{limit / 1e6:,.0f} megapixels, so scale it down and upload it "
                                             f"again.")


# Counting a TIFF's frames reads each frame's header; a file cut off among them fails with a TypeError ("Missing
# dimensions") besides Pillow's usual errors.
FRAME_COUNT_ERRORS: tuple[type[Exception], ...] = (*PILLOW_ERRORS, TypeError)


def raster_frames(image: Image.Image, kind: Kind) -> int:
    """Pages of a raster: every frame of a TIFF; the first frame only of GIF, WebP and APNG animations."""
    if kind is not Kind.TIFF:
        return 1
    try:
        return int(getattr(image, "n_frames", 1))
    except FRAME_COUNT_ERRORS as error:
        raise corrupt(str(error)) from error


def seek_frame(image: Image.Image, index: int, limits: Limits) -> None:
    try:
        image.seek(index)
    except PILLOW_ERRORS as error:
        raise corrupt(str(error)) from error
    check_pixels(image, limits)
