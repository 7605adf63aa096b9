"""RasterPage: a frame over `max_side` is scaled band by band to the whole-frame resize's pixels, EXIF turns are
applied without a copy, and a large raster is tiled holding no second full-size image."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from chalicelib.imaging import raster_page
from chalicelib.imaging.raster_page import RasterPage, fitted

ROOT = Path(__file__).resolve().parents[2]


def _picture(mode: str, size: tuple[int, int] = (700, 460)) -> Image.Image:
    """Detail at every scale: a gradient, noise, and hard-edged shapes (where a resize's rounding shows)."""
    base = Image.merge("RGB", [Image.linear_gradient("L").resize(size), Image.effect_noise(size, 50),
                               Image.linear_gradient("L").rotate(90).resize(size)])
    draw = ImageDraw.Draw(base)
    for n in range(12):
        draw.line((n * 57, 0, 699 - n * 31, 459), fill=(250, 30 * n % 256, 10), width=1 + n % 3)
        draw.rectangle((20 + n * 50, 200, 40 + n * 50, 240), fill=(0, 0, 0))
    if mode == "RGBA":
        rgba = base.convert("RGBA")
        rgba.putalpha(Image.linear_gradient("L").resize(size))  # see-through at the top
        return rgba
    if mode == "I;16":
        return base.convert("L").point(lambda v: v * 257, "I").convert("I;16")
    return base.convert(mode)


def _worst(a: Image.Image, b: Image.Image) -> int:
    """The largest difference of any channel of any pixel."""
    extrema = ImageChops.difference(a, b).getextrema()
    pairs = [extrema] if isinstance(extrema[0], int) else extrema
    return max(int(high) for _, high in pairs)  # type: ignore[misc]


def _stitched(page: RasterPage, rows: int) -> Image.Image:
    out = Image.new(page.mode, (page.width, page.height))
    for top in range(0, page.height, rows):
        band = page.band(top, min(page.height, top + rows))
        assert band.size == (page.width, min(page.height, top + rows) - top) and band.mode == page.mode
        out.paste(band, (0, top))
    return out


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "I;16", "1"])
@pytest.mark.parametrize("rows", [64, 37])
@pytest.mark.parametrize(("max_side", "source_pixels"), [(300, raster_page.SOURCE_PIXELS), (300, 20_000),
                                                         (60, raster_page.SOURCE_PIXELS), (60, 20_000)])
def test_scaled_bands_equal_the_whole_frame_resized(mode: str, rows: int, max_side: int, source_pixels: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Factors of 2.3 and 11.7 (reduced by blocks of 3 first, as `reducing_gap` does), each band made whole or
    in pieces of a few source rows."""
    monkeypatch.setattr(raster_page, "SOURCE_PIXELS", source_pixels)
    source = _picture(mode)
    page = RasterPage(source.copy(), max_side=max_side)
    assert (page.width, page.height) == fitted(source.size, max_side)
    expected_mode = "L" if mode in ("L", "I;16", "1") else "RGB"
    assert page.mode == expected_mode  # a grey frame stays grey when scaled (it was tiled in RGB)
    converted = page._converted(source, expected_mode)
    whole = converted.resize((page.width, page.height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    worst = _worst(_stitched(page, rows), whole)
    assert worst <= 2, (mode, rows, worst)  # float rounding of a piece's box: a level, two for short pieces


def test_a_frame_within_max_side_is_cut_as_it_is() -> None:
    source = _picture("RGB", (260, 300))
    page = RasterPage(source.copy(), max_side=300)
    assert (page.width, page.height) == (260, 300)
    assert _stitched(page, 64).tobytes() == source.tobytes()
    assert page.band(0, 10, "L").tobytes() == source.crop((0, 0, 260, 10)).convert("L").tobytes()


def _jpeg(image: Image.Image, orientation: int | None) -> Image.Image:
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(out, "JPEG", quality=95, exif=exif)
    return Image.open(io.BytesIO(out.getvalue()))


def test_exif_orientation_is_applied_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    source = _picture("RGB", (200, 120))
    upright = _jpeg(source, None)
    copies: list[tuple[int, int]] = []
    original_copy = Image.Image.copy

    def counted_copy(self: Image.Image) -> Image.Image:
        copies.append(self.size)
        return original_copy(self)

    monkeypatch.setattr(Image.Image, "copy", counted_copy)
    page = RasterPage(upright, max_side=1000)
    assert copies == []  # `exif_transpose` copies an upright frame unless asked to work in place
    assert (page.width, page.height) == (200, 120)

    turned = RasterPage(_jpeg(source, 6), max_side=1000)  # 6: shown turned 90 degrees clockwise
    assert (turned.width, turned.height) == (120, 200)
    expected = _jpeg(source, None).transpose(Image.Transpose.ROTATE_270)
    # The same JPEG decoded twice, turned: equal up to the decoder's rounding.
    assert _worst(_stitched(turned, 50), expected.convert("RGB")) <= 8


@pytest.mark.parametrize(("mode", "max_side", "size"), [("RGB", 4096, [4096, 2731]), ("RGBA", 512, [512, 341])])
def test_a_large_raster_is_tiled_without_a_second_copy(tmp_path: Path, mode: str, max_side: int,
                                                       size: list[int]) -> None:
    """Peak memory over the decoded frame, measured in a child process (ru_maxrss is per process). At max_side
    512 the whole scaled page is one band, whose source rows are the whole frame."""
    path = tmp_path / "scan.png"
    scan = Image.new(mode, (6000, 4000), (250, 250, 245, 255)[:len(mode)])
    draw = ImageDraw.Draw(scan)
    for n in range(40):
        draw.line((0, n * 100, 5999, 3999 - n * 100), fill=(20, 20, 120, 200)[:len(mode)], width=3)
    scan.save(path, compress_level=1)
    frame_mb = 6000 * 4000 * 4 / 2**20  # Pillow holds RGB and RGBA as four bytes a pixel: 92 MB
    child = textwrap.dedent(f"""
        import json, resource
        from chalicelib.imaging.tiler import TileSettings, tile_page
        from chalicelib.imaging.formats import Kind
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result = tile_page({str(path)!r}, Kind.PNG, 0, TileSettings(max_side={max_side}), lambda piece: None)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({{"growth": after - before, "size": [result.width, result.height]}}))
    """)
    done = subprocess.run([sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=True)
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["size"] == size
    # Before: the frame, `exif_transpose`'s copy of it, the whole scaled copy and, for RGBA, the converted
    # frame and its white background (RGB 156 MB, RGBA 300 MB and more).
    assert measured["growth"] < 1.25 * frame_mb, measured
