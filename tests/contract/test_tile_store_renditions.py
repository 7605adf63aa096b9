"""The packed tile store against the emulator: the whole-page `max` image the tiler hands over beside the tiles
rides in the page's pack, and `head` tells an entry's ETag and content type without reading it."""

from __future__ import annotations

import time

from chalicelib.adapters.s3_tile_store import S3TileStore
from chalicelib.imaging.tiler import Rendition, Tile
from chalicelib.ports import PageRef


def test_the_max_image_is_stored_in_the_pack_and_heads_need_no_read(stack, clients):
    store = S3TileStore(clients["s3"], stack.outputs["TilesBucketName"])
    ref = PageRef("ws-r", "doc-1", f"job-{time.time_ns()}", 0)
    writer = store.writer(ref, "png")
    writer.add(Tile(9, 0, 0, b"png-tile", None))
    writer.add(Rendition("max", b"\xff\xd8whole page\xff\xd9", 300, 200))
    writer.attach("thumbnail", b"thumb")
    stored, puts = writer.close(300, 200, 256, 9)
    assert puts == 1 and stored > len(b"png-tile") + len(b"\xff\xd8whole page\xff\xd9")

    reader = S3TileStore(clients["s3"], stack.outputs["TilesBucketName"])  # a fresh instance: no caches
    whole = reader.read(ref, "@max")
    assert whole.data == b"\xff\xd8whole page\xff\xd9" and whole.content_type == "image/jpeg"
    for name, content_type in (("9/0_0", "image/png"), ("@max", "image/jpeg"), ("@thumbnail", "image/jpeg")):
        head = reader.head(ref, name)
        assert head is not None and head.data == b""
        assert (head.etag, head.content_type) == (reader.read(ref, name).etag, content_type)
    assert reader.head(ref, "8/0_0") is None
    assert reader.head(PageRef("ws-other", "doc-1", ref.job_id, 0), "@thumbnail") is None
