"""Sniffing by content: every kind from real bytes, names that lie, and what must not match."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from chalicelib.imaging.formats import MEDIA_TYPES, OFFICE_KINDS, Kind, sniff


def _image_bytes(fmt: str, size: tuple[int, int] = (8, 6)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def _zip(path: Path, entries: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


@pytest.mark.parametrize(("fmt", "kind"), [("PNG", Kind.PNG), ("JPEG", Kind.JPEG), ("GIF", Kind.GIF),
                                           ("TIFF", Kind.TIFF), ("WEBP", Kind.WEBP)])
def test_rasters_by_magic_whatever_the_name(tmp_path, fmt, kind):
    assert sniff(_write(tmp_path / "upload.pdf", _image_bytes(fmt))) is kind


def test_pdf_also_after_leading_junk(tmp_path):
    doc = pymupdf.open()
    doc.new_page()
    data = doc.tobytes()
    assert sniff(_write(tmp_path / "a.png", data)) is Kind.PDF
    assert sniff(_write(tmp_path / "b", b"\r\n junk from a mail gateway \r\n" + data)) is Kind.PDF


@pytest.mark.parametrize("prologue", [
    b"",
    b"\xef\xbb\xbf<?xml version='1.0' encoding='UTF-8'?>\n",
    b"<?xml version=\"1.0\"?>\n<!-- made by hand -->\n<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
    b"\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n  ",
])
def test_svg_after_its_prologue(tmp_path, prologue):
    svg = prologue + b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    assert sniff(_write(tmp_path / "drawing.txt", svg)) is Kind.SVG


def test_svg_in_utf16(tmp_path):
    svg = '\ufeff<?xml version="1.0" encoding="UTF-16"?><svg xmlns="http://www.w3.org/2000/svg"/>'.encode("utf-16-le")
    assert sniff(_write(tmp_path / "d", svg)) is Kind.SVG


@pytest.mark.parametrize("text", [b"<html><body><svg/></body></html>", b"just text mentioning <svg>",
                                  b"<?xml version='1.0'?><rss/>"])
def test_not_svg(tmp_path, text):
    assert sniff(_write(tmp_path / "x.svg", text)) is None


def test_zip_containers_by_their_entries(tmp_path):
    epub = _zip(tmp_path / "e", {"mimetype": "application/epub+zip", "META-INF/container.xml": "<container/>"})
    xps = _zip(tmp_path / "x", {"_rels/.rels": "<r/>", "FixedDocumentSequence.fdseq": "<s/>"})
    oxps = _zip(tmp_path / "o", {"_rels/.rels": "<r/>", "Documents/1/FixedDocument.fdoc": "<d/>"})
    content_types = "[Content_Types].xml"
    docx = _zip(tmp_path / "w", {content_types: "<T/>", "_rels/.rels": "<r/>", "word/document.xml": "<w/>"})
    pptx = _zip(tmp_path / "p", {content_types: "<T/>", "ppt/presentation.xml": "<p/>"})
    xlsx = _zip(tmp_path / "s", {content_types: "<T/>", "xl/workbook.xml": "<x/>"})
    cbz = _zip(tmp_path / "c", {"001.png": _image_bytes("PNG"), "002.jpg": _image_bytes("JPEG"),
                                "ComicInfo.xml": "<ComicInfo/>", "extras/": ""})
    plain = _zip(tmp_path / "z", {"notes.txt": "hello", "001.png": _image_bytes("PNG")})
    assert [sniff(str(p)) for p in (epub, xps, oxps, docx, pptx, xlsx, cbz, plain)] == [
        Kind.EPUB, Kind.XPS, Kind.XPS, Kind.DOCX, Kind.PPTX, Kind.XLSX, Kind.CBZ, None]


def test_empty_garbage_and_broken_zip_are_nothing(tmp_path):
    assert sniff(_write(tmp_path / "empty.pdf", b"")) is None
    assert sniff(_write(tmp_path / "noise.pdf", bytes(range(256)) * 40)) is None
    assert sniff(_write(tmp_path / "broken.zip", b"PK\x03\x04" + b"\x00" * 100)) is None


def test_every_kind_has_a_media_type():
    assert set(MEDIA_TYPES) == set(Kind)
    assert {Kind.DOCX, Kind.PPTX, Kind.XLSX} == OFFICE_KINDS


def test_importing_the_package_loads_neither_pymupdf_nor_pillow():
    code = ("import sys, chalicelib.imaging, chalicelib.imaging.formats, chalicelib.imaging.errors; "
            "print(sorted(m for m in ('pymupdf', 'fitz', 'PIL') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
