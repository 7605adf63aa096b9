"""Large scanned images decoded once by MuPDF before a page is rendered in bands: the same tiles, byte for byte,
as MuPDF decoding them band by band, within the page's budget."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageDraw, TiffImagePlugin

from chalicelib.imaging import decode_once as once
from chalicelib.imaging import embedded_jpeg, tiler
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.tiler import TileSettings, tile_page
from tests.unit.test_imaging_embedded_jpeg import SCALE, _pdf, _photo

WIDTH, HEIGHT = 834, 625  # a 200 x 150 point page at 300 dpi


@pytest.fixture(autouse=True)
def _small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiler, "BAND_PIXELS", WIDTH * 256)  # a band a tile row high: a scan spans three
    monkeypatch.setattr(embedded_jpeg, "MAX_PAGE_BYTES", 0)  # nothing for Pillow's decoder


def _tiles(path: str) -> list[bytes]:
    pieces: list[bytes] = []
    tile_page(path, Kind.PDF, 0, TileSettings(dpi=300), lambda piece: pieces.append(getattr(piece, "data", b"")))
    return pieces


def _fax_pdf(path: Path) -> str:
    """A black and white drawing as one CCITT G4 stream (as scanners write them) filling the page."""
    drawing = Image.new("1", (WIDTH, HEIGHT), 1)
    draw = ImageDraw.Draw(drawing)
    for n in range(30):
        draw.line((0, n * 21, WIDTH - 1, HEIGHT - 1 - n * 21), fill=0, width=2)
        draw.rectangle((n * 25, n * 18, n * 25 + 60, n * 18 + 30), outline=0)
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[278] = HEIGHT  # one strip: one G4 stream
    out = io.BytesIO()
    drawing.save(out, "TIFF", compression="group4", tiffinfo=info)
    tiff = Image.open(io.BytesIO(out.getvalue()))
    assert isinstance(tiff, TiffImagePlugin.TiffImageFile)
    start, length = tiff.tag_v2[273][0], tiff.tag_v2[279][0]  # the strip's offset and byte count
    doc = pymupdf.open()
    page = doc.new_page(width=200, height=150)
    placeholder = io.BytesIO()
    drawing.save(placeholder, "PNG")
    page.insert_image(page.rect, stream=placeholder.getvalue())
    (xref, *_), = page.get_images(full=True)
    doc.update_stream(xref, out.getvalue()[start:start + length], compress=0)
    doc.xref_set_key(xref, "Filter", "/CCITTFaxDecode")
    doc.xref_set_key(xref, "DecodeParms", f"<< /K -1 /Columns {WIDTH} /Rows {HEIGHT} /BlackIs1 true >>")
    doc.xref_set_key(xref, "ColorSpace", "/DeviceGray")
    doc.xref_set_key(xref, "BitsPerComponent", "1")
    doc.save(str(path))
    return str(path)


def _flate_pdf(path: Path, predictor: bool) -> str:
    """A colour scan as one Flate stream: as PyMuPDF deflates it, or a PNG's own IDAT data with its PNG
    predictor (as PDF writers embed PNGs)."""
    picture = Image.open(io.BytesIO(_photo("RGB", size=(WIDTH, HEIGHT), subsampling=0))).convert("RGB")
    png = io.BytesIO()
    picture.save(png, "PNG")
    doc = pymupdf.open()
    page = doc.new_page(width=200, height=150)
    page.insert_image(page.rect, stream=png.getvalue())
    if predictor:
        (xref, *_), = page.get_images(full=True)
        data, chunks, at = png.getvalue(), [], 8
        while at < len(data):  # the PNG's chunks: length, type, data, CRC
            length, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
            if kind == b"IDAT":
                chunks.append(data[at + 8:at + 8 + length])
            at += 12 + length
        doc.update_stream(xref, b"".join(chunks), compress=0)
        doc.xref_set_key(xref, "Filter", "/FlateDecode")
        doc.xref_set_key(xref, "DecodeParms", f"<< /Predictor 15 /Colors 3 /BitsPerComponent 8 /Columns {WIDTH} >>")
    doc.save(str(path), deflate=True, deflate_images=True)
    return str(path)


@pytest.mark.parametrize("kind", ["RGB 4:2:0", "L", "fax", "flate", "flate with a PNG predictor"])
def test_a_large_scan_is_decoded_once_to_the_same_tiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        kind: str) -> None:
    if kind == "fax":
        path = _fax_pdf(tmp_path / "fax.pdf")
    elif kind.startswith("flate"):
        path = _flate_pdf(tmp_path / "flate.pdf", predictor=kind.endswith("predictor"))
        (xref, *_), = pymupdf.open(path)[0].get_images(full=True)
        assert pymupdf.open(path).xref_get_key(xref, "Filter") == ("name", "/FlateDecode")
    else:
        jpeg = _photo(kind.split(maxsplit=1)[0], size=(WIDTH, HEIGHT), subsampling=2)
        path = _pdf(tmp_path / "scan.pdf", jpeg, rect=(0, 0, 200, 150))
    monkeypatch.setattr(once, "MIN_PIXELS", 10**12)
    band_by_band = _tiles(path)
    assert len({*band_by_band}) > 10  # a drawing, not a blank page
    monkeypatch.setattr(once, "MIN_PIXELS", WIDTH * HEIGHT)
    doc = pymupdf.open(path)
    assert once.decode_once(doc[0], SCALE) == 1
    (xref, *_), = doc[0].get_images(full=True)
    assert doc.xref_get_key(xref, "Filter")[0] == doc.xref_get_key(xref, "DecodeParms")[0] == "null"
    per_row = {"RGB 4:2:0": 3 * WIDTH, "L": WIDTH, "fax": (WIDTH + 7) // 8}.get(kind, 3 * WIDTH)
    assert len(doc.xref_stream_raw(xref)) == per_row * HEIGHT
    assert _tiles(path) == band_by_band


def test_only_images_large_enough_and_within_the_pages_budget(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=150)
    for n in range(3):
        page.insert_image(pymupdf.Rect(n * 144, 0, n * 144 + 144, 96), stream=_photo(size=(600, 400), subsampling=2))
    doc.save(str(tmp_path / "three.pdf"))
    monkeypatch.setattr(once, "MIN_PIXELS", 600 * 400)  # each one qualifies
    monkeypatch.setattr(once, "MAX_PAGE_BYTES", 2 * 600 * 400 * 3)  # room for two
    assert once.decode_once(pymupdf.open(str(tmp_path / "three.pdf"))[0], SCALE) == 2
    monkeypatch.setattr(once, "MIN_PIXELS", 600 * 400 + 1)  # none is large enough
    assert once.decode_once(pymupdf.open(str(tmp_path / "three.pdf"))[0], SCALE) == 0


def test_a_scan_mostly_off_the_page_or_of_other_dimensions_is_left_to_mupdf(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Cropped to its top eighth, MuPDF decodes it only that far down: decoding it all up front costs more. A
    frame whose dimensions are not the dictionary's (even with as many bytes) renders as MuPDF renders it."""
    monkeypatch.setattr(once, "MIN_PIXELS", 1)
    jpeg = _photo("RGB", size=(WIDTH, HEIGHT), subsampling=2)
    cropped = pymupdf.open(_pdf(tmp_path / "scan.pdf", jpeg, rect=(0, 0, 200, 150)))
    cropped[0].set_cropbox(pymupdf.Rect(0, 0, 200, 150 / 8))
    cropped.save(str(tmp_path / "cropped.pdf"))
    assert once.decode_once(pymupdf.open(str(tmp_path / "cropped.pdf"))[0], SCALE) == 0
    assert once.decode_once(pymupdf.open(str(tmp_path / "scan.pdf"))[0], SCALE) == 1  # the same, uncropped
    swapped = pymupdf.open(_pdf(tmp_path / "swapped.pdf", _photo("RGB", size=(HEIGHT, WIDTH), subsampling=2),
                                rect=(0, 0, 200, 150)))
    (xref, *_), = swapped[0].get_images(full=True)
    swapped.xref_set_key(xref, "Width", str(WIDTH))  # the frame is 625 x 834: as many bytes, other rows
    swapped.xref_set_key(xref, "Height", str(HEIGHT))
    assert once.decode_once(swapped[0], SCALE) == 0
    assert swapped.xref_get_key(xref, "Filter") == ("name", "/DCTDecode")
