"""A PDF of 1 MB can hold an image of hundreds of megapixels (a compressed stream of zeros) that MuPDF would
decode while rendering: the page is refused from the image's declared size before anything is decoded."""

from __future__ import annotations

import zlib
from pathlib import Path

import pymupdf
import pytest

from chalicelib.imaging.errors import IMAGE_TOO_LARGE, DocumentRejected
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.limits import Limits
from chalicelib.imaging.tiler import TileSettings, tile_page


def pdf_with_image(path: Path, width: int, height: int) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    packer, block = zlib.compressobj(9), bytes(width * 64)
    stream = b"".join(packer.compress(block) for _ in range(height // 64)) + packer.flush()
    xref = doc.get_new_xref()
    doc.update_object(xref, f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height // 64 * 64} "
                            f"/BitsPerComponent 8 /ColorSpace /DeviceGray /Filter /FlateDecode >>")
    doc.update_stream(xref, stream, compress=False)
    page.insert_image(page.rect, xref=xref)
    page.insert_text((72, 72), "site photo", fontsize=12)
    doc.save(path)


def test_a_page_with_an_enormous_embedded_image_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pdf"
    pdf_with_image(path, 20000, 20000)  # 400 megapixels declared, about 0.4 MB on disk
    assert path.stat().st_size < 2_000_000
    tiles: list[object] = []
    with pytest.raises(DocumentRejected) as refused:
        tile_page(str(path), Kind.PDF, 0, TileSettings(dpi=36), tiles.append, Limits(max_image_pixels=100_000_000))
    assert refused.value.code == IMAGE_TOO_LARGE and "megapixels" in refused.value.reason
    assert tiles == []


def test_ordinary_embedded_images_pass(tmp_path: Path) -> None:
    path = tmp_path / "photo.pdf"
    pdf_with_image(path, 640, 640)
    result = tile_page(str(path), Kind.PDF, 0, TileSettings(dpi=36), lambda tile: None)
    assert result.tile_count > 0
