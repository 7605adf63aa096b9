"""The streaming pyramid against the obvious one, the banded render against a whole-page render, the tile cache."""

from __future__ import annotations

import random

import pymupdf
import pytest
from PIL import Image, ImageChops, ImageDraw

from chalicelib.domain.tile_plan import Level, TilePlan
from chalicelib.imaging import encode
from chalicelib.imaging.pyramid import Pyramid
from chalicelib.imaging.render import VectorPage


def _noise(width: int, height: int, seed: int = 1) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))


def _reference_levels(image: Image.Image, plan: TilePlan) -> dict[int, Image.Image]:
    """The obvious pyramid: the whole image halved again and again."""
    levels = {plan.max_level: image}
    for number in range(plan.max_level - 1, -1, -1):
        levels[number] = levels[number + 1].reduce(2)
    return levels


@pytest.mark.parametrize(("width", "height", "tile", "overlap", "band_rows"), [
    (1000, 777, 256, 0, 256),  # odd height, streamed levels then held ones
    (513, 1025, 128, 0, 384),  # bands of 3 tile rows: odd band height halves with a carried row
    (700, 600, 254, 1, 254),  # DZI's classic 254 + 1 overlap: tile rows need rows of the next band
    (301, 299, 64, 2, 37),  # bands that do not line up with tiles at all
])
def test_streamed_pyramid_equals_the_whole_image_pyramid(width, height, tile, overlap, band_rows):
    image = _noise(width, height)
    plan = TilePlan(width, height, tile, overlap)
    reference = _reference_levels(image, plan)
    cut: dict[tuple[int, int, int], Image.Image] = {}

    def collect(level: Level, row: int, rows: Image.Image, top: int) -> None:
        for col in range(level.cols):
            left, t, right, bottom = plan.tile_box(level.level, col, row)
            assert (level.level, col, row) not in cut
            cut[(level.level, col, row)] = rows.crop((left, t - top, right, bottom - top))

    pyramid = Pyramid(plan, collect, small_pixels=20_000)  # hold only small levels, so most are streamed
    for top in range(0, height, band_rows):
        bottom = min(height, top + band_rows)
        pyramid.push(image.crop((0, top, width, bottom)), last=bottom == height)

    assert len(cut) == plan.tile_count()
    for (number, col, row), tile in cut.items():
        expected = reference[number].crop(plan.tile_box(number, col, row))
        assert tile.tobytes() == expected.tobytes(), (number, col, row)
    assert reference[0].size == (1, 1) and cut[(0, 0, 0)].size == (1, 1)
    assert min(pyramid.images) == 0 and all(pyramid.images[n].tobytes() == reference[n].tobytes()
                                            for n in pyramid.images)


def test_push_checks_rows():
    pyramid = Pyramid(TilePlan(10, 10), lambda *args: None)
    with pytest.raises(ValueError, match="wide"):
        pyramid.push(Image.new("RGB", (9, 10)), last=True)
    with pytest.raises(ValueError, match="last"):
        pyramid.push(Image.new("RGB", (10, 5)), last=True)


def test_banded_render_matches_a_whole_page_render():
    doc = pymupdf.open()
    page = doc.new_page(width=400, height=500)
    page.insert_text((30, 40), "Hairlines across band edges", fontsize=11)
    shape = page.new_shape()
    for i in range(120):  # near-horizontal hairlines cross every band boundary at many sub-pixel offsets
        shape.draw_line((20, 60 + i * 3.7), (380, 64 + i * 3.6))
    shape.finish(color=(0, 0, 0), width=0.3)
    shape.draw_circle((200, 300), 120)
    shape.finish(color=(0.8, 0.1, 0.1), width=1.5)
    shape.commit()
    vector = VectorPage(page, dpi=150, max_side=16384)
    whole = page.get_pixmap(matrix=pymupdf.Matrix(150 / 72, 150 / 72), alpha=False)
    assert (vector.width, vector.height) == (whole.width, whole.height)
    reference = Image.frombytes("RGB", (whole.width, whole.height), whole.samples)
    banded = Image.new("RGB", reference.size)
    for top in range(0, vector.height, 64):
        band = vector.band(top, min(vector.height, top + 64))
        assert band.size == (vector.width, min(vector.height, top + 64) - top)
        banded.paste(band, (0, top))
    diff = ImageChops.difference(banded, reference).convert("L")
    assert max(diff.getextrema()) <= 2  # type: ignore[operator]  # anti-aliasing may differ by a level here and there; nothing moved
    # No seam: no row differs in more than a sliver of its pixels (a shifted band would differ everywhere).
    for y in range(diff.height):
        row = diff.crop((0, y, diff.width, y + 1))
        changed = sum(count for count, value in (row.getcolors(256) or []) if value)
        assert changed <= diff.width * 0.02, y


def test_uniform_tiles_are_encoded_once_per_process():
    encode.uniform_tile.cache_clear()
    white = Image.new("RGB", (256, 256), (255, 255, 255))
    first = encode.encode_tile(white, "jpeg", 85)
    second = encode.encode_tile(white.copy(), "jpeg", 85)
    info = encode.uniform_tile.cache_info()
    assert (first.uniform, info.misses, info.hits) == ("ffffff", 1, 1)
    assert first.data is second.data  # the very same bytes object: not encoded again
    assert Image.open(__import__("io").BytesIO(first.data)).size == (256, 256)
    red_edge = encode.encode_tile(Image.new("RGB", (17, 256), (200, 0, 0)), "png", 85)
    assert red_edge.uniform == "c80000" and encode.uniform_tile.cache_info().misses == 2
    speck = white.copy()
    speck.putpixel((255, 255), (254, 255, 255))
    assert encode.encode_tile(speck, "jpeg", 85).uniform is None


def test_a_tile_encoded_where_it_lies_is_the_cropped_tiles_bytes():
    """Grey JPEG tiles are encoded from their box of the level's rows, without a cropped copy: the same bytes
    as encoding the crop, at every kind of box (inside, at the right and bottom edges, narrow)."""
    image = Image.new("L", (700, 300), 255)
    draw = ImageDraw.Draw(image)
    for x in range(0, 700, 9):
        draw.line((x, 0, x + 120, 300), fill=(x * 7) % 200)
    for box in ((0, 0, 256, 256), (256, 0, 512, 256), (512, 256, 700, 300), (3, 5, 20, 299)):
        got = encode.encode_tile(image, "jpeg", 85, box)
        assert got.data == encode.encode(image.crop(box), "jpeg", 85) and got.uniform is None, box
    blank = encode.encode_tile(image.crop((0, 0, 700, 300)).point(lambda _: 255), "jpeg", 85, (100, 0, 356, 256))
    assert blank.uniform == "ffffff" and blank.data == encode.uniform_tile(256, 256, (255, 255, 255), "jpeg", 85)


def test_a_tile_is_uniform_when_every_pixel_is_one_colour():
    """Probes, then every pixel, read where the tile lies: a mark anywhere, however faint, is content."""
    white = Image.new("L", (600, 300), 255)
    for mark in ((100, 100), (0, 255), (255, 0), (128, 200)):
        faint = white.copy()
        faint.putpixel((mark[0] + 256, mark[1]), 254)
        assert encode.encode_tile(faint, "jpeg", 85, (256, 0, 512, 256)).uniform is None, mark
        assert encode.encode_tile(faint, "jpeg", 85, (0, 0, 256, 256)).uniform == "ffffff"
    for mode, colour in (("L", 255), ("L", 40), ("RGB", (255, 255, 255)), ("RGB", (10, 200, 30))):
        plain = encode.encode_tile(Image.new(mode, (256, 130), colour), "jpeg", 85)
        assert plain.uniform == encode.hex_colour(encode._rgb(colour)), (mode, colour)
        assert Image.open(__import__("io").BytesIO(plain.data)).mode == ("L" if mode == "L" or colour == (
            255, 255, 255) else "RGB")
        edge = encode.encode_tile(Image.new(mode, (300, 300), colour), "png", 85, (256, 256, 300, 300))
        assert edge.uniform == encode.hex_colour(encode._rgb(colour))
        assert Image.open(__import__("io").BytesIO(edge.data)).size == (44, 44)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_content_boxes_cover_what_is_drawn_on_rotated_pages(rotation):
    doc = pymupdf.open()
    page = doc.new_page(width=300, height=500)
    page.draw_rect(pymupdf.Rect(10, 20, 50, 60), fill=(1, 0, 0))
    page.add_rect_annot(pymupdf.Rect(200, 400, 260, 450))
    page.set_rotation(rotation)
    vector = VectorPage(page, dpi=72, max_side=16384)
    drawn = Image.new("L", (vector.width, vector.height), 0)
    rendered = vector.band(0, vector.height).convert("L")
    for left, top, right, bottom in vector.content_boxes or []:
        drawn.paste(255, (int(left), int(top), int(right) + 1, int(bottom) + 1))
    # Every non-white pixel lies inside some content box.
    outside = Image.composite(Image.new("L", drawn.size, 255), rendered, drawn)
    assert outside.getextrema() == (255, 255)


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_direct_jpeg_encoding_writes_what_save_writes(mode):
    import io

    tile = _noise(256, 200).convert(mode)
    for quality in (60, 85):
        saved = io.BytesIO()
        tile.save(saved, "JPEG", quality=quality, optimize=False)
        assert encode.encode(tile, "jpeg", quality) == saved.getvalue()


def test_grey_pyramid_streams_like_an_rgb_one():
    image = _noise(700, 530).convert("L")
    plan = TilePlan(700, 530, 128, 0)
    cut: dict[tuple[int, int, int], Image.Image] = {}

    def keep(level: Level, row: int, rows: Image.Image, top: int) -> None:
        for col in range(level.cols):
            left, upper, right, lower = plan.tile_box(level.level, col, row)
            cut[(level.level, col, row)] = rows.crop((left, upper - top, right, lower - top))

    pyramid = Pyramid(plan, keep, small_pixels=10_000, mode="L")
    for top in range(0, 530, 128):
        pyramid.push(image.crop((0, top, 700, min(530, top + 128))), last=top + 128 >= 530)
    levels = _reference_levels(image, plan)
    for (number, col, row), tile in cut.items():
        assert tile.mode == "L"
        assert tile.tobytes() == levels[number].crop(plan.tile_box(number, col, row)).tobytes()
    with pytest.raises(ValueError, match="must be L"):
        Pyramid(plan, keep, mode="L").push(Image.new("RGB", (700, 530)), last=True)
