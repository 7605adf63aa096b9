"""What a file is, decided by its content (never its name: uploads arrive with whatever name the browser had).

Pure Python on purpose: the upload ingest sniffs files in the API's functions, which must not load PyMuPDF or
Pillow. Magic bytes first; ZIP containers (EPUB, XPS, Office, comic books) by the entries they hold; SVG by
its first element after the prologue (BOM, XML declaration, comments, doctype).
"""

from __future__ import annotations

import re
import zipfile
from enum import StrEnum


class Kind(StrEnum):
    PDF = "pdf"
    XPS = "xps"
    EPUB = "epub"
    CBZ = "cbz"
    SVG = "svg"
    JPEG = "jpeg"
    PNG = "png"
    TIFF = "tiff"
    WEBP = "webp"
    GIF = "gif"
    DOCX = "docx"
    PPTX = "pptx"
    XLSX = "xlsx"


MEDIA_TYPES: dict[Kind, str] = {
    Kind.PDF: "application/pdf",
    Kind.XPS: "application/vnd.ms-xpsdocument",
    Kind.EPUB: "application/epub+zip",
    Kind.CBZ: "application/vnd.comicbook+zip",
    Kind.SVG: "image/svg+xml",
    Kind.JPEG: "image/jpeg",
    Kind.PNG: "image/png",
    Kind.TIFF: "image/tiff",
    Kind.WEBP: "image/webp",
    Kind.GIF: "image/gif",
    Kind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    Kind.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    Kind.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
OFFICE_KINDS: frozenset[Kind] = frozenset({Kind.DOCX, Kind.PPTX, Kind.XLSX})
# Opened by PyMuPDF (pages laid out by MuPDF) versus decoded by Pillow (pixels rendered 1:1).
PAGED_KINDS: frozenset[Kind] = frozenset({Kind.PDF, Kind.XPS, Kind.EPUB, Kind.CBZ, Kind.SVG})
RASTER_KINDS: frozenset[Kind] = frozenset({Kind.JPEG, Kind.PNG, Kind.TIFF, Kind.WEBP, Kind.GIF})

_HEAD_BYTES = 64 * 1024  # enough for a PDF header after junk (readers allow 1 KB) and a long SVG prologue
_MAGIC: tuple[tuple[bytes, Kind], ...] = (
    (b"\x89PNG\r\n\x1a\n", Kind.PNG),
    (b"\xff\xd8\xff", Kind.JPEG),
    (b"GIF87a", Kind.GIF),
    (b"GIF89a", Kind.GIF),
    (b"II*\x00", Kind.TIFF),
    (b"MM\x00*", Kind.TIFF),
    (b"II+\x00", Kind.TIFF),  # BigTIFF
    (b"MM\x00+", Kind.TIFF),
)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".jxr", ".jp2")
# Files that comic-book archives carry beside their pages.
_CBZ_SIDECARS = ("comicinfo.xml", "thumbs.db", ".ds_store")
# The SVG prologue: whitespace, XML declaration, processing instructions, comments and a doctype, any order.
_SVG_PROLOGUE = re.compile(rb"(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)*", re.DOTALL)
_SVG_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?svg[\s>/]")


def sniff(path: str) -> Kind | None:
    """The kind of the file at `path` from its content, or None when it is none we handle (or empty)."""
    with open(path, "rb") as f:
        head = f.read(_HEAD_BYTES)
    if not head:
        return None
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Kind.WEBP
    if b"%PDF-" in head[:1024]:
        return Kind.PDF
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _sniff_zip(path)
    return Kind.SVG if _looks_like_svg(head) else None


def _sniff_zip(path: str) -> Kind | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            # EPUB's first entry is the stored `mimetype`; check its content, not just its presence.
            if "mimetype" in names and archive.read("mimetype")[:64].strip() == b"application/epub+zip":
                return Kind.EPUB
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, NotImplementedError):
        return None
    lowered = [name.lower() for name in names]
    if any(name.endswith("fixeddocumentsequence.fdseq") for name in lowered) or (
            "_rels/.rels" in lowered and any(name.startswith("documents/") for name in lowered)):
        return Kind.XPS
    for prefix, kind in (("word/", Kind.DOCX), ("ppt/", Kind.PPTX), ("xl/", Kind.XLSX)):
        if "[content_types].xml" in lowered and any(name.startswith(prefix) for name in lowered):
            return kind
    files = [name for name in lowered if not name.endswith("/") and not name.startswith("__macosx/")
             and name.rsplit("/", 1)[-1] not in _CBZ_SIDECARS]
    if files and all(name.endswith(_IMAGE_SUFFIXES) for name in files):
        return Kind.CBZ
    return None


def _looks_like_svg(head: bytes) -> bool:
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            head = head[len(bom):]
            if codec != "utf-8":
                head = head.decode(codec, errors="ignore").encode("utf-8")
            break
    prologue = _SVG_PROLOGUE.match(head)
    rest = head[prologue.end() if prologue else 0:]
    return _SVG_ROOT.match(rest) is not None
