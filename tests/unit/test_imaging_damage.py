"""Pages MuPDF reads only in part: tiled as far as they were read, with what was lost said (`damage`), while the
other pages of the file, and files read whole, say nothing."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from chalicelib.imaging.damage import judged
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.held_document import release
from chalicelib.imaging.tiler import PageTiles, Tile, TileSettings, tile_page
from tests.e2e.documents_samples import letter_pdf, pdf_damaged_at_page, pdf_missing_resource

LOW = TileSettings(dpi=72)


def _tiled(path: Path, page: int) -> tuple[PageTiles, list[Tile]]:
    pieces: list = []
    result = tile_page(str(path), Kind.PDF, page, LOW, pieces.append)
    return result, [p for p in pieces if isinstance(p, Tile)]


@pytest.fixture(autouse=True)
def _no_document_held():
    release()
    yield
    release()


def test_a_page_whose_content_stream_cannot_be_read_is_tiled_and_says_so(tmp_path):
    path = tmp_path / "damaged.pdf"
    path.write_bytes(pdf_damaged_at_page(3, 1))
    results = [_tiled(path, page) for page in range(3)]  # in order, the document held between pages
    assert [r.damage for r, _ in results] == ["", "zlib error: incorrect header check", ""]
    damaged, tiles = results[1]
    # Still a whole pyramid of the page's size: what could be read (here nothing) is shown, not refused.
    assert (damaged.width, damaged.height) == (results[0][0].width, results[0][0].height)
    assert tiles and damaged.tile_count == len(tiles)
    assert all(t.uniform == "ffffff" for t in tiles)  # the blank that used to pass for an empty sheet
    assert damaged.text == ""


def test_a_page_tiled_after_a_damaged_one_is_not_blamed_for_its_warnings(tmp_path):
    path = tmp_path / "damaged.pdf"
    path.write_bytes(pdf_damaged_at_page(3, 0))
    assert _tiled(path, 0)[0].damage
    assert _tiled(path, 2)[0].damage == "" and _tiled(path, 1)[0].damage == ""
    assert _tiled(path, 0)[0].damage  # and the damaged one again, its document still held


def test_a_page_with_operators_missing_their_resources_is_damaged(tmp_path):
    path = tmp_path / "missing.pdf"
    path.write_bytes(pdf_missing_resource(b"Missing"))
    assert _tiled(path, 0)[0].damage == ""
    assert _tiled(path, 1)[0].damage == "cannot find XObject resource 'Missing'"


def test_files_read_whole_have_no_damage(tmp_path):
    path = tmp_path / "whole.pdf"
    path.write_bytes(letter_pdf(2))
    assert [_tiled(path, page)[0].damage for page in (0, 1)] == ["", ""]


@pytest.mark.parametrize(("warnings", "damage"), [
    ("", ""),
    ("library error: zlib error: incorrect header check\nread error; treating as end of file",
     "zlib error: incorrect header check"),
    ("invalid character in hex string\n... repeated 17 times...\nsyntax error: syntax error in array\n"
     "encountered syntax errors; page may not be correct", "syntax error in array"),
    ("padding truncated image", "padding truncated image"),
    ("unknown cid collection\nignoring invalid font", ""),  # MuPDF coped: nothing of the page was lost
    ("syntax error: " + "x" * 500, "x" * 200),
])
def test_only_warnings_that_mean_lost_content_count(warnings, damage):
    assert judged(warnings) == damage


def _shared_truncated_image(pages: int) -> bytes:
    """Every page draws the same JPEG image, cut to a third of its length."""
    import io

    from PIL import Image

    picture = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(picture, "JPEG")
    doc = pymupdf.open("pdf", letter_pdf(pages))
    xref = doc[0].insert_image(pymupdf.Rect(72, 520, 472, 720), stream=picture.getvalue())
    for page in range(1, pages):
        doc[page].insert_image(pymupdf.Rect(72, 520, 472, 720), xref=xref)
    raw = doc.xref_stream_raw(xref)
    doc.update_stream(xref, raw[: len(raw) // 3], compress=False)
    doc.xref_set_key(xref, "Length", str(len(raw) // 3))
    return bytes(doc.tobytes())


def test_every_page_drawing_a_shared_damaged_image_is_damaged_though_it_is_decoded_once(tmp_path):
    # An outside tester: MuPDF warned on each worker's first page only (the image stays decoded while the
    # document is held), so which pages of four were flagged depended on the workers.
    path = tmp_path / "shared.pdf"
    path.write_bytes(_shared_truncated_image(4))
    assert [_tiled(path, page)[0].damage for page in (2, 0, 3, 1)] == ["padding truncated image"] * 4


def test_a_missing_resource_whose_name_is_no_text_is_told_in_text(tmp_path):
    # A name with a Latin-1 byte (/Plan#E9) came back from MuPDF as a lone surrogate, which DynamoDB refused:
    # the page's record was never written and the whole document failed, retry or not.
    path = tmp_path / "latin1.pdf"
    path.write_bytes(pdf_missing_resource(b"Plan#E9"))
    lost = _tiled(path, 1)[0].damage
    assert lost == "cannot find XObject resource 'Plan?'"
    lost.encode("utf-8")  # storable


def test_what_mupdf_said_before_repairing_the_file_is_not_damage():
    # A page whose content was looked for at a wrong offset, found once MuPDF rebuilt the table, renders whole.
    assert judged("syntax error: expected object number\nrepairing PDF document") == ""
    assert judged("syntax error: expected object number\nrepairing PDF document\n"
                  "library error: zlib error: incorrect header check") == "zlib error: incorrect header check"
