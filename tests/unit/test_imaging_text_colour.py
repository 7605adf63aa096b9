"""Coloured text on an otherwise grey page, found from the text page the search text is read from
(chalicelib/imaging/colour.py): on rotated pages (the text page is in the page's shown space, the other logs in
its unrotated space), in a spot ink (a Separation: the colour it shows counts, not its one tint), and the search
text the same as PyMuPDF's own `get_text()`."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from bench.fidelity import direct as _direct
from bench.fidelity import psnr
from bench.fidelity import stitched as _stitched
from bench.tiling_inputs import report_pdf
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.tiler import TileSettings, tile_page
from tests.unit.test_imaging_fidelity import MIN_PSNR_DB, _strongest

SETTINGS = TileSettings(dpi=150, format="png")  # PNG: what is compared is the colour found, not JPEG's chroma


def _grey_page_with_red_words(path: str, rotation: int) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=400)
    page.insert_text((40, 40), "black heading, far from the colour", fontsize=12)
    page.insert_text((380, 360), "RED NOTE", fontsize=20, color=(0.9, 0.05, 0.05))
    page.set_rotation(rotation)
    doc.save(path)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_red_words_on_a_rotated_page_stay_red(tmp_path: Path, rotation: int) -> None:
    path = str(tmp_path / f"rotated-{rotation}.pdf")
    _grey_page_with_red_words(path, rotation)
    stitched, tiles = _stitched(path, 0, SETTINGS)
    direct = _direct(path, 0, SETTINGS.dpi)
    assert stitched.size == direct.size
    assert _strongest(direct)[0] > 150
    assert _strongest(stitched)[0] >= _strongest(direct)[0] - 8  # grey tiles over the words would give 0
    assert psnr(stitched, direct) >= MIN_PSNR_DB
    assert {tile.mode for tile in tiles} == {"L", "RGB"}  # and the rest of the page still grey


def test_words_in_a_spot_ink_count_as_the_colour_they_show(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=300)
    page.insert_text((40, 40), "black caption", fontsize=12)  # gives the page a font resource to reuse
    font = page.get_fonts()[0][4]
    page.wrap_contents()
    kind, resources = doc.xref_get_key(page.xref, "Resources")
    owner = int(resources.split()[0]) if kind == "xref" else page.xref
    doc.xref_set_key(owner, "ColorSpace", "<</CS0[/Separation/SiteRed/DeviceRGB"
                                          "<</FunctionType 2/Domain[0 1]/C0[1 1 1]/C1[0.85 0.05 0.05]/N 1>>]>>")
    words = doc.get_new_xref()
    doc.update_object(words, "<<>>")
    doc.update_stream(words, f"BT /{font} 28 Tf /CS0 cs 1 scn 150 200 Td (SPOT INK) Tj ET".encode())
    contents = " ".join(f"{xref} 0 R" for xref in page.get_contents())
    doc.xref_set_key(page.xref, "Contents", f"[{contents} {words} 0 R]")
    path = str(tmp_path / "spot.pdf")
    doc.save(path)
    stitched, tiles = _stitched(path, 0, SETTINGS)
    direct = _direct(path, 0, SETTINGS.dpi)
    assert _strongest(direct)[0] > 150
    assert _strongest(stitched)[0] >= _strongest(direct)[0] - 8
    assert psnr(stitched, direct) >= MIN_PSNR_DB


def test_the_search_text_is_what_get_text_reads(tmp_path: Path) -> None:
    report = str(tmp_path / "report.pdf")
    report_pdf(report, pages=4)
    rotated = str(tmp_path / "rotated.pdf")
    _grey_page_with_red_words(rotated, 90)
    for path, index in [(report, 0), (report, 1), (report, 2), (report, 3), (rotated, 0)]:
        result = tile_page(path, Kind.PDF, index, TileSettings(dpi=36), lambda piece: None)
        expected = pymupdf.open(path)[index].get_text()
        assert result.text == expected and expected.strip(), (path, index)
