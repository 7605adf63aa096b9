"""`tile_page` end to end on real files: a valid pyramid for every kind, the pixels right, bad input refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageChops

from chalicelib.domain.tile_plan import TilePlan
from chalicelib.imaging import encode
from chalicelib.imaging.errors import DocumentRejected
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.limits import Limits
from chalicelib.imaging.tiler import PageTiles, Rendition, Tile, TileSettings, tile_page
from tests.unit.test_imaging_analyse import bomb_png, epub_file, xps_file

LOW = TileSettings(dpi=72)
DEFAULTS = Limits()


def _report_page(path: Path, size: tuple[float, float] = (612, 792), heading: tuple[float, ...] = (0, 0, 0),
                 fill: tuple[float, ...] = (0.1, 0.5, 0.3), rules: tuple[float, ...] = (0.2, 0.2, 0.6)) -> str:
    """A heading, a paragraph, a filled box and ruled lines; colours given as RGB (grey ones keep it grey)."""
    doc = pymupdf.open()
    page = doc.new_page(width=size[0], height=size[1])
    page.insert_text((72, 80), "Ground floor plan: revision C", fontsize=14, color=heading)
    page.insert_textbox(pymupdf.Rect(72, 100, 540, 300), "The survey found the slab level and dry. " * 12,
                        fontsize=10)
    page.draw_rect(pymupdf.Rect(72, 320, 540, 600), color=(0, 0, 0), fill=fill, width=2)
    for i in range(30):
        page.draw_line((72, 620 + i * 4), (540, 625 + i * 4), color=rules, width=0.4)
    doc.save(str(path))
    return str(path)


def _tile(path: str, kind: Kind, index: int = 0, settings: TileSettings = LOW,
          limits: Limits = DEFAULTS) -> tuple[PageTiles, list[Tile]]:
    pieces: list[Tile | Rendition] = []
    result = tile_page(path, kind, index, settings, pieces.append, limits)
    *tiles, whole = pieces  # the `max` image comes last, once
    assert isinstance(whole, Rendition) and all(isinstance(t, Tile) for t in tiles)
    return result, [t for t in tiles if isinstance(t, Tile)]


def _assert_valid_pyramid(result: PageTiles, tiles: list[Tile], settings: TileSettings) -> TilePlan:
    plan = TilePlan(result.width, result.height, settings.tile_size, settings.overlap)
    assert (result.max_level, result.tile_count) == (plan.max_level, plan.tile_count())
    expected = {(lv.level, c, r) for lv in plan.levels() for c in range(lv.cols) for r in range(lv.rows)}
    assert [(t.level, t.col, t.row) for t in tiles].__len__() == len(expected)
    assert {(t.level, t.col, t.row) for t in tiles} == expected
    for tile in tiles:
        left, top, right, bottom = plan.tile_box(tile.level, tile.col, tile.row)
        image = Image.open(io.BytesIO(tile.data))
        image.load()
        assert image.size == (right - left, bottom - top), (tile.level, tile.col, tile.row)
        assert image.mode in ("L", "RGB")  # grey where nothing coloured reaches (the pixels: see below)
    assert plan.level(0).width == plan.level(0).height == 1
    assert result.uniform_count == sum(t.uniform is not None for t in tiles)
    thumbnail = Image.open(io.BytesIO(result.thumbnail))
    assert thumbnail.format == "JPEG"
    assert max(thumbnail.size) == min(settings.thumbnail_side, max(result.width, result.height))
    return plan


def test_pdf_page_pyramid_text_and_thumbnail(tmp_path):
    result, tiles = _tile(_report_page(tmp_path / "report.pdf"), Kind.PDF, settings=TileSettings(dpi=100))
    assert (result.width, result.height) == (850, 1100)
    _assert_valid_pyramid(result, tiles, TileSettings(dpi=100))
    assert "Ground floor plan" in result.text
    assert result.uniform_count > 0
    assert all(t.uniform == "ffffff" for t in tiles if t.level == result.max_level and t.row == 0 and t.col == 3)


@pytest.mark.parametrize("settings", [TileSettings(dpi=72, tile_size=254, overlap=1, format="png"),
                                      TileSettings(dpi=72, tile_size=128, format="webp", thumbnail_side=100)])
def test_other_tile_shapes_and_formats(tmp_path, settings):
    result, tiles = _tile(_report_page(tmp_path / "r.pdf"), Kind.PDF, settings=settings)
    _assert_valid_pyramid(result, tiles, settings)
    assert {Image.open(io.BytesIO(t.data)).format for t in tiles} == {settings.format.upper()}


def test_tiles_hold_the_pages_pixels_at_every_level(tmp_path):
    """Lossless tiles, a page big enough that its top levels stream: each tile against a whole-page render."""
    path = _report_page(tmp_path / "r.pdf")
    settings = TileSettings(dpi=250, format="png")
    result, tiles = _tile(path, Kind.PDF, settings=settings)
    assert result.width * result.height > 4_000_000
    page = pymupdf.open(path)[0]
    pix = page.get_pixmap(matrix=pymupdf.Matrix(250 / 72, 250 / 72), alpha=False)
    levels = {result.max_level: Image.frombytes("RGB", (pix.width, pix.height), pix.samples)}
    for number in range(result.max_level - 1, -1, -1):
        levels[number] = levels[number + 1].reduce(2)
    plan = TilePlan(result.width, result.height)
    for tile in tiles:
        expected = levels[tile.level].crop(plan.tile_box(tile.level, tile.col, tile.row))
        worst = ImageChops.difference(Image.open(io.BytesIO(tile.data)).convert("RGB"), expected).getextrema()
        assert max(high for _, high in worst) <= 2, (tile.level, tile.col, tile.row, tile.uniform)  # type: ignore[misc]


def test_uniform_tiles_share_one_cached_encoding(tmp_path):
    encode.uniform_tile.cache_clear()
    tall = _report_page(tmp_path / "r.pdf", size=(612, 1400))  # white below the drawing
    result, tiles = _tile(tall, Kind.PDF, settings=TileSettings(dpi=150))
    white: dict[tuple[int, int], list[Tile]] = {}
    for tile in tiles:
        if tile.uniform == "ffffff":
            white.setdefault(Image.open(io.BytesIO(tile.data)).size, []).append(tile)
    green = [t for t in tiles if t.uniform not in (None, "ffffff")]
    assert max(map(len, white.values())) > 3 and green  # margins, and the inside of the big filled rectangle
    for same_size in white.values():
        assert all(t.data is same_size[0].data for t in same_size)  # one encoding, shared
    assert encode.uniform_tile.cache_info().hits >= sum(len(v) - 1 for v in white.values())


def test_giant_page_is_rendered_smaller_not_refused(tmp_path):
    path = _report_page(tmp_path / "giant.pdf", size=(14400, 14400))  # 200 x 200 inches
    settings = TileSettings(max_side=2048)
    result, tiles = _tile(path, Kind.PDF, settings=settings)
    assert (result.width, result.height) == (2048, 2048)
    _assert_valid_pyramid(result, tiles, settings)


def test_a_page_over_the_pixel_budget_is_rendered_within_it(tmp_path):
    path = _report_page(tmp_path / "letter.pdf")  # 2550 x 3300 px at 300 dpi: 8.4 Mpx
    settings = TileSettings(dpi=300, max_pixels=1_000_000)
    result, tiles = _tile(path, Kind.PDF, settings=settings)
    assert 990_000 < result.width * result.height <= 1_000_000  # within it once rounded to whole pixels
    assert result.width / result.height == pytest.approx(612 / 792, rel=0.01)
    assert 100 < result.width * 72 / 612 < 110  # 104 dpi: sqrt(1 Mpx / 8.4 Mpx) of 300
    _assert_valid_pyramid(result, tiles, settings)
    big = Image.new("RGB", (4000, 3000), (10, 20, 30))  # 12 Mpx: a photo keeps its pixels within the budget
    big.save(tmp_path / "photo.jpg", quality=90)
    photo, _ = _tile(str(tmp_path / "photo.jpg"), Kind.JPEG, settings=TileSettings(max_pixels=3_000_000))
    assert (photo.width, photo.height) == (2000, 1500)


def test_rasters_one_to_one_and_capped(tmp_path):
    rgba = Image.new("RGBA", (300, 200), (0, 0, 255, 0))
    rgba.paste((255, 0, 0, 255), (0, 0, 100, 100))
    rgba.save(tmp_path / "logo.png")
    frames = [Image.new("L", (90 + n, 60), 40 * n) for n in range(3)]
    frames[0].save(tmp_path / "scan.tif", save_all=True, append_images=frames[1:])
    Image.new("RGB", (3000, 1000), (10, 20, 30)).save(tmp_path / "wide.jpg", quality=90)
    logo, logo_tiles = _tile(str(tmp_path / "logo.png"), Kind.PNG)
    assert (logo.width, logo.height, logo.text) == (300, 200, "")
    _assert_valid_pyramid(logo, logo_tiles, LOW)
    top = next(t for t in logo_tiles if t.level == logo.max_level and t.col == 0)
    assert Image.open(io.BytesIO(top.data)).getpixel((150, 150))[:3] == (255, 255, 255)  # type: ignore[index]  # transparent: white
    third, _ = _tile(str(tmp_path / "scan.tif"), Kind.TIFF, index=2)
    assert (third.width, third.height) == (92, 60)
    wide, wide_tiles = _tile(str(tmp_path / "wide.jpg"), Kind.JPEG, settings=TileSettings(max_side=1024))
    assert (wide.width, wide.height) == (1024, 341)
    assert wide.uniform_count == wide.tile_count  # one colour throughout


def test_paged_kinds_other_than_pdf(tmp_path):
    svg = tmp_path / "plan.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><rect x="10" y="10" '
                   'width="100" height="50" fill="teal"/><text x="20" y="150">Plan</text></svg>')
    cbz = tmp_path / "comic.cbz"
    with zipfile.ZipFile(cbz, "w") as z:
        for n in range(2):
            out = io.BytesIO()
            picture = Image.new("RGB", (90, 120), (n * 80, 100, 100))
            picture.paste((250, 200, 0), (10, 10, 40, 40))
            picture.save(out, "PNG")
            z.writestr(f"{n:03d}.png", out.getvalue())
    for path, kind, index in ((str(svg), Kind.SVG, 0), (xps_file(tmp_path / "doc.xps"), Kind.XPS, 1),
                              (epub_file(tmp_path / "book.epub"), Kind.EPUB, 0), (str(cbz), Kind.CBZ, 1)):
        result, tiles = _tile(path, kind, index)
        _assert_valid_pyramid(result, tiles, LOW)
        assert result.uniform_count < result.tile_count  # something was drawn
    assert "site is level" in _tile(epub_file(tmp_path / "b2.epub"), Kind.EPUB)[0].text


def test_bad_input_is_refused_with_a_code(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    locked = tmp_path / "locked.pdf"
    doc = pymupdf.open()
    doc.new_page()
    doc.save(str(locked), encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o", user_pw="secret")  # type: ignore[attr-defined]
    docx = tmp_path / "minutes.docx"
    with zipfile.ZipFile(docx, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    monkeypatch.setenv("PATH", str(tmp_path / "no-soffice"))
    cases = [(str(empty), Kind.PDF, Limits(), "empty"), (str(locked), Kind.PDF, Limits(), "password_protected"),
             (bomb_png(tmp_path / "bomb.png"), Kind.PNG, Limits(), "image_too_large"),
             (str(docx), Kind.DOCX, Limits(), "unsupported_here"),
             (_report_page(tmp_path / "r.pdf"), Kind.PDF, Limits(max_pages=0), "too_many_pages")]
    for path, kind, limits, code in cases:
        with pytest.raises(DocumentRejected) as caught:
            _tile(path, kind, limits=limits)
        assert caught.value.code == code, path
    with pytest.raises(IndexError):
        _tile(_report_page(tmp_path / "one.pdf"), Kind.PDF, index=1)


def test_truncated_pdf_is_repaired_or_refused_never_crashes(tmp_path):
    whole = Path(_report_page(tmp_path / "r.pdf")).read_bytes()
    for fraction in (0.3, 0.6, 0.9):
        cut = tmp_path / f"cut{fraction}.pdf"
        cut.write_bytes(whole[: int(len(whole) * fraction)])
        try:
            result, tiles = _tile(str(cut), Kind.PDF)
        except DocumentRejected as rejected:
            assert rejected.code in ("corrupt", "no_pages")
        else:
            _assert_valid_pyramid(result, tiles, LOW)
