"""Tiles as people see them: the full-size level stitched from its stored JPEG tiles against a direct RGB render
of the page, on the benchmark's reference inputs (bench/tiling_inputs.py), a grey page and colour pages alike:
PSNR at least 40 dB, grey tiles only where the page is grey, and a thin coloured line kept in colour."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageChops

from bench.fidelity import direct as _direct
from bench.fidelity import psnr
from bench.fidelity import stitched as _stitched
from bench.tiling_inputs import a0_sheet, report_pdf
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.tiler import Tile, TileSettings, tile_page
from tests.e2e.documents_samples import draw_image

MIN_PSNR_DB = 40.0


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("fidelity") / "report.pdf")
    report_pdf(path, pages=4)  # a table (tinted rows), a chart, a photograph, text only
    return path


@pytest.mark.parametrize(("index", "grey"), [(0, False), (1, False), (2, False), (3, True)])
def test_report_pages_stitch_back_within_40_db(report: str, index: int, grey: bool) -> None:
    settings = TileSettings()  # 300 dpi, JPEG q85, as the service tiles
    stitched, tiles = _stitched(report, index, settings)
    direct = _direct(report, index, settings.dpi)
    assert stitched.size == direct.size
    assert psnr(stitched, direct) >= MIN_PSNR_DB
    modes = {tile.mode for tile in tiles}
    assert modes == ({"L"} if grey else {"L", "RGB"})  # colour pages: grey tiles where no colour reaches


def test_a0_sheet_stitches_back_within_40_db(tmp_path: Path) -> None:
    path = str(tmp_path / "a0.pdf")
    a0_sheet(path)  # black and grey linework, blue dimension chains
    settings = TileSettings(dpi=36)
    stitched, tiles = _stitched(path, 0, settings)
    assert psnr(stitched, _direct(path, 0, settings.dpi)) >= MIN_PSNR_DB
    assert "RGB" in {tile.mode for tile in tiles} and "L" in {tile.mode for tile in tiles}


def test_a_thin_coloured_line_on_a_grey_page_stays_coloured(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=2000, height=1000)
    page.insert_text((72, 80), "black text on a large sheet", fontsize=14)
    page.draw_line((100, 700), (1900, 705), color=(0.9, 0.1, 0.1), width=0.5)  # a hairline, far from the text
    path = str(tmp_path / "hairline.pdf")
    doc.save(path)
    settings = TileSettings(dpi=150)
    stitched, tiles = _stitched(path, 0, settings)
    direct = _direct(path, 0, settings.dpi)
    assert psnr(stitched, direct) >= MIN_PSNR_DB

    def redness(image: Image.Image) -> int:
        red, green, _ = image.crop((200, 1440, 3950, 1480)).split()
        low_high = ImageChops.subtract(red, green).getextrema()
        high = low_high[1] if isinstance(low_high, tuple) else low_high
        assert isinstance(high, int)
        return high

    assert redness(direct) > 100
    # Still red: a grey tile would give 0. JPEG's 4:2:0 chroma keeps about 40% on a 1 px line (as it did when
    # every tile was RGB: 84 of 204 here).
    assert redness(stitched) >= redness(direct) * 0.35
    assert {tile.mode for tile in tiles} == {"L", "RGB"}


def test_a_page_without_colour_is_tiled_grey(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 80), "grey and black only", fontsize=14, color=(0.3, 0.3, 0.3))
    page.draw_rect(pymupdf.Rect(72, 120, 400, 300), color=(0, 0, 0), fill=(0.8, 0.8, 0.8), width=1)
    path = str(tmp_path / "grey.pdf")
    doc.save(path)
    pieces: list[object] = []
    tile_page(path, Kind.PDF, 0, TileSettings(dpi=100), pieces.append)
    tiles = [piece for piece in pieces if isinstance(piece, Tile)]
    assert {Image.open(io.BytesIO(t.data)).mode for t in tiles} == {"L"}
    stitched, _ = _stitched(path, 0, TileSettings(dpi=100))
    assert psnr(stitched, _direct(path, 0, 100)) >= MIN_PSNR_DB


def _scan(path: Path, with_text: bool) -> str:
    picture = io.BytesIO()
    Image.linear_gradient("L").resize((1700, 2200)).save(picture, "PNG")  # 200 dpi on a letter page
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_image(page.rect, stream=picture.getvalue())
    if with_text:
        page.insert_text((72, 72), "a stamp drawn on the scan", fontsize=12)
    doc.save(str(path))
    return str(path)


def test_a_scanned_page_is_tiled_at_its_images_resolution_not_upsampled(tmp_path: Path) -> None:
    pieces: list[object] = []
    scan = tile_page(_scan(tmp_path / "scan.pdf", False), Kind.PDF, 0, TileSettings(), pieces.append)
    assert (scan.width, scan.height) == (1700, 2200)
    mixed = tile_page(_scan(tmp_path / "mixed.pdf", True), Kind.PDF, 0, TileSettings(), pieces.append)
    assert (mixed.width, mixed.height) == (2550, 3300)  # vector content on it: the configured 300 dpi


def _pattern_page(path: str, inside_form: bool) -> None:
    """A page whose only paint in its lower half is a rectangle filled with a red and blue tiling pattern (the
    pattern on the page, or on a form the page draws); some black text above, and a red line."""
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=600)
    page.insert_text((72, 80), "a hatch legend", fontsize=14)
    page.draw_line((100, 120), (500, 120), color=(0.9, 0.1, 0.1), width=1)
    pattern = doc.get_new_xref()
    doc.update_object(pattern, "<</Type/Pattern/PatternType 1/PaintType 1/TilingType 1/BBox[0 0 10 10]"
                               "/XStep 10/YStep 10/Resources<<>>>>")
    doc.update_stream(pattern, b"1 0 0 rg 0 0 5 5 re f 0 0 1 rg 5 5 5 5 re f")
    fill = b"q /Pattern cs /P0 scn 300 100 200 150 re f Q"  # PDF space: y from the bottom, the lower half
    page.wrap_contents()
    owner = page.xref
    if inside_form:
        form = doc.get_new_xref()
        doc.update_object(form, f"<</Type/XObject/Subtype/Form/BBox[0 0 600 600]"
                                f"/Resources<</Pattern<</P0 {pattern} 0 R>>>>>>")
        doc.update_stream(form, fill)
        fill, key, value = b"q /Fm0 Do Q", "XObject", f"<</Fm0 {form} 0 R>>"
    else:
        key, value = "Pattern", f"<</P0 {pattern} 0 R>>"
    kind, resources = doc.xref_get_key(owner, "Resources")
    holder = int(resources.split()[0]) if kind == "xref" else owner
    doc.xref_set_key(holder, key, value)
    extra = doc.get_new_xref()
    doc.update_object(extra, "<<>>")
    doc.update_stream(extra, fill)
    contents = " ".join(f"{xref} 0 R" for xref in page.get_contents())
    doc.xref_set_key(page.xref, "Contents", f"[{contents} {extra} 0 R]")
    doc.save(path)


@pytest.mark.parametrize("inside_form", [False, True])
def test_a_pattern_fill_is_tiled_in_colour_where_it_paints(tmp_path: Path, inside_form: bool) -> None:
    """MuPDF's logs place a pattern's cells in pattern space, not where the fill paints: without a look at the
    resources, the fill's tiles were taken for blank page (white) or grey."""
    path = str(tmp_path / "pattern.pdf")
    _pattern_page(path, inside_form)
    settings = TileSettings(dpi=150, format="png")  # lossless: JPEG's 4:2:0 would blur a 5 px red-blue check
    stitched, _ = _stitched(path, 0, settings)
    direct = _direct(path, 0, settings.dpi)
    assert psnr(stitched, direct) >= MIN_PSNR_DB
    fill = stitched.crop((650, 750, 1000, 1000))  # inside the rectangle (300..500, 350..500 in page space)
    assert _strongest(fill) > (200, 200)  # red squares and blue squares, not grey


def test_an_indexed_image_counts_as_colour(tmp_path: Path) -> None:
    """A palette image has one component (its index) but shows the palette's colours."""
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=400)
    page.insert_text((72, 40), "caption", fontsize=12)
    # 20 x 10 stripes of red, blue, white (two columns each)
    draw_image(doc, page, "/Width 20/Height 10/BitsPerComponent 8/ColorSpace[/Indexed/DeviceRGB 2<FF00000000FFFFFFFF>]",
               bytes((i // 2) % 3 for i in range(200)), b"200 0 0 100 100 100 cm")
    path = str(tmp_path / "indexed.pdf")
    doc.save(path)
    assert [info["colorspace"] for info in pymupdf.open(path)[0].get_image_info()] == [1]
    stitched, _ = _stitched(path, 0, TileSettings(dpi=150, format="png"))
    assert _strongest(stitched.crop((220, 420, 600, 580))) > (200, 200)  # the image: 100..300 x 200..300 pt


def _strongest(image: Image.Image) -> tuple[int, int]:
    """How far red and blue rise above green at most: (0, 0) for grey."""
    red, green, blue = image.split()
    rises = [ImageChops.subtract(band, green).getextrema()[1] for band in (red, blue)]
    assert isinstance(rises[0], int) and isinstance(rises[1], int)
    return rises[0], rises[1]
