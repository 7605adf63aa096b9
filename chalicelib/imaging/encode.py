"""Turning tile pixels into tile bytes, and the shortcut for tiles of one colour.

Uniform tiles are most of a document's pyramid (margins, the space between paragraphs, the inside of plain
rooms on a plan), and every one of a given size and colour encodes to the same bytes: they are encoded once per
process and served from a cache after that. Ruling one out usually costs a few pixel probes.

Tiles come in two modes: L (grey, one channel: a grey page's, or a colour page's tile that nothing coloured
reaches) and RGB. A grey JPEG takes about half the time of an RGB one to encode, and browsers show both. A tile
of one grey colour is always encoded as L, whichever page it comes from, so its bytes (and the content address
the store gives them) do not depend on the page.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from PIL import Image, _imaging

JPEG_CHUNK = 65536
# What `Image.save(..., "JPEG", quality=q, optimize=False)` hands libjpeg (Pillow 12's JpegImagePlugin): quality,
# progressive, smooth, optimize, keep_rgb, streamtype, dpi, subsampling (-1: libjpeg's 4:2:0), restart marker
# blocks and rows, qtables, comment, extra markers, exif. A test checks the bytes equal `save`'s.
_JPEG_CONFIG = (False, 0, False, False, 0, (0, 0), -1, 0, 0, None, None, b"", b"")
WHITE = (255, 255, 255)
_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}


@dataclass(frozen=True)
class Encoded:
    data: bytes
    uniform: str | None  # 'rrggbb' when every pixel is that colour


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "{:02x}{:02x}{:02x}".format(*rgb)


def encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    """One tile or thumbnail as `fmt`; L or RGB in (JPEG has no alpha), settings for speed over a few bytes."""
    out = io.BytesIO()
    if fmt == "jpeg" and image.mode in ("L", "RGB"):
        return _jpeg(image, quality)
    if fmt == "jpeg":
        # optimize=False: Huffman optimisation costs a second pass for ~5% smaller tiles; 4:2:0 is the default.
        image.save(out, "JPEG", quality=quality, optimize=False)
    elif fmt == "png":
        image.save(out, "PNG", compress_level=3)  # level 6 (the default) is several times slower on photos
    elif fmt == "webp":
        image.save(out, "WEBP", quality=quality, method=2)
    else:
        raise ValueError(f"unknown tile format {fmt!r}; use one of {sorted(_PIL_FORMATS)}")
    return out.getvalue()


def _jpeg(image: Image.Image, quality: int) -> bytes:
    """The bytes `save` would write, from Pillow's JPEG encoder called directly: `save` spends about a fifth of
    a tile's encoding on its own bookkeeping (option parsing, a file object, a failed `fileno()`)."""
    encoder = _imaging.jpeg_encoder(image.mode, image.mode, quality, *_JPEG_CONFIG)  # as Image._getencoder does
    try:
        encoder.setimage(image.im, (0, 0, *image.size))
        chunks = []
        while True:
            _, status, data = encoder.encode(JPEG_CHUNK)
            chunks.append(data)
            if status:
                break
    finally:
        encoder.cleanup()
    if status < 0:
        raise OSError(f"JPEG encoder error {status}")
    return b"".join(chunks)


@lru_cache(maxsize=512)
def uniform_tile(width: int, height: int, rgb: tuple[int, int, int], fmt: str, quality: int) -> bytes:
    """The encoded bytes of a tile of one colour, made once per (size, colour, format, quality) per process."""
    if rgb[0] == rgb[1] == rgb[2]:
        return encode(Image.new("L", (width, height), rgb[0]), fmt, quality)
    return encode(Image.new("RGB", (width, height), rgb), fmt, quality)


def _probed(tile: Image.Image) -> Any:
    """The tile's first pixel when four more probes (corners, centre) have its value, else None."""
    width, height = tile.size
    core = tile.im  # its `getpixel` skips `Image.getpixel`'s checks: a fifth of the cost, on every tile
    first = core.getpixel((0, 0))
    for probe in ((width - 1, height - 1), (width // 2, height // 2), (width - 1, 0), (0, height - 1)):
        if core.getpixel(probe) != first:
            return None
    return first


def _rgb(pixel: Any) -> tuple[int, int, int]:
    if isinstance(pixel, int | float):
        return (int(pixel), int(pixel), int(pixel))
    assert isinstance(pixel, tuple)
    return (int(pixel[0]), int(pixel[1]), int(pixel[2]))


@lru_cache(maxsize=32)
def _uniform_bytes(mode: str, size: tuple[int, int], colour: Any) -> bytes:
    return Image.new(mode, size, colour).tobytes()


def encode_tile(tile: Image.Image, fmt: str, quality: int) -> Encoded:
    """The tile's bytes, marked uniform when it is of one colour. A grey tile that passes the probes (most are
    text tiles with white corners and centre) is encoded and its bytes compared with the cached tile of that
    colour: equal bytes are that tile, whatever a pixel the encoding smoothed away says, and the comparison
    costs nothing next to the copy that checking the pixels would take (about 40 us, on nearly half the
    tiles of a text page). An RGB tile is checked by its pixels: a neutral one is stored as a grey tile."""
    first = _probed(tile)
    if first is None:
        return Encoded(encode(tile, fmt, quality), None)
    rgb = _rgb(first)
    uniform = uniform_tile(tile.width, tile.height, rgb, fmt, quality)
    if tile.mode == "L":
        data = encode(tile, fmt, quality)
        return Encoded(uniform, hex_colour(rgb)) if data == uniform else Encoded(data, None)
    if tile.tobytes() == _uniform_bytes(tile.mode, tile.size, first):
        return Encoded(uniform, hex_colour(rgb))
    return Encoded(encode(tile, fmt, quality), None)


def encode_blank(width: int, height: int, fmt: str, quality: int, rgb: tuple[int, int, int] = WHITE) -> Encoded:
    """A tile known to be background without looking at its pixels (no drawing reaches it)."""
    return Encoded(uniform_tile(width, height, rgb, fmt, quality), hex_colour(rgb))
