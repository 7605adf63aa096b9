# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""The contenders of `bench.tiling` (its docstring says what each does), each tiling `pages` pages of `path`
at `dpi` (lowered to `max_pixels` a page, as the tiler's budget does) into `out` and returning its totals:
tiles, PUTs a store would make, bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def kalexo(path: str, pages: int, out: Path, dpi: int, max_pixels: int, packed: bool) -> dict[str, int]:
    from chalicelib.imaging.formats import sniff
    from chalicelib.imaging.tiler import Rendition, Tile, TileSettings, tile_page

    kind = sniff(path)
    assert kind is not None
    settings = TileSettings(dpi=dpi, max_pixels=max_pixels)
    uniform_seen: set[str] = set()
    totals = {"tiles": 0, "puts": 0, "bytes": 0}
    for index in range(pages):
        pieces: list[Tile | Rendition] = []
        result = tile_page(path, kind, index, settings, pieces.append)
        tiles = [t for t in pieces if isinstance(t, Tile)]
        whole = b"".join(r.data for r in pieces if isinstance(r, Rendition))  # IIIF's `max`, stored in the pack
        totals["tiles"] += result.tile_count
        page_dir = out / f"p{index}"
        page_dir.mkdir()
        if packed:
            # One object of tile bytes (a uniform tile stored once in it) and an index of (offset, length) a tile.
            pack, index_rows = bytearray(), []
            stored: dict[str, tuple[int, int]] = {}
            for tile in tiles:
                key = f"{tile.uniform}-{len(tile.data)}" if tile.uniform else None
                if key is not None and key in stored:
                    where = stored[key]
                else:
                    where = (len(pack), len(tile.data))
                    pack += tile.data
                    if key is not None:
                        stored[key] = where
                index_rows.append((tile.level, tile.col, tile.row, *where))
            pack += whole
            index_bytes = json.dumps(index_rows, separators=(",", ":")).encode()
            # One object a page, its index first, as the store writes a page (the store's index holds more).
            (page_dir / "page.tiles").write_bytes(b"".join([len(index_bytes).to_bytes(4, "big"), index_bytes, pack]))
            totals["puts"] += 1
            totals["bytes"] += 4 + len(pack) + len(index_bytes)
            continue
        for tile in tiles:
            if tile.uniform is not None:
                name = f"u-{tile.uniform}-{len(tile.data)}"
                if name in uniform_seen:
                    continue
                uniform_seen.add(name)
                target = out / f"{name}.jpeg"
            else:
                target = page_dir / f"{tile.level}-{tile.col}-{tile.row}.jpeg"
            target.write_bytes(tile.data)
            totals["puts"] += 1
            totals["bytes"] += len(tile.data)
    return totals


def whole_page(page: Any, dpi: int, max_pixels: int, grey: bool = False) -> Any:
    import pymupdf

    from chalicelib.domain.tile_plan import fit_scale

    scale = fit_scale(page.rect.width, page.rect.height, dpi, 16384, max_pixels)
    return page.get_pixmap(matrix=pymupdf.Matrix(scale, scale), alpha=False,
                           colorspace=pymupdf.csGRAY if grey else pymupdf.csRGB)


def naive(path: str, pages: int, out: Path, dpi: int, max_pixels: int) -> dict[str, int]:
    import pymupdf
    from PIL import Image

    from chalicelib.domain.tile_plan import TilePlan

    totals = {"tiles": 0, "puts": 0, "bytes": 0}
    with pymupdf.open(path) as doc:
        for index in range(pages):
            pix = whole_page(doc[index], dpi, max_pixels)
            full = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
            del pix
            plan = TilePlan(full.width, full.height)
            for level in plan.levels():
                image = full if level.level == plan.max_level else full.resize((level.width, level.height))
                level_dir = out / f"p{index}" / str(level.level)
                level_dir.mkdir(parents=True)
                for row in range(level.rows):
                    for col in range(level.cols):
                        target = level_dir / f"{col}_{row}.jpeg"
                        image.crop(plan.tile_box(level.level, col, row)).save(target, "JPEG", quality=85)
                        totals["tiles"] += 1
                        totals["puts"] += 1
                        totals["bytes"] += target.stat().st_size
    return totals


def dzsave(path: str, pages: int, out: Path, dpi: int, max_pixels: int, grey: bool = False) -> dict[str, int]:
    import pymupdf
    import pyvips  # type: ignore[import-untyped]

    totals = {"tiles": 0, "puts": 0, "bytes": 0}
    with pymupdf.open(path) as doc:
        for index in range(pages):
            pix = whole_page(doc[index], dpi, max_pixels, grey)
            image = pyvips.Image.new_from_memory(pix.samples_mv, pix.width, pix.height, pix.n, "uchar")
            image.dzsave(str(out / f"p{index}"), tile_size=256, overlap=0, suffix=".jpg[Q=85]")
            del image, pix
            for tile in (out / f"p{index}_files").rglob("*.jpg"):
                totals["tiles"] += 1
                totals["puts"] += 1
                totals["bytes"] += tile.stat().st_size
    return totals
