"""The tiler keeps the last document open for its next page: the same tiles as a fresh open every time, a new
version of the file (even at the same path) opened afresh, nothing held after a failure or after a page whose
JPEGs were decoded into the open document, one document never tiled by two threads at once, and the tiling
worker letting go of it before another source's download can evict its file."""

from __future__ import annotations

import io
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from PIL import Image

from chalicelib.adapters.s3_sources import S3SourceStore
from chalicelib.domain.documents import Job, PageTask, TileOptions
from chalicelib.imaging import held_document
from chalicelib.imaging.documents import opened_paged
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.tiler import Rendition, Tile, TileSettings, release_documents, tile_page
from tests.unit.test_imaging_embedded_jpeg import _pdf, _photo
from tests.unit.test_tiling_requests import Records, Tiles, job, tiler

SETTINGS = TileSettings(dpi=150, tile_size=256)


@pytest.fixture(autouse=True)
def _nothing_held_between_tests():
    release_documents()
    yield
    release_documents()


@pytest.fixture
def opens(monkeypatch) -> list[str]:
    """Every time the tiler opens a paged document afresh."""
    opened: list[str] = []
    real = opened_paged

    def counting(path: str, kind: Kind, limits: Any) -> pymupdf.Document:
        opened.append(path)
        return real(path, kind, limits)
    monkeypatch.setattr(held_document, "opened_paged", counting)
    return opened


def _document(path: Path, pages: int = 3, words: str = "page") -> str:
    """Pages of text in an embedded TrueType font (the fonts a held document keeps loaded), a line drawing and a
    coloured box on every other page (so both grey and mixed pyramids are cut from the held document)."""
    doc = pymupdf.open()
    font = pymupdf.Font("cjk")  # an embedded font, not one of the base 14
    for number in range(pages):
        page = doc.new_page(width=300, height=200)
        page.insert_font(fontname="F0", fontbuffer=font.buffer)
        page.insert_text((20, 40), f"{words} {number + 1}: Kalexo 設計図", fontname="F0", fontsize=14)
        page.draw_line((20, 60), (280, 180), width=1.5)
        if number % 2:
            page.draw_rect(pymupdf.Rect(200, 20, 280, 70), color=(0.8, 0.1, 0.1), fill=(0.2, 0.4, 0.9))
    doc.save(str(path))
    return str(path)


def _tiled(path: str, index: int) -> tuple[Any, ...]:
    pieces: list[Tile | Rendition] = []
    result = tile_page(path, Kind.PDF, index, SETTINGS, pieces.append)
    tiles = sorted((t.level, t.col, t.row, t.data, t.uniform) for t in pieces if isinstance(t, Tile))
    renditions = [(r.name, r.data) for r in pieces if isinstance(r, Rendition)]
    return tuple(tiles), tuple(renditions), result.thumbnail, result.text, result.width, result.height


def test_pages_tiled_from_the_held_document_are_those_of_a_fresh_open(tmp_path, opens):
    path = _document(tmp_path / "three.pdf")
    held = [_tiled(path, index) for index in (0, 1, 2, 1, 0)]
    assert len(opens) == 1 and held_document.held_count() == 1
    for index, tiled in zip((0, 1, 2, 1, 0), held, strict=True):
        release_documents()
        assert _tiled(path, index) == tiled, f"page {index} differs from a fresh open's"
    assert "page 2: Kalexo" in held[1][3] and held[1][0] != held[0][0]


def test_a_new_version_at_the_same_path_is_opened_afresh(tmp_path, opens):
    path = _document(tmp_path / "doc.pdf", words="alpha")
    assert "alpha 1" in _tiled(path, 0)[3]
    before = os.stat(path)
    newer = Path(_document(tmp_path / "newer.pdf", words="bravo")).read_bytes()
    with open(path, "r+b") as rewritten:  # in place: the same inode
        rewritten.write(newer)
        rewritten.truncate()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))  # whatever the clock's grain
    assert os.stat(path).st_ino == before.st_ino
    assert "bravo 1" in _tiled(path, 0)[3]
    assert len(opens) == 2


def test_a_failed_page_closes_the_document_instead_of_keeping_it(tmp_path, opens):
    path = _document(tmp_path / "doc.pdf")

    def failing(piece: object) -> None:
        raise RuntimeError("the sink broke")
    with pytest.raises(RuntimeError, match="sink broke"):
        tile_page(path, Kind.PDF, 0, SETTINGS, failing)
    assert held_document.held_count() == 0
    with pytest.raises(IndexError):
        tile_page(path, Kind.PDF, 7, SETTINGS, lambda piece: None)
    assert held_document.held_count() == 0
    assert _tiled(path, 1)[4] > 0 and len(opens) == 3 and held_document.held_count() == 1


def test_a_page_whose_jpegs_were_decoded_into_the_document_is_not_held(tmp_path):
    photo = _pdf(tmp_path / "photo.pdf", _photo("L"))  # drawn at its own pixels at 300 dpi: decoded by Pillow
    tile_page(photo, Kind.PDF, 0, TileSettings(dpi=300), lambda piece: None)
    assert held_document.held_count() == 0
    tile_page(_document(tmp_path / "text.pdf"), Kind.PDF, 0, TileSettings(dpi=300), lambda piece: None)
    assert held_document.held_count() == 1


def test_two_threads_never_tile_from_one_open_document(tmp_path, opens):
    path = _document(tmp_path / "doc.pdf", pages=4)
    expected = {index: _tiled(path, index) for index in range(4)}
    both_tiling = threading.Barrier(2, timeout=120)  # passed once: the first tile of each thread's first page
    results: dict[int, Any] = {}
    errors: list[BaseException] = []

    met: set[int] = set()

    def meeting(piece: object) -> None:  # each thread's first tile waits here: both are inside tile_page
        if threading.get_ident() not in met:
            met.add(threading.get_ident())
            both_tiling.wait()

    def worker(indexes: tuple[int, ...]) -> None:
        try:
            tile_page(path, Kind.PDF, indexes[0], SETTINGS, meeting)
            for index in indexes:
                results[index] = _tiled(path, index)
        except BaseException as error:  # reported by the main thread
            errors.append(error)
    threads = [threading.Thread(target=worker, args=(indexes,)) for indexes in ((0, 2), (1, 3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors and not any(thread.is_alive() for thread in threads)
    assert results == expected
    assert len(opens) >= 2 and held_document.held_count() == 1  # the second thread opened its own copy


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024


def test_documents_let_go_leave_no_decoded_images_behind(tmp_path):
    """Closing a document after its pages are gone left its decoded images in MuPDF's store, uncounted: a
    tiling process grew by each page's images (to over 1 GB). Each page here draws its own 12 MB image."""
    doc = pymupdf.open()
    for number in range(4):
        image = Image.linear_gradient("L").resize((2000, 2000))
        flipped = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        picture = Image.merge("RGB", (image, image.rotate(90 * number), flipped))
        out = io.BytesIO()
        picture.save(out, "PNG", compress_level=1)
        page = doc.new_page(width=480, height=480)  # 2,000 px at 300 dpi: the image at its own size
        page.insert_image(page.rect, stream=out.getvalue())
    path = str(tmp_path / "images.pdf")
    doc.save(path)
    settings = TileSettings(dpi=300)

    def tile_again(rounds: int) -> None:
        for number in range(rounds):
            release_documents()  # as the worker does between sources: closed after the page is gone
            tile_page(path, Kind.PDF, number % 4, settings, lambda piece: None)
    tile_again(4)  # Pillow's block cache and the first page's allocations settle
    before = _rss_mb()
    tile_again(24)
    assert _rss_mb() - before < 100, f"{_rss_mb() - before:.0f} MB more after 24 pages"


def test_the_source_caches_files_keep_their_identity_so_the_next_page_reuses_the_document(tmp_path, opens):
    """As the worker calls them: the source store's cache hit, then tile_page, page after page."""
    pdf = Path(_document(tmp_path / "source.pdf")).read_bytes()

    class Client:
        def get_object(self, **params: Any) -> dict[str, Any]:
            return {"ContentLength": len(pdf), "Body": io.BytesIO(pdf), "VersionId": "v1"}
    store = S3SourceStore(Client(), "bucket", cache_dir=str(tmp_path / "cache"))  # type: ignore[arg-type]
    for number in range(3):
        tile_page(store.download("sources/doc", "v1"), Kind.PDF, number, SETTINGS, lambda piece: None)
    assert len(opens) == 1


class _Sources:
    """A source store that notes whether a document was held open when each download began."""

    def __init__(self, path: str) -> None:
        self.path, self.held_at_download = path, list[int]()

    def download(self, key: str, version_id: str) -> str:
        self.held_at_download.append(held_document.held_count())
        return self.path


def test_the_worker_lets_the_document_go_before_another_source_is_downloaded(tmp_path):
    first = job("job-1", pages=3)
    records, tiles = Records(first, first=True), Tiles([])
    worker = tiler(tmp_path, records, tiles)
    sources = _Sources(_document(tmp_path / "doc.pdf"))
    worker._sources = sources  # type: ignore[assignment]  # the part of SourceStore the tiler calls
    worker.handle(PageTask("ws", "doc", "job-1", 0, "v1", "pdf", TileOptions(tile_size=512)).to_json())
    worker.handle(PageTask("ws", "doc", "job-1", 1, "v1", "pdf", TileOptions(tile_size=512)).to_json())
    newer: Job = replace(job("job-2", pages=3), version_id="v2")
    records.jobs["job-2"], records.first["job-2"] = newer, False
    worker.handle(PageTask("ws", "doc", "job-2", 0, "v2", "pdf", TileOptions(tile_size=512)).to_json())
    # The same source's next page finds its document held; another version's download finds none.
    assert sources.held_at_download == [0, 1, 0]
    assert held_document.held_count() == 1
