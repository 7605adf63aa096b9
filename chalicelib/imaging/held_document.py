# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""The paged document a process tiled last, kept open for its next page.

A warm tiling function is handed the pages of one document one after another (one page an invocation; the
source stays on local disk between them). Opening the file again for every page made MuPDF parse its
cross-reference table and page tree, and load every font the page draws with, again: 83 against 76 ms of CPU a
report page, each page tiled once (docs/benchmarks.md, eighth pass). So the last document stays open, for the
same file only: keyed by its identity on disk (device, inode, size, modification time), its kind and the limits
it was checked against, so a new version of a source, even at the same path, is opened afresh.

What it costs is memory: while a document is held, MuPDF's store keeps its decoded images and fonts, up to the
store's cap (256 MB): about 70 MB more resident over the 50-page report, and a 400-page document of photographs
went from 73 to 345 MB (an independent review's measurement). That cap bounds one page's render as well. A
document let go is closed with the store emptied (see `_close`), so a warm function that moves on to another
source starts from where it was.

It is lent, not shared: taken out while a page is tiled (a second thread asking meanwhile opens its own copy)
and put back after, closing whatever was kept before, so at most one is held. It is closed instead of kept when
tiling the page raised (MuPDF's state after an error is not worth trusting), or when the borrower says so: a page
whose JPEG streams were replaced by their pixels (`embedded_jpeg`, up to 120 MB a page) would leave the open
document holding them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pymupdf

from chalicelib.imaging.documents import opened_paged
from chalicelib.imaging.formats import Kind
from chalicelib.imaging.limits import Limits

_Key = tuple[str, int, int, int, int, Kind, Limits]


@dataclass
class Lease:
    doc: pymupdf.Document
    keep: bool = True  # False: closed when the borrower is done, not kept for the next page


_lock = threading.Lock()
_held: list[tuple[_Key, pymupdf.Document]] = []  # at most one


@contextmanager
def lent_paged(path: str, kind: Kind, limits: Limits) -> Iterator[Lease]:
    """The document at `path` as `documents.open_paged` opens it: the one held if it is of this very file."""
    key = _identity(path, kind, limits)
    doc = _take(key)
    lease = Lease(doc if doc is not None else opened_paged(path, kind, limits))
    try:
        yield lease
    except BaseException:
        _close(lease.doc)
        raise
    if lease.keep:
        _keep(key, lease.doc)
    else:
        _close(lease.doc)


def release() -> None:
    """Close the document held, if any (its file may then be deleted and its space given back)."""
    with _lock:
        dropped = _held[:]
        _held.clear()
    for _, doc in dropped:
        _close(doc)


def held_count() -> int:
    with _lock:
        return len(_held)


def _identity(path: str, kind: Kind, limits: Limits) -> _Key:
    found = os.stat(path)
    return (os.path.realpath(path), found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, kind, limits)


def _take(key: _Key) -> pymupdf.Document | None:
    """The held document if it is of this file; one of another file is closed first, not after this page."""
    with _lock:
        held = _held.pop() if _held else None
    if held is not None and held[0] == key:
        return held[1]
    if held is not None:
        _close(held[1])
    return None


def _keep(key: _Key, doc: pymupdf.Document) -> None:
    with _lock:
        dropped = _held[:]
        _held[:] = [(key, doc)]
    for _, old in dropped:
        _close(old)


def _close(doc: pymupdf.Document) -> None:
    """Close `doc` and empty MuPDF's store. A document closed after its pages and display lists are gone leaves
    its decoded images in the store, beyond the store's accounting: a tiling process grew about 0.8 MB a page,
    to over 1 GB (measured). Emptying it costs the next page its fonts, once per document."""
    doc.close()
    pymupdf.TOOLS.store_shrink(100)
