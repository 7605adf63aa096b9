"""Raster inputs that used to slip past the checks: a WebP too large to decode within the tiling function's
memory, a TIFF cut off inside its frame list, and a float TIFF of values in 0..1."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from chalicelib.imaging.analyse import analyse
from chalicelib.imaging.errors import CORRUPT, IMAGE_TOO_LARGE, DocumentRejected
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.limits import Limits
from chalicelib.imaging.raster_page import RasterPage
from chalicelib.imaging.tiler import TileSettings, tile_page

SMALL_WEBP = Limits(max_webp_pixels=1_000_000)


def _tile(path: Path, kind: Kind, limits: Limits | None = None) -> int:
    return tile_page(str(path), kind, 0, TileSettings(dpi=72), lambda piece: None, limits or Limits()).tile_count


def test_a_webp_over_its_own_limit_is_refused_at_analysis_and_tiling(tmp_path: Path) -> None:
    big, small = tmp_path / "big.webp", tmp_path / "small.webp"
    Image.new("RGB", (1100, 1000), (200, 30, 30)).save(big, quality=50)
    Image.new("RGB", (900, 1000), (200, 30, 30)).save(small, quality=50)
    Image.new("RGB", (1100, 1000), (200, 30, 30)).save(tmp_path / "same.png")
    for refused in (lambda: analyse(str(big), SMALL_WEBP), lambda: _tile(big, Kind.WEBP, SMALL_WEBP)):
        with pytest.raises(DocumentRejected) as caught:
            refused()
        assert caught.value.code == IMAGE_TOO_LARGE
        assert "the limit for a WebP image is 1 megapixels" in str(caught.value)
    assert analyse(str(small), SMALL_WEBP).page_count == 1 and _tile(small, Kind.WEBP, SMALL_WEBP) > 1
    assert _tile(tmp_path / "same.png", Kind.PNG, SMALL_WEBP) > 1  # other formats keep the general limit
    assert Limits().max_webp_pixels < Limits().max_image_pixels


def test_a_tiff_cut_off_in_its_frames_is_refused_as_corrupt(tmp_path: Path) -> None:
    whole = tmp_path / "whole.tif"
    frames = [Image.new("L", (300 + n, 200), 40 * n) for n in range(3)]
    frames[0].save(whole, save_all=True, append_images=frames[1:])
    data = whole.read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(data[:int(len(data) * 0.3)])  # the first frame's pixels, and no later frame's header
    with pytest.raises(DocumentRejected) as caught:
        _tile(cut, Kind.TIFF)
    assert caught.value.code == CORRUPT  # was a TypeError ("Missing dimensions") out of `n_frames`


def test_a_float_frame_of_values_in_0_to_1_keeps_its_levels() -> None:
    ramp = Image.linear_gradient("L").convert("F").point(lambda value: value / 255)
    assert ramp.getextrema() == (0.0, 1.0)
    page = RasterPage(ramp, max_side=1024)
    band = page.band(0, 256)
    assert page.mode == band.mode == "L"
    assert band.getextrema() == (0, 255) and len(band.histogram()) == 256
    assert sum(1 for count in band.histogram() if count) == 256  # every level (it had two)
