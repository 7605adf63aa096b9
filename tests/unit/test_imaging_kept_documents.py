"""The tiler keeps a document open between pages of the same file (`documents.kept_paged`): the same tiles as
a document opened afresh for each page, a new file read afresh, a failure forgetting the document, a bound on
how many stay open, and one thread never using another's."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from chalicelib.imaging import documents
from chalicelib.imaging.errors import TOO_MANY_PAGES, DocumentRejected
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.limits import Limits
from chalicelib.imaging.tiler import PageTiles, Rendition, Tile, TileSettings, tile_page

LOW = TileSettings(dpi=72)
DEFAULTS = Limits()


def _pdf(path: Path, words: list[str]) -> str:
    """A page per word, each with that word and some drawing (fonts shared by every page)."""
    doc = pymupdf.open()
    for number, word in enumerate(words):
        page = doc.new_page(width=300, height=400)
        page.insert_text((30, 60), word, fontsize=18)
        page.insert_textbox(pymupdf.Rect(30, 80, 270, 300), f"Survey notes {number}. " * 20, fontsize=9)
        page.draw_line((30, 320), (270, 330 + number), color=(0, 0, 0), width=0.5)
    doc.save(str(path))
    return str(path)


@pytest.fixture(autouse=True)
def nothing_kept() -> Iterator[None]:
    _forget()
    yield
    _forget()


def _forget() -> None:
    while documents._kept.open:
        documents._kept.open.popitem()[1].close()


@pytest.fixture
def opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the tiler opened a document for, in order."""
    seen: list[str] = []
    real: Callable[..., Any] = documents._opened

    def counted(path: str, kind: Kind, limits: Limits) -> pymupdf.Document:
        seen.append(path)
        return real(path, kind, limits)

    monkeypatch.setattr(documents, "_opened", counted)
    return seen


def _tiled(path: str, page: int, limits: Limits = DEFAULTS) -> tuple[PageTiles, list[bytes]]:
    pieces: list[Tile | Rendition] = []
    result = tile_page(path, Kind.PDF, page, LOW, pieces.append, limits)
    return result, [piece.data for piece in pieces]


def test_pages_of_one_file_open_it_once_and_tile_as_a_fresh_open_does(tmp_path: Path, opens: list[str],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = _pdf(tmp_path / "report.pdf", ["alpha", "beta", "gamma"])
    order = [0, 1, 2, 1, 0]
    kept = [_tiled(path, page) for page in order]
    assert opens == [path]
    _forget()
    monkeypatch.setattr(documents, "KEPT_DOCUMENTS", 0)  # every page opens the file again
    fresh = [_tiled(path, page) for page in order]
    assert len(opens) == 1 + len(order)
    for (kept_result, kept_pieces), (fresh_result, fresh_pieces) in zip(kept, fresh, strict=True):
        assert kept_result == fresh_result
        assert kept_pieces == fresh_pieces
    assert [result.text.split()[0] for result, _ in kept] == ["alpha", "beta", "gamma", "beta", "alpha"]


def test_a_new_file_at_the_same_path_is_read_afresh(tmp_path: Path, opens: list[str]) -> None:
    path = tmp_path / "source"
    _pdf(path, ["first"])
    assert _tiled(str(path), 0)[0].text.split()[0] == "first"
    os.replace(_pdf(tmp_path / "next.pdf", ["second"]), path)  # as the source cache writes a version
    assert _tiled(str(path), 0)[0].text.split()[0] == "second"
    assert opens == [str(path), str(path)]


def test_a_page_that_fails_closes_the_document(tmp_path: Path, opens: list[str]) -> None:
    path = _pdf(tmp_path / "two.pdf", ["one", "two"])
    _tiled(path, 0)
    (kept,) = documents._kept.open.values()
    with pytest.raises(IndexError):
        _tiled(path, 5)
    assert kept.is_closed
    assert not documents._kept.open
    assert _tiled(path, 1)[0].text.split()[0] == "two"
    assert opens == [path, path]


def test_the_page_limit_holds_for_a_kept_document(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "two.pdf", ["one", "two"])
    _tiled(path, 0, Limits(max_pages=2))
    with pytest.raises(DocumentRejected) as refused:
        _tiled(path, 1, Limits(max_pages=1))
    assert refused.value.code == TOO_MANY_PAGES


def test_at_most_a_few_documents_stay_open(tmp_path: Path, opens: list[str]) -> None:
    paths = [_pdf(tmp_path / f"d{n}.pdf", [f"doc{n}"]) for n in range(documents.KEPT_DOCUMENTS + 1)]
    for path in paths:
        _tiled(path, 0)
    assert len(documents._kept.open) == documents.KEPT_DOCUMENTS
    _tiled(paths[-1], 0)  # the newest is kept
    _tiled(paths[0], 0)  # the oldest was closed to make room
    assert opens == [*paths, paths[0]]


def test_each_thread_opens_its_own(tmp_path: Path, opens: list[str]) -> None:
    path = _pdf(tmp_path / "shared.pdf", ["shared"])
    _tiled(path, 0)
    texts: list[str] = []
    worker = threading.Thread(target=lambda: texts.append(_tiled(path, 0)[0].text))
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert texts and texts[0].split()[0] == "shared"
    assert opens == [path, path]
