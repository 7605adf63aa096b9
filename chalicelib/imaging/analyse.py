"""What an uploaded file holds before any tile is cut: its kind, its pages and their sizes, a little metadata.

The upload's worker calls this once, then fans out one tiling job per page. Every check that can refuse the
file (size, type, password, damage, page count, pixel count) runs here, so a bad file is refused once, with a
reason, instead of failing in every page job.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import ExifTags, Image

from chalicelib.imaging.documents import (
    PILLOW_ERRORS,
    PYMUPDF_ERRORS,
    check_page_count,
    checked_source,
    open_paged,
    open_raster,
    raster_frames,
    seek_frame,
)
from chalicelib.imaging.errors import corrupt
from chalicelib.imaging.formats import RASTER_KINDS, Kind, sniff
from chalicelib.imaging.limits import Limits

__all__ = ["Analysis", "Limits", "PageGeometry", "analyse"]

DEFAULT_LIMITS = Limits()
MAX_METADATA_CHARS = 200
# PyMuPDF's metadata keys, renamed to the ones the service stores.
_PDF_METADATA = {"title": "title", "author": "author", "subject": "subject", "keywords": "keywords",
                 "creator": "creator", "producer": "producer", "creationDate": "created", "modDate": "modified",
                 "format": "format", "encryption": "encryption"}
_EXIF_METADATA = {ExifTags.Base.ImageDescription: "title", ExifTags.Base.Artist: "author",
                  ExifTags.Base.Software: "producer", ExifTags.Base.DateTime: "created", ExifTags.Base.Make: "make",
                  ExifTags.Base.Model: "model", ExifTags.Base.Copyright: "copyright"}


@dataclass(frozen=True)
class PageGeometry:
    index: int
    # Paged kinds: points (1/72 inch) as laid out. Rasters: pixels (after EXIF rotation), shown 1:1.
    width_pt: float
    height_pt: float


@dataclass(frozen=True)
class Analysis:
    kind: Kind
    page_count: int
    pages: tuple[PageGeometry, ...]
    metadata: dict[str, str]


def analyse(path: str, limits: Limits = DEFAULT_LIMITS) -> Analysis:
    """Raises DocumentRejected for anything wrong with the file, and nothing else for bad input."""
    kind = sniff(path)
    source, opened_as = checked_source(path, kind, limits)
    assert kind is not None  # checked_source refuses what sniffs as nothing
    if opened_as in RASTER_KINDS:
        pages, metadata = _raster(source, opened_as, limits)
    else:
        pages, metadata = _paged(source, opened_as, limits)
    return Analysis(kind=kind, page_count=len(pages), pages=pages, metadata=metadata)


def _paged(path: str, kind: Kind, limits: Limits) -> tuple[tuple[PageGeometry, ...], dict[str, str]]:
    with open_paged(path, kind, limits) as doc:
        try:
            pages = tuple(PageGeometry(index, rect.width, rect.height)
                          for index, rect in ((i, doc[i].rect) for i in range(doc.page_count)))
            raw = doc.metadata or {}
        except PYMUPDF_ERRORS as error:
            raise corrupt(str(error)) from error
    metadata = {name: _short(raw.get(key)) for key, name in _PDF_METADATA.items()}
    return pages, {name: value for name, value in metadata.items() if value}


def _raster(path: str, kind: Kind, limits: Limits) -> tuple[tuple[PageGeometry, ...], dict[str, str]]:
    with open_raster(path, limits) as image:
        count = raster_frames(image, kind)
        check_page_count(count, limits)
        metadata = {"format": kind.value.upper(), "mode": image.mode}
        try:
            exif = image.getexif()
            metadata |= {name: _short(exif.get(tag)) for tag, name in _EXIF_METADATA.items()}
        except PILLOW_ERRORS:
            pass  # damaged EXIF is no reason to refuse the picture
        pages = []
        for index in range(count):
            seek_frame(image, index, limits)
            pages.append(PageGeometry(index, *map(float, _shown_size(image))))
    return tuple(pages), {name: value for name, value in metadata.items() if value}


def _shown_size(image: Image.Image) -> tuple[int, int]:
    """The frame's size as shown: EXIF orientations 5 to 8 turn the picture a quarter."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except PILLOW_ERRORS:
        orientation = 1
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _short(value: object) -> str:
    if not isinstance(value, str | bytes):
        return ""
    text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
    text = " ".join(text.replace("\x00", "").split())
    return text[:MAX_METADATA_CHARS]

