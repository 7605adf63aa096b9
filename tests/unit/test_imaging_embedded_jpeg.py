"""A PDF page's JPEGs decoded by Pillow before MuPDF renders: the same picture as MuPDF's own decode, the file
untouched, and every JPEG the two decoders would read differently left to MuPDF."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

from chalicelib.imaging import embedded_jpeg
from chalicelib.imaging.embedded_jpeg import decode_jpegs
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.tiler import TileSettings, tile_page

SCALE = 300 / 72


def _photo(mode: str = "RGB", size: tuple[int, int] = (600, 400), **save: object) -> bytes:
    noise = Image.effect_noise(size, 50).filter(ImageFilter.GaussianBlur(2))
    channels = (noise, noise.rotate(90), noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    image = Image.merge("RGB", channels) if mode != "L" else noise
    out = io.BytesIO()
    image.convert(mode).save(out, "JPEG", quality=85, **save)
    return out.getvalue()


def _pdf(path: Path, jpeg: bytes, rect: tuple[float, float, float, float] = (0, 0, 144, 96)) -> str:
    """A page with the JPEG drawn in `rect` (points): at 300 dpi, 144 x 96 points is 600 x 400 pixels."""
    doc = pymupdf.open()
    page = doc.new_page(width=200, height=150)
    page.insert_text((10, 140), "caption", fontsize=8)
    page.insert_image(pymupdf.Rect(*rect), stream=jpeg)
    doc.save(str(path))
    return str(path)


def _render(page: pymupdf.Page) -> Image.Image:
    pix = page.get_pixmap(matrix=pymupdf.Matrix(SCALE, SCALE), colorspace=pymupdf.csRGB, alpha=False)
    return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)


def _psnr(a: Image.Image, b: Image.Image) -> float:
    mse = sum(v * v for v in ImageStat.Stat(ImageChops.difference(a, b)).rms) / 3
    return math.inf if mse == 0 else 10 * math.log10(255 * 255 / mse)


@pytest.mark.parametrize("kind", ["RGB", "L", "RGB kept as RGB"])
def test_a_jpeg_drawn_at_full_size_is_decoded_by_pillow_and_looks_the_same(tmp_path, kind):
    # Colour as 4:4:4 (no subsampled chroma); "kept as RGB": no YCbCr, its components labelled R, G and B, and
    # an Adobe marker saying so.
    jpeg = _photo("RGB", keep_rgb=True) if kind == "RGB kept as RGB" else _photo(kind, subsampling=0)
    path = _pdf(tmp_path / "photo.pdf", jpeg)
    mupdf_only = _render(pymupdf.open(path)[0])
    doc = pymupdf.open(path)
    page = doc[0]
    assert decode_jpegs(page, SCALE) == 1
    (xref, *_), = page.get_images(full=True)
    assert doc.xref_get_key(xref, "Filter")[0] == "null"  # raw pixels now, in the open document only
    assert _psnr(_render(page), mupdf_only) > 60  # the two libjpegs round a level apart here and there
    stored = pymupdf.open(path)
    assert stored.xref_get_key(xref, "Filter") == ("name", "/DCTDecode")  # the file is untouched


def test_a_jpeg_drawn_smaller_than_its_pixels_is_left_to_mupdf(tmp_path):
    # MuPDF decodes it at a reduced DCT scale, which no full decode beats.
    path = _pdf(tmp_path / "small.pdf", _photo(size=(1200, 800)), rect=(0, 0, 144, 96))
    assert decode_jpegs(pymupdf.open(path)[0], SCALE) == 0


@pytest.mark.parametrize("case", ["cmyk", "truncated", "wrong size", "decode parms", "4:2:0", "colour key mask"])
def test_a_jpeg_the_decoders_would_read_differently_is_left_to_mupdf(tmp_path, case):
    jpeg = {"cmyk": lambda: _photo("CMYK"),
            "truncated": lambda: _photo(subsampling=0)[:3000],
            "wrong size": lambda: _photo(subsampling=0),
            "decode parms": lambda: _photo(subsampling=0),
            "4:2:0": lambda: _photo(subsampling=2),  # chroma upsampled differently by the two libraries
            "colour key mask": lambda: _photo(subsampling=0)}[case]()
    path = _pdf(tmp_path / "odd.pdf", jpeg)
    doc = pymupdf.open(path)
    (xref, *_), = doc[0].get_images(full=True)
    if case == "wrong size":  # the dictionary and the stream disagree: MuPDF's business
        doc.xref_set_key(xref, "Width", "300")
    if case == "decode parms":
        doc.xref_set_key(xref, "DecodeParms", "<< /ColorTransform 0 >>")
    if case == "colour key mask":  # pixels within these values are not painted: exact values matter
        doc.xref_set_key(xref, "Mask", "[100 140 100 140 100 140]")
    raw = doc.xref_stream_raw(xref)
    assert decode_jpegs(doc[0], SCALE) == 0
    assert doc.xref_stream_raw(xref) == raw and doc.xref_get_key(xref, "Filter") == ("name", "/DCTDecode")


def test_every_image_of_one_size_is_decoded_within_the_pages_budget(tmp_path, monkeypatch):
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=150)
    for n in range(4):  # four strips of a scan, each its own stream of the same size
        page.insert_image(pymupdf.Rect(n * 144, 0, n * 144 + 144, 96), stream=_photo("L", size=(600, 400)))
    doc.save(str(tmp_path / "strips.pdf"))
    assert decode_jpegs(pymupdf.open(str(tmp_path / "strips.pdf"))[0], SCALE) == 4
    monkeypatch.setattr(embedded_jpeg, "MAX_PAGE_BYTES", 3 * 600 * 400)  # room for three grey strips
    assert decode_jpegs(pymupdf.open(str(tmp_path / "strips.pdf"))[0], SCALE) == 3


def test_a_scanned_page_tiles_as_mupdf_alone_would_show_it(tmp_path):
    path = _pdf(tmp_path / "scan.pdf", _photo("L", size=(834, 625)), rect=(0, 0, 200, 150))  # the whole page
    settings = TileSettings(dpi=300)
    pieces: dict[str, bytes] = {}
    result = tile_page(path, Kind.PDF, 0, settings,
                       lambda piece: pieces.update({getattr(piece, "name", ""): getattr(piece, "data", b"")}))
    # A scan is rendered at its image's resolution (here 300 dpi): the `max` image against MuPDF's own render.
    shown = Image.open(io.BytesIO(pieces["max"])).convert("RGB")
    direct = _render(pymupdf.open(path)[0]).resize(shown.size, Image.Resampling.BOX)
    assert result.width == 834 and _psnr(shown, direct) > 35  # a JPEG of a JPEG, against the source

