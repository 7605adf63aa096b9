# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""The floor of bench/tiling.py: the work no tiler avoids, measured apart in its own child.

`render` is the page rendered as the tiler renders it (its JPEGs decoded as `embedded_jpeg` decodes them, its
display list made, then `VectorPage.pixmap` over the bands `tiler.bands` cuts: grey for a grey page, blank
bands skipped; a mostly grey page with some colour in grey, but in RGB the bands its colour reaches, as
`ColourTiles.band_mode` says; not the colour and content inspection, nor what the tiler makes of an RGB render:
a grey band is mapped into Pillow as it is, an RGB one unpacked, or split into one channel and its colour
tiles);
`encode` is the encoding alone (`encode`, as the tiler calls it) of exactly the images the tiler stores (each
tile with content, each distinct uniform tile once, the page's `max` image and thumbnail), decoded from its
output beforehand and not timed.
"""

from __future__ import annotations

import time
from typing import Any


def floor(path: str, pages: int, dpi: int, max_pixels: int) -> dict[str, Any]:
    """Render alone, then encode alone of the tiles stored, each timed by CPU over its own loop."""
    import io

    import pymupdf
    from PIL import Image

    from chalicelib.domain.tile_plan import TilePlan
    from chalicelib.imaging.content import ContentMap
    from chalicelib.imaging.decode_once import decode_once
    from chalicelib.imaging.embedded_jpeg import decode_jpegs
    from chalicelib.imaging.encode import encode
    from chalicelib.imaging.formats import sniff
    from chalicelib.imaging.mixed import ColourTiles, worth_mixing
    from chalicelib.imaging.render import VectorPage
    from chalicelib.imaging.tiler import Rendition, Tile, TileSettings, bands, tile_page

    kind = sniff(path)
    assert kind is not None
    settings = TileSettings(dpi=dpi, max_pixels=max_pixels)
    stored: list[Image.Image] = []
    uniform_seen: set[bytes] = set()
    totals: dict[str, Any] = {"tiles": 0, "puts": 0, "bytes": 0, "render_cpu": 0.0, "encode_cpu": 0.0}
    for index in range(pages):
        pieces: list[Any] = []
        result = tile_page(path, kind, index, settings, pieces.append)
        for whole in [r.data for r in pieces if isinstance(r, Rendition)] + [result.thumbnail]:
            stored.append(Image.open(io.BytesIO(whole)))  # the `max` image and the thumbnail are stored too
            stored[-1].load()
        for tile in (t for t in pieces if isinstance(t, Tile)):
            totals["tiles"] += 1
            if tile.uniform is None or tile.data not in uniform_seen:
                if tile.uniform is not None:
                    uniform_seen.add(tile.data)
                stored.append(Image.open(io.BytesIO(tile.data)))
                stored[-1].load()
                totals["puts"] += 1
                totals["bytes"] += len(tile.data)
    with pymupdf.open(path) as doc, pymupdf.open(path) as fresh:
        prepared = [VectorPage(doc[index], dpi, settings.max_side, max_pixels) for index in range(pages)]  # not timed
        started = time.process_time()
        for index, page in enumerate(prepared):
            # Decoding the page's JPEGs (by the faster decoder, as the tiler does: `prepared` did so untimed) and
            # interpreting the page once (its display list) are part of rendering it.
            fresh_page = fresh[index]  # one Page: its image list is read once, as the tiler's is
            decode_jpegs(fresh_page, page.scale)
            decode_once(fresh_page, page.scale)
            fresh_page.get_displaylist()
        for page in prepared:
            plan = TilePlan(page.width, page.height, settings.tile_size)
            content = ContentMap(page.content_boxes or [], plan)
            colour = ContentMap(page.colour_boxes, plan) if page.mode == "RGB" and page.colour_boxes else None
            mixed = ColourTiles(plan, colour, 0) if colour is not None and worth_mixing(plan, colour) else None
            for top, bottom in bands(page.width, page.height, settings.tile_size, mixed):
                if not content.rows_blank(top, bottom):
                    page.pixmap(top, bottom, mixed.band_mode(top, bottom) if mixed is not None else page.mode)
        totals["render_cpu"] = time.process_time() - started
    started = time.process_time()
    for image in stored:
        encode(image, settings.format, settings.quality)
    totals["encode_cpu"] = time.process_time() - started
    return totals
