"""A mostly grey page with some colour is tiled as a grey pyramid plus colour tiles (`chalicelib.imaging.mixed`).
Its tiles must be the pixels an RGB pyramid of the same page has, exactly, at every level: checked with PNG
tiles (lossless) on a page large enough for streamed levels, several bands, odd edges and both ways of making
colour tiles (bands with colour rendered in RGB, bands without in grey). And with MuPDF's own renders of a
real page, within one level of the RGB pyramid (its grey render of a neutral stroke may differ by one)."""

from __future__ import annotations

import io
from pathlib import Path

import kalexo_pixels
import pymupdf
import pytest
from PIL import Image, ImageChops, ImageDraw

from chalicelib.domain.tile_plan import TilePlan
from chalicelib.imaging import colour_rows, mixed, tiler
from chalicelib.imaging.content import Box, ContentMap
from chalicelib.imaging.formats import Kind
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
    neutral pixel is its value, as MuPDF's grey render of a neutral colour is, within a level)."""

    def __init__(self, image: Image.Image, held: bool = False) -> None:
        self.held = held  # colour tiles as `colour_rows` holds a render's (RGBX views), so they halve in C
        self.content_boxes: list[Box] | None = None
        self.colour_boxes: list[Box] | None = COLOUR_BOXES
        self.text, self.mode = "", "RGB"
        self._image = image
        self.width, self.height = image.size
        self.bands: list[tuple[int, int, str]] = []

    def band(self, top: int, bottom: int, mode: str | None = None) -> Image.Image:
        mode = mode or self.mode
        self.bands.append((top, bottom, mode))
        pixels = self._image.crop((0, top, self.width, bottom))
        return pixels if mode == "RGB" else pixels.convert("L")

    def damage(self) -> str:
        return ""  # read whole

    def colour_band(self, top: int, bottom: int,
                    boxes: list[tuple[int, int, int, int]]) -> tuple[Image.Image, list[Image.Image]]:
        """As VectorPage's: one channel of the rows (green, not luma: what it gives where pixels are in colour
        must not show in any tile), and the boxes in RGB."""
        self.bands.append((top, bottom, "RGB"))
        assert all(top <= box[1] and box[3] <= bottom for box in boxes), (top, bottom, boxes)
        crops = [self._image.crop(b) for b in boxes]
        return self._image.crop((0, top, self.width, bottom)).getchannel(1), [
            _held(crop) if self.held else crop for crop in crops]


def _held(crop: Image.Image) -> Image.Image:
    rows = bytearray(crop.tobytes())
    return colour_rows.from_render(memoryview(rows), kalexo_pixels.address_of(rows), 3 * crop.width,
                                   (0, 0, crop.width, crop.height))


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


@pytest.fixture(autouse=True)
def narrow_bands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tiler, "BAND_PIXELS", 2_000_000)  # bands of 384 rows: some hold no colour


def test_only_bands_that_hold_colour_are_rendered_in_rgb(sheet: Image.Image) -> None:
    plan = TilePlan(WIDTH, HEIGHT, SETTINGS.tile_size)
    assert mixed.worth_mixing(plan, ContentMap(COLOUR_BOXES, plan))
    page = _FakePage(sheet)
    _tiles(page)
    # At most 384 rows a band, cut where colour starts or stops: only the tile rows colour reaches are in RGB.
    assert page.bands == [
        (0, 64, "RGB"), (64, 448, "L"), (448, 832, "L"), (832, 1216, "L"), (1216, 1536, "L"), (1536, 1920, "RGB"),
        (1920, 2304, "RGB"), (2304, 2688, "L"), (2688, 2944, "L"), (2944, 3001, "RGB")]


@pytest.mark.parametrize("held", [False, True], ids=["pillow tiles", "held tiles"])
def test_every_tile_equals_the_rgb_pyramids(sheet: Image.Image, monkeypatch: pytest.MonkeyPatch, held: bool) -> None:
    mixed_tiles, mixed_wholes = _tiles(_FakePage(sheet, held))
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


def test_pyramids_with_overlap_or_odd_tiles_are_never_mixed() -> None:
    plan = TilePlan(WIDTH, HEIGHT, 64, overlap=1)
    assert not mixed.worth_mixing(plan, ContentMap(COLOUR_BOXES, plan))
    odd = TilePlan(WIDTH, HEIGHT, 65)  # a parent's 2 x 2 boxes would straddle two children
    assert not mixed.worth_mixing(odd, ContentMap(COLOUR_BOXES, odd))


def test_a_page_mostly_in_colour_is_not_mixed() -> None:
    plan = TilePlan(WIDTH, HEIGHT, 64)
    assert not mixed.worth_mixing(plan, ContentMap([(0.0, 0.0, WIDTH * 0.8, float(HEIGHT))], plan))


def test_a_real_page_tiles_within_one_level_of_the_rgb_pyramid(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Grey strokes crossing into tiles a red line reaches: no seam where colour tiles meet grey ones."""
    path = str(tmp_path / "sheet.pdf")
    with pymupdf.open() as doc:
        page = doc.new_page(width=620, height=420)
        for x in range(-400, 620, 23):
            page.draw_line((x, 0), (x + 400, 420), color=(0.35, 0.35, 0.35), width=0.6)
        page.draw_line((40, 200), (580, 205), color=(0.9, 0.1, 0.1), width=0.8)
        page.draw_circle((300, 100), 30, color=(0.1, 0.3, 0.8), width=1.2)
        doc.save(path)
    settings = TileSettings(format="png", dpi=300)  # 2584 x 1750: the full size is streamed

    def tiles() -> dict[tuple[int, int, int], Image.Image]:
        out: list[Tile | Rendition] = []
        tiler.tile_page(path, Kind.PDF, 0, settings, out.append)
        return {(t.level, t.col, t.row): Image.open(io.BytesIO(t.data)).convert("RGB")
                for t in out if isinstance(t, Tile)}

    verdicts: list[bool] = []

    def spy(plan: TilePlan, colour: ContentMap) -> bool:
        verdicts.append(mixed.worth_mixing(plan, colour))
        return verdicts[-1]

    cuts: list[list[tuple[int, int]]] = []

    def bands(width: int, height: int, tile_size: int, colour: mixed.ColourTiles | None) -> list[tuple[int, int]]:
        if not cuts:
            cuts.append(real_bands(width, height, tile_size, colour))
        return cuts[0]

    real_bands = tiler.bands
    monkeypatch.setattr(tiler, "worth_mixing", spy)
    monkeypatch.setattr(tiler, "bands", bands)
    got = tiles()
    assert verdicts == [True] and len(cuts[0]) == 3  # grey rows, the red line's tile row, grey rows
    # The RGB pyramid rendered in the same bands: MuPDF clips a long stroke's edges to a band, which moves its
    # anti-aliasing by up to ~20 levels (52 dB PSNR on a page of diagonal lines cut every 256 rows), whatever
    # the band's mode; what is checked here is that the colour tiles and grey bands agree with it.
    monkeypatch.setattr(tiler, "worth_mixing", lambda plan, colour: False)
    expected = tiles()
    assert got.keys() == expected.keys()
    worst = max(max(ImageChops.difference(got[key], image).tobytes()) for key, image in expected.items())
    assert worst <= 1


def test_a_raster_page_gives_a_colour_band_as_a_vector_page_does(sheet: Image.Image) -> None:
    """RasterPage names no colour boxes (the tiler never mixes it), but answers `colour_band` alike."""
    from chalicelib.imaging.raster_page import RasterPage
    from chalicelib.imaging.render import VectorPage

    raster = RasterPage(sheet.copy(), 16384)
    box = (4900, 40, 5003, 104)
    grey, crops = raster.colour_band(0, 384, [box])
    assert grey.mode == "L" and grey.size == (WIDTH, 384)
    assert grey.tobytes() == sheet.crop((0, 0, WIDTH, 384)).convert("L").tobytes()
    assert crops[0].tobytes() == sheet.crop(box).tobytes()
    with pymupdf.open() as doc:
        page = doc.new_page(width=200, height=100)
        page.draw_line((10, 20), (190, 20), color=(0.4, 0.4, 0.4), width=2)  # grey: one channel is exact
        page.draw_rect(pymupdf.Rect(150, 60, 190, 90), color=(0.9, 0.1, 0.1), fill=(0.9, 0.1, 0.1))
        vector = VectorPage(page, 72, 16384)
        grey, crops = vector.colour_band(0, 100, [(140, 50, 200, 100)])
        rgb = vector.band(0, 100, "RGB")
    assert grey.crop((0, 0, 200, 50)).tobytes() == rgb.crop((0, 0, 200, 50)).convert("L").tobytes()
    assert crops[0].convert("RGB").tobytes() == rgb.crop((140, 50, 200, 100)).tobytes()  # RGBX: RGB as Pillow has it


def test_a_render_that_misses_rows_is_placed_where_it_belongs() -> None:
    """Should MuPDF round a band's clip to other rows than asked (it has not been seen to), what it rendered is
    placed at its own rows and the rest left white, in both modes."""
    from chalicelib.imaging.render import VectorPage

    with pymupdf.open() as doc:
        page = doc.new_page(width=200, height=100)
        page.draw_rect(pymupdf.Rect(0, 0, 200, 100), color=(0.3, 0.3, 0.3), fill=(0.3, 0.3, 0.3))
        vector = VectorPage(page, 72, 16384)
        real = vector._list

        class ShortRender:
            def get_pixmap(self, **kwargs: object) -> pymupdf.Pixmap:
                pix = real.get_pixmap(**kwargs)
                short = pymupdf.Pixmap(pix.colorspace, pymupdf.IRect(pix.x, pix.y + 12, pix.x + pix.width,
                                                                     pix.y + pix.height), False)
                short.copy(pix, short.irect)
                return short

        vector._list = ShortRender()
        grey = vector.band(20, 60, "L")
        rgb = vector.band(20, 60, "RGB")
    for band, white in ((grey, 255), (rgb, (255, 255, 255))):
        assert band.size == (200, 40)
        # Rows from 12 (20 less the 8 margin rows) were asked for, from 24 rendered: the band's first 4 rows
        # are white, the rest the grey fill.
        assert [band.getpixel((100, y)) == white for y in (0, 3, 4, 39)] == [True, True, False, False]
