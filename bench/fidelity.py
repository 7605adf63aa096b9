# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""Tiles as people see them, against the page itself: the full-size level stitched back from the tiler's stored
tiles, a direct RGB render of the page at full anti-aliasing, and the PSNR between two images. Shared by the
fidelity tests (tests/unit/test_imaging_fidelity.py) and `bench.render_aa`."""

from __future__ import annotations

import io
import math

import pymupdf
from PIL import Image, ImageChops

from chalicelib.domain.tile_plan import TilePlan
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.tiler import Tile, TileSettings, tile_page

FULL_AA_LEVEL = 8  # MuPDF's default and finest: 17 x 15 samples a pixel


def stitched(path: str, index: int, settings: TileSettings) -> tuple[Image.Image, list[Image.Image]]:
    """The full-size level from its tiles (as RGB, the way a browser shows a grey JPEG), and those tiles."""
    pieces: list[object] = []
    result = tile_page(path, Kind.PDF, index, settings, pieces.append)
    plan = TilePlan(result.width, result.height, settings.tile_size)
    whole = Image.new("RGB", (result.width, result.height))
    tiles: list[Image.Image] = []
    for tile in pieces:
        if isinstance(tile, Tile) and tile.level == result.max_level:
            image = Image.open(io.BytesIO(tile.data))
            tiles.append(image)
            left, top, _, _ = plan.tile_box(tile.level, tile.col, tile.row)
            whole.paste(image.convert("RGB"), (left, top))
    return whole, tiles


def direct(path: str, index: int, dpi: float) -> Image.Image:
    """The page rendered whole, in RGB, at MuPDF's full anti-aliasing whatever the process has set since (the
    level is global to the process: the reference must not follow what is being measured)."""
    previous = pymupdf.TOOLS.show_aa_level()["graphics"]
    pymupdf.TOOLS.set_aa_level(FULL_AA_LEVEL)
    try:
        page = pymupdf.open(path)[index]
        pix = page.get_pixmap(matrix=pymupdf.Matrix(dpi / 72, dpi / 72), alpha=False, colorspace=pymupdf.csRGB)
    finally:
        pymupdf.TOOLS.set_aa_level(previous)
    return Image.frombytes("RGB", (pix.width, pix.height), pix.samples)


def psnr(a: Image.Image, b: Image.Image) -> float:
    histogram = ImageChops.difference(a, b).histogram()  # 256 bins per channel
    squared = sum(count * (value % 256) ** 2 for value, count in enumerate(histogram))
    mse = squared / (a.width * a.height * len(a.getbands()))
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)
