"""A mostly grey page with some colour is tiled as a grey pyramid plus colour tiles (`chalicelib.imaging.mixed`).
Its tiles must be the pixels an RGB pyramid of the same page has, exactly, at every level: checked with PNG
tiles (lossless) on a page large enough for streamed levels, several bands, odd edges and both ways of making
colour tiles (runs rendered apart, and a band rendered once in RGB)."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from chalicelib.domain.tile_plan import TilePlan
from chalicelib.imaging import mixed, tiler
from chalicelib.imaging.content import Box, ContentMap
from chalicelib.imaging.tiler import Rendition, Tile, TileSettings

WIDTH, HEIGHT = 5003, 3001  # 15 Mpx: the top levels are streamed; odd sizes give odd edges at every level
SETTINGS = TileSettings(tile_size=64, format="png", thumbnail_side=64)
# Colour: a thin dimension chain across the top (runs), a spot on the bottom right corner (odd edges), a
# stamp across a band boundary, and a photo filling most of one band (that band is rendered once in RGB).
COLOUR_BOXES: list[Box] = [(100.0, 40.0, 4900.0, 60.0), (4990.0, 2990.0, 5003.0, 3001.0),
                           (2000.0, 1580.0, 2100.0, 1620.0), (300.0, 1700.0, 4700.0, 2300.0)]


def _sheet() -> Image.Image:
    """Grey line work everywhere (every pixel neutral) with coloured things inside COLOUR_BOXES only."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for x in range(0, WIDTH, 37):
        draw.line((x, 0, x + 300, HEIGHT), fill=(90, 90, 90), width=1)
    for y in range(0, HEIGHT, 53):
        draw.line((0, y, WIDTH, y), fill=(160, 160, 160), width=2)
    draw.line((100, 50, 4899, 50), fill=(20, 40, 200), width=3)
    draw.rectangle((4995, 2995, 5002, 3000), fill=(200, 30, 30))
    draw.ellipse((2010, 1585, 2090, 1615), outline=(0, 150, 0), width=4)
    for y in range(1700, 2300, 7):  # a "photo": colour in every pixel of its box
        draw.line((300, y, 4699, y), fill=(y % 256, (3 * y) % 256, 120), width=7)
    return image


class _FakePage:
    """What `tile_page` sees of a vector page, rendering from a fixed image (grey: its luma, which for a
    neutral pixel is its value, as MuPDF's grey render of a neutral colour is)."""

    def __init__(self, image: Image.Image) -> None:
        self.content_boxes: list[Box] | None = None
        self.colour_boxes: list[Box] | None = COLOUR_BOXES
        self.text, self.mode = "", "RGB"
        self._image = image
        self.width, self.height = image.size
        self.regions: list[tuple[tuple[int, int, int, int], str]] = []

    def band(self, top: int, bottom: int, mode: str | None = None) -> Image.Image:
        return self.region((0, top, self.width, bottom), mode or self.mode)

    def region(self, box: tuple[int, int, int, int], mode: str) -> Image.Image:
        self.regions.append((box, mode))
        pixels = self._image.crop(box)
        return pixels if mode == "RGB" else pixels.convert("L")


def _tiles(page: _FakePage) -> tuple[dict[tuple[int, int, int], Image.Image], dict[str, Image.Image]]:
    out: list[Tile | Rendition] = []
    result = tiler._tile(page, SETTINGS, out.append)
    tiles: dict[tuple[int, int, int], Image.Image] = {
        (t.level, t.col, t.row): Image.open(io.BytesIO(t.data)) for t in out if isinstance(t, Tile)}
    wholes: dict[str, Image.Image] = {r.name: Image.open(io.BytesIO(r.data)) for r in out if isinstance(r, Rendition)}
    wholes["thumbnail"] = Image.open(io.BytesIO(result.thumbnail))
    return tiles, wholes


@pytest.fixture(scope="module")
def sheet() -> Image.Image:
    return _sheet()


def test_the_sheet_is_worth_mixing_and_uses_both_ways_of_rendering_colour(sheet: Image.Image) -> None:
    plan = TilePlan(WIDTH, HEIGHT, SETTINGS.tile_size)
    assert mixed.worth_mixing(plan, ContentMap(COLOUR_BOXES, plan))
    page = _FakePage(sheet)
    _tiles(page)
    rgb = [box for box, mode in page.regions if mode == "RGB"]
    assert any(box[0] == 0 and box[2] == WIDTH for box in rgb), "the photo's band is rendered once in RGB"
    assert any(box[2] - box[0] < WIDTH for box in rgb), "thin colour is rendered as runs of tiles"
    assert not any(box[1] == 0 and box[2] - box[0] == WIDTH for box in rgb), "the first band is grey"


def test_every_tile_equals_the_rgb_pyramids(sheet: Image.Image, monkeypatch: pytest.MonkeyPatch) -> None:
    mixed_tiles, mixed_wholes = _tiles(_FakePage(sheet))
    monkeypatch.setattr(tiler, "worth_mixing", lambda plan, colour: False)
    rgb_tiles, rgb_wholes = _tiles(_FakePage(sheet))
    assert mixed_tiles.keys() == rgb_tiles.keys()
    coloured = 0
    for key, expected in rgb_tiles.items():
        got = mixed_tiles[key]
        assert got.size == expected.size, key
        assert got.convert("RGB").tobytes() == expected.convert("RGB").tobytes(), f"tile {key} differs"
        coloured += got.mode == "RGB"
        if got.mode == "L":  # a grey tile must really be grey in the RGB pyramid too
            assert expected.mode == "L" or expected.convert("RGB").tobytes() == got.convert("RGB").tobytes()
    assert coloured > 20, "colour tiles come out in colour"
    grey_share = sum(t.mode == "L" for t in mixed_tiles.values()) / len(mixed_tiles)
    assert grey_share > 0.5
    # The `max` image (JPEG) and the thumbnail are made from held levels: colour pasted in, same pixels.
    for name in ("max", "thumbnail"):
        got, expected = mixed_wholes[name], rgb_wholes[name]
        assert got.mode == expected.mode == "RGB" and got.size == expected.size
        assert got.tobytes() == expected.tobytes(), name


def test_pyramids_with_overlap_are_never_mixed() -> None:
    plan = TilePlan(WIDTH, HEIGHT, 64, overlap=1)
    assert not mixed.worth_mixing(plan, ContentMap(COLOUR_BOXES, plan))


def test_a_page_mostly_in_colour_is_not_mixed() -> None:
    plan = TilePlan(WIDTH, HEIGHT, 64)
    assert not mixed.worth_mixing(plan, ContentMap([(0.0, 0.0, WIDTH * 0.8, float(HEIGHT))], plan))
