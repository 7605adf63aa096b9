"""The pixel kernels (layers/imaging/kalexo_pixels) and the grey rows around them: the same bytes as Pillow, with
and without the kernels, down to whole pyramids of real pages."""

from __future__ import annotations

import random
from pathlib import Path

import kalexo_pixels
import pymupdf
import pytest
from PIL import Image, _imaging

from chalicelib.imaging import grey_rows
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.tiler import Rendition, Tile, TileSettings, tile_page
from tests.unit.test_imaging_tiler import _report_page

SIZES = [(1, 1), (2, 1), (1, 2), (3, 3), (5, 4), (4, 5), (257, 131), (256, 256), (1023, 7)]


@pytest.fixture(params=[True, False], ids=["kernels", "pillow"])
def native(request, monkeypatch):
    """Each test twice: with the kernels, and as a venv without them halves (Pillow)."""
    monkeypatch.setattr(grey_rows, "_use_native", request.param)
    return request.param


def _noise(width: int, height: int, seed: int = 7) -> bytearray:
    return bytearray(random.Random(seed * width + height).randbytes(width * height))


def _held(width: int, height: int) -> Image.Image:
    buffer = _noise(width, height)
    return grey_rows.mapped(memoryview(buffer), kalexo_pixels.address_of(buffer), width, height, buffer)


def test_the_venv_has_the_kernels_built_for_this_machine():
    # `make` compiles them into the venv (layers/native.py); a missing compiler would leave Pillow halving.
    assert grey_rows.native()
    assert Path(kalexo_pixels.__file__).with_name(kalexo_pixels.LIBRARY_NAME).is_file()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_halving_gives_pillows_reduce_bytes(width, height, native):
    image = _held(width, height)
    expected = Image.frombytes("L", (width, height), bytes(_noise(width, height))).reduce(2)
    halved = grey_rows.halved(image)
    assert halved.size == expected.size == ((width + 1) // 2, (height + 1) // 2)
    assert halved.tobytes() == expected.tobytes()
    # A halved level halves again in C: its memory is held here too.
    assert grey_rows.halved(halved).tobytes() == expected.reduce(2).tobytes()


def test_an_image_pillow_owns_halves_too_and_is_copied_into_held_memory_first():
    image = Image.frombytes("L", (257, 131), bytes(_noise(257, 131)))
    held = grey_rows.owned(image)
    assert held is not image and held.tobytes() == image.tobytes()
    assert grey_rows.owned(held) is held
    assert grey_rows.halved(image).tobytes() == image.reduce(2).tobytes()  # Pillow's own: no address to give C
    rgb = Image.new("RGB", (4, 4))
    assert grey_rows.owned(rgb) is rgb and grey_rows.halved(rgb).size == (2, 2)


def test_rows_are_a_view_of_the_same_memory_not_a_copy(native):
    buffer = _noise(300, 40)
    image = grey_rows.mapped(memoryview(buffer), kalexo_pixels.address_of(buffer), 300, 40, buffer)
    middle = grey_rows.rows(image, 10, 25)
    assert middle.tobytes() == image.crop((0, 10, 300, 25)).tobytes()
    buffer[10 * 300] = (buffer[10 * 300] + 1) % 256  # the view sees a change to the memory under it
    assert middle.getpixel((0, 0)) == buffer[10 * 300]
    assert grey_rows.halved(middle).tobytes() == middle.copy().reduce(2).tobytes()  # its address is offset right


def test_joined_rows_equal_the_parts_stacked(native):
    parts = [_held(301, h) for h in (3, 1, 8)]
    parts.append(Image.frombytes("L", (301, 2), bytes(_noise(301, 2))))  # one that Pillow owns
    stacked = Image.new("L", (301, 14))
    top = 0
    for part in parts:
        stacked.paste(part, (0, top))
        top += part.height
    assert grey_rows.joined(parts).tobytes() == stacked.tobytes()
    assert grey_rows.joined(parts[:3]).tobytes() == stacked.crop((0, 0, 301, 12)).tobytes()
    assert grey_rows.joined(parts[:1]) is parts[0]


def test_a_blank_band_is_one_value_and_a_size_mismatch_is_refused():
    assert grey_rows.blank(5, 3).tobytes() == b"\xff" * 15
    assert grey_rows.blank(2, 2, 7).tobytes() == b"\x07" * 4
    buffer = bytearray(10)
    with pytest.raises(ValueError, match="10 bytes for 3 x 3"):
        grey_rows.mapped(memoryview(buffer), kalexo_pixels.address_of(buffer), 3, 3, buffer)


def test_the_green_channel_of_mupdf_rgb_rows(native):
    width, height = 203, 11
    samples = bytes(_noise(3 * width, height))
    pix = pymupdf.Pixmap(pymupdf.csRGB, width, height, samples, 0)  # three bytes a pixel, as MuPDF renders
    grey = grey_rows.green(pix.samples_mv, pix.samples_ptr, pix.stride, pix.width, pix.height)
    expected = Image.frombytes("RGB", (width, height), samples).getchannel("G")
    assert grey.tobytes() == expected.tobytes()


def test_rows_shorter_than_their_size_are_refused_before_any_kernel_reads_them():
    short = bytearray(3 * 10 * 4 - 1)
    with pytest.raises(ValueError, match="119 bytes for 4 rows of 10 RGB pixels 30 bytes apart"):
        grey_rows.green(memoryview(short), kalexo_pixels.address_of(short), 30, 10, 4)


def test_the_kernels_refuse_what_they_cannot_do():
    with pytest.raises(ValueError, match="nothing to halve"):
        kalexo_pixels.halve(0, 0, 0, 5, 0, 0)
    with pytest.raises(ValueError, match="channel 3 of a 3-byte pixel"):
        kalexo_pixels.channel(0, 0, 1, 1, 3, 3, 0, 0)
    with pytest.raises(ValueError, match="nothing to halve"):
        kalexo_pixels.halve4(0, 0, 3, 0, 0, 0)
    with pytest.raises(ValueError, match="4-byte pixels"):
        kalexo_pixels.to_rgbx(0, 0, 1, 1, 4, 0, 0)


def _pieces(path: str, kind: Kind, settings: TileSettings) -> list[tuple[object, ...]]:
    pieces: list[tuple[object, ...]] = []

    def sink(piece: Tile | Rendition) -> None:
        if isinstance(piece, Tile):
            pieces.append((piece.level, piece.col, piece.row, piece.data))
        else:
            pieces.append((piece.name, piece.data))

    result = tile_page(path, kind, 0, settings, sink)
    pieces.append(("thumbnail", result.thumbnail))
    return pieces


def _mostly_grey_page(path: Path) -> str:
    """A red heading over grey text, a grey box and black rules: a grey pyramid with a few colour tiles."""
    return _report_page(path, heading=(0.8, 0.1, 0.1), fill=(0.8, 0.8, 0.8), rules=(0, 0, 0))


@pytest.mark.parametrize("dpi", [150, 97])  # 97: a page of odd sizes at every level
def test_a_page_tiles_to_the_same_bytes_with_and_without_the_kernels(tmp_path, monkeypatch, dpi):
    path = _mostly_grey_page(tmp_path / "page.pdf")
    settings = TileSettings(dpi=dpi)
    with_kernels = _pieces(path, Kind.PDF, settings)
    monkeypatch.setattr(grey_rows, "_use_native", False)
    assert _pieces(path, Kind.PDF, settings) == with_kernels
    assert sum(len(piece) == 4 for piece in with_kernels) > 20  # tiles, not only renditions


def test_a_grey_raster_tiles_to_the_same_bytes_with_and_without_the_kernels(tmp_path, monkeypatch):
    path = tmp_path / "scan.png"
    Image.frombytes("L", (1201, 777), bytes(_noise(1201, 777))).save(path)
    settings = TileSettings()
    with_kernels = _pieces(str(path), Kind.PNG, settings)
    monkeypatch.setattr(grey_rows, "_use_native", False)
    assert _pieces(str(path), Kind.PNG, settings) == with_kernels


@pytest.mark.parametrize(("setting", "value"), [("alignment", 64), ("block_size", 4096)])
def test_colour_tiles_fall_back_to_pillow_where_its_rows_are_not_back_to_back(tmp_path, setting, value):
    # PILLOW_ALIGNMENT pads rows; a tile larger than PILLOW_BLOCK_SIZE spans blocks: no one address for C.
    path = _mostly_grey_page(tmp_path / "page.pdf")
    settings = TileSettings(dpi=150)
    expected = _pieces(path, Kind.PDF, settings)
    previous = getattr(_imaging, f"get_{setting}")()
    getattr(_imaging, f"set_{setting}")(value)
    try:
        assert _pieces(path, Kind.PDF, settings) == expected
    finally:
        getattr(_imaging, f"set_{setting}")(previous)
