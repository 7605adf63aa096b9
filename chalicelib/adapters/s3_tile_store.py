"""Tiles in S3, packed: one object per page holds its JSON index and then every tile of its pyramid (plus its
thumbnail, `max` image and text) back to back. A page costs one PUT however many tiles it has (a letter page at
300 dpi has about 190, an A0 sheet about 3,000), which is what keeps tiling cheap: S3 charges per request, and
per-tile objects would make PUTs the largest cost of processing a page. The object is the page: it exists
whole or not at all, so no reader sees an index without its tiles.

Layout (`.tiles`): 4 bytes of magic, the index's length (4 bytes, big-endian), the index, the tiles; an entry's
offset counts from the first byte after the index. Readers fetch the object's head once a minute per function
instance (one ranged GET, a second for an index of more than about 4,800 tiles) and then one byte range per
tile. Pages written before this layout (a `.pack` and a `.index.json` beside it, two PUTs) are still read; the
code before it cannot read this layout (README: rolling back).

Tiles of one uniform colour (white margins, empty sheet areas) are content-addressed under `shared/`: the same
bytes are stored once for every page and document, and the index points at them. Nothing outside this module
knows the layout.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from chalicelib.domain.tile_plan import CONTENT_TYPES, FORMAT_EXTENSIONS
from chalicelib.port_types import PageRef, StoredTile

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from chalicelib.ports import RenditionLike, TileLike

INDEX_VERSION = 1
MAGIC = b"KXT2"
HEAD_BYTES = 8  # the magic and the index's length
FIRST_READ = 256 * 1024  # a letter page's index is about 10 KB, an A0 sheet's about 155 KB: one GET each
INDEX_SECONDS = 60.0  # how long a REST instance trusts a page index it read (a removed job's tiles go)


def _etag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:24]


def _content_type(name: str, fmt: str) -> str:
    """Tiles are in the page's format; the thumbnail and the `max` image are always JPEG."""
    if not name.startswith("@"):
        return CONTENT_TYPES[fmt]
    return "text/plain; charset=utf-8" if name == "@text" else "image/jpeg"


def _prefix(ref: PageRef) -> str:
    return f"workspaces/{ref.workspace_id}/documents/{ref.document_id}/{ref.job_id}/p{ref.page:05d}"


def _index(body: bytes, key: str) -> dict[str, Any]:
    index: dict[str, Any] = json.loads(body)
    if index.get("v") != INDEX_VERSION or not isinstance(index.get("entries"), dict):
        raise ValueError(f"{key}: not a tile index of version {INDEX_VERSION}")
    return index


class _Lru[V]:
    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> V | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


@dataclass
class PackWriter:
    """Collects one page's tiles; `close()` writes them with their index as one object. Writing the same page
    again writes the same object: a redelivered task is harmless."""

    store: S3TileStore
    ref: PageRef
    format: str

    def __post_init__(self) -> None:
        # The pack's pieces, joined once by `close`: a BytesIO grows by copying what it holds, which for an A0
        # sheet's 17 MB of tiles was about 75 ms of CPU.
        self._chunks: list[bytes] = []
        self._size = 0
        self._entries: dict[str, list[Any]] = {}
        self.shared_puts = 0

    def add(self, piece: TileLike | RenditionLike) -> None:
        # Told apart by an attribute, not isinstance against the runtime-checkable Protocol: that costs about
        # 25 us a call (inspect.getattr_static per member), 70 ms for an A0 sheet's 2,900 tiles.
        if not hasattr(piece, "level"):  # a whole-page image (IIIF's `max`): rides in the pack too
            self.attach(piece.name, piece.data)
            return
        tile = cast("TileLike", piece)
        name = f"{tile.level}/{tile.col}_{tile.row}"
        etag = _etag(tile.data)
        if tile.uniform is not None:
            self.shared_puts += self.store.put_shared(etag, tile.data, self.format)
            self._entries[name] = ["s", etag]
        else:
            self._entries[name] = ["p", self._append(tile.data), len(tile.data), etag]

    def _append(self, data: bytes) -> int:
        offset = self._size
        self._chunks.append(data)
        self._size += len(data)
        return offset

    def attach(self, name: str, data: bytes) -> None:
        """The thumbnail, the `max` image and the text ride in the same pack."""
        self._entries[f"@{name}"] = ["p", self._append(data), len(data), _etag(data)]

    def close(self, width: int, height: int, tile_size: int, max_level: int) -> tuple[int, int]:
        """Returns (bytes stored, PUT requests made) for this page."""
        index = json.dumps({"v": INDEX_VERSION, "width": width, "height": height, "tile_size": tile_size,
                            "max_level": max_level, "format": self.format, "entries": self._entries},
                           separators=(",", ":")).encode()
        body = b"".join([MAGIC, len(index).to_bytes(4, "big"), index, *self._chunks])
        self.store.client.put_object(Bucket=self.store.bucket, Key=f"{_prefix(self.ref)}.tiles", Body=body,
                                     ContentType="application/octet-stream")
        return len(body), 1 + self.shared_puts


@dataclass(frozen=True)
class _Page:
    index: dict[str, Any]
    key: str  # the object the page's tiles are in
    base: int  # where in it the entries' offsets count from


class S3TileReader:
    """Reads tiles (the REST function serves them): its role needs no write to the tiles bucket."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self._pages: _Lru[tuple[float, _Page | None]] = _Lru(256)
        self._shared: _Lru[bytes] = _Lru(512)

    def _page(self, ref: PageRef) -> _Page | None:
        prefix = _prefix(ref)
        cached = self._pages.get(prefix)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        page = self._packed(prefix) or self._pack_and_index(prefix)
        if page is not None:
            # Kept a minute: the tiles of a removed or superseded job go, and this instance must notice.
            self._pages.put(prefix, (time.monotonic() + INDEX_SECONDS, page))
        return page

    def _packed(self, prefix: str) -> _Page | None:
        """The page as one object: its head read once (twice when the index is longer than the first read)."""
        key = f"{prefix}.tiles"
        head = self._get(key, f"bytes=0-{FIRST_READ - 1}")
        if head is None:
            return None
        if head[:4] != MAGIC:
            raise ValueError(f"{key} is not a page of tiles")
        end = HEAD_BYTES + int.from_bytes(head[4:HEAD_BYTES], "big")
        if len(head) < end:
            rest = self._get(key, f"bytes={len(head)}-{end - 1}")
            if rest is None:  # removed between the two reads
                return None
            head += rest
        return _Page(_index(head[HEAD_BYTES:end], key), key, end)

    def _pack_and_index(self, prefix: str) -> _Page | None:
        """A page stored before the one-object layout: the index beside the pack."""
        body = self._get(f"{prefix}.index.json")
        return None if body is None else _Page(_index(body, f"{prefix}.index.json"), f"{prefix}.pack", 0)

    def _get(self, key: str, byte_range: str | None = None) -> bytes | None:
        """The object's bytes (in `byte_range`), or None when there is no such object."""
        try:
            if byte_range is None:
                return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            return self.client.get_object(Bucket=self.bucket, Key=key, Range=byte_range)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def etag(self, ref: PageRef, name: str) -> str | None:
        """The validator of one entry (`L/c_r`, `@thumbnail`, `@max`, `@text`) without reading its bytes."""
        head = self.head(ref, name)
        return None if head is None else head.etag

    def head(self, ref: PageRef, name: str) -> StoredTile | None:
        """The entry's ETag and content type without its bytes (`data` is empty)."""
        page = self._page(ref)
        entry = page.index["entries"].get(name) if page else None
        if page is None or entry is None:
            return None
        etag = str(entry[-1] if entry[0] == "p" else entry[1])
        return StoredTile(b"", etag, _content_type(name, str(page.index["format"])))

    def read(self, ref: PageRef, name: str) -> StoredTile | None:
        page = self._page(ref)
        entry = page.index["entries"].get(name) if page else None
        if page is None or entry is None:
            return None
        fmt = str(page.index["format"])
        content_type = _content_type(name, fmt)
        if entry[0] == "s":
            data = self._shared_tile(str(entry[1]), fmt)
            return StoredTile(data, str(entry[1]), content_type)
        offset, length, etag = page.base + int(entry[1]), int(entry[2]), str(entry[3])
        if length == 0:
            return StoredTile(b"", etag, content_type)
        body = self._get(page.key, f"bytes={offset}-{offset + length - 1}")
        if body is None:
            self._pages.put(_prefix(ref), (0.0, None))  # the job's tiles went: forget its index
            return None
        if len(body) != length:  # S3 answers a range past the object's end with what there is: never serve that
            raise ValueError(f"{page.key}: {name} is {length} bytes in the index, {len(body)} in the object")
        return StoredTile(body, etag, content_type)

    def _shared_tile(self, etag: str, fmt: str) -> bytes:
        key = f"shared/{etag}.{FORMAT_EXTENSIONS[fmt]}"
        data = self._shared.get(key)
        if data is None:
            data = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            self._shared.put(key, data)
        return data


class S3TileStore(S3TileReader):
    """Writes tiles too (the tiling function)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        super().__init__(client, bucket)
        self._shared_written: set[str] = set()

    def writer(self, ref: PageRef, fmt: str) -> PackWriter:
        return PackWriter(self, ref, fmt)

    def jobs(self, workspace_id: str, document_id: str) -> list[str]:
        prefix = f"workspaces/{workspace_id}/documents/{document_id}/"
        found: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix,
                                                                          Delimiter="/"):
            found += [p["Prefix"][len(prefix):].rstrip("/") for p in page.get("CommonPrefixes", [])]
        return found

    def forget(self, workspace_id: str, document_id: str, job_id: str | None = None, page: int | None = None) -> int:
        prefix = f"workspaces/{workspace_id}/documents/{document_id}/" + (f"{job_id}/" if job_id else "")
        if job_id and page is not None:
            prefix = _prefix(PageRef(workspace_id, document_id, job_id, page))  # the page's object(s)
        deleted = 0
        for listed in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys: list[Any] = [{"Key": o["Key"]} for o in listed.get("Contents", [])]
            if keys:  # at most 1,000 a page, DeleteObjects' limit
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                deleted += len(keys)
        return deleted

    def put_shared(self, etag: str, data: bytes, fmt: str) -> int:
        """Store a shared tile unless this instance or an earlier one already has; returns PUTs made."""
        key = f"shared/{etag}.{FORMAT_EXTENSIONS[fmt]}"
        if key in self._shared_written:
            return 0
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            made = 0
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=CONTENT_TYPES[fmt],
                                   CacheControl="public, max-age=31536000, immutable")
            made = 1
        self._shared_written.add(key)
        return made
