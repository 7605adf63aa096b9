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
RAW_CHUNK = 4 * 256 * 256 + 64  # a 256 px RGB tile in one call
# What `Image.save(..., "JPEG", quality=q, optimize=False)` hands libjpeg (Pillow 12's JpegImagePlugin): quality,
# progressive, smooth, optimize, keep_rgb, streamtype, dpi, subsampling (-1: libjpeg's 4:2:0), restart marker
# blocks and rows, qtables, comment, extra markers, exif. A test checks the bytes equal `save`'s.
_JPEG_CONFIG = (False, 0, False, False, 0, (0, 0), -1, 0, 0, None, None, b"", b"")
_JPEG_RAWMODES = {"L": "L", "RGB": "RGB", "RGBX": "RGB"}  # an image's mode -> what its JPEG is made of
WHITE = (255, 255, 255)
_PIL_FORMATS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
Box = tuple[int, int, int, int]  # left, top, right, bottom


@dataclass(frozen=True)
class Encoded:
    data: bytes
    uniform: str | None  # 'rrggbb' when every pixel is that colour


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "{:02x}{:02x}{:02x}".format(*rgb)


def encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    """One tile or thumbnail as `fmt`; L or RGB in (JPEG has no alpha), settings for speed over a few bytes."""
    out = io.BytesIO()
    if fmt == "jpeg" and image.mode in _JPEG_RAWMODES:
        return _jpeg(image, quality)
    if image.mode == "RGBX":  # a colour tile of `colour_rows`: its padding byte is not an alpha
        image = image.convert("RGB")
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


def _jpeg(image: Image.Image, quality: int, box: Box | None = None) -> bytes:
    """The bytes `save` would write (of `box` of the image, if given), from Pillow's JPEG encoder called
    directly: `save` spends about a fifth of a tile's encoding on its own bookkeeping (option parsing, a file
    object, a failed `fileno()`). The encoder reads the box's rows where they are: no cropped copy."""
    # As Image._getencoder does; RGBX is read as RGB (Pillow holds RGB as RGBX: the same bytes reach libjpeg).
    encoder = _imaging.jpeg_encoder(image.mode, _JPEG_RAWMODES[image.mode], quality, *_JPEG_CONFIG)
    return _encoded(encoder, image, box or (0, 0, *image.size), JPEG_CHUNK)


def _encoded(encoder: Any, image: Image.Image, box: Box, chunk: int) -> bytes:
    """Everything `encoder` writes for `box` of the image."""
    try:
        encoder.setimage(image.im, box)
        chunks = []
        while True:
            _, status, data = encoder.encode(chunk)
            chunks.append(data)
            if status:
                break
    finally:
        encoder.cleanup()
    if status < 0:
        raise OSError(f"{type(encoder).__name__} error {status}")
    return b"".join(chunks)


@lru_cache(maxsize=512)
def uniform_tile(width: int, height: int, rgb: tuple[int, int, int], fmt: str, quality: int) -> bytes:
    """The encoded bytes of a tile of one colour, made once per (size, colour, format, quality) per process."""
    if rgb[0] == rgb[1] == rgb[2]:
        return encode(Image.new("L", (width, height), rgb[0]), fmt, quality)
    return encode(Image.new("RGB", (width, height), rgb), fmt, quality)


def _probed(image: Image.Image, box: Box) -> Any:
    """The first pixel of `box` when four more probes (corners, centre) have its value, else None."""
    left, top, right, bottom = box
    core = image.im  # its `getpixel` skips `Image.getpixel`'s checks: a fifth of the cost, on every tile
    first = core.getpixel((left, top))
    for probe in ((right - 1, bottom - 1), ((left + right) // 2, (top + bottom) // 2), (right - 1, top),
                  (left, bottom - 1)):
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


def encode_tile(image: Image.Image, fmt: str, quality: int, box: Box | None = None) -> Encoded:
    """The bytes of `box` of the image (the whole image by default), marked uniform when it is of one colour.
    A grey JPEG tile is encoded where it lies in the image, without a cropped copy. Five probes reject most
    tiles with content in microseconds; a candidate is confirmed by comparing its pixels, read out of the
    image by Pillow's raw encoder in one call, with a tile of that one colour (about 4 us: a fifth of a crop
    and `tobytes`, and of `getextrema`, which reads a uniform tile pixel by pixel)."""
    box = box or (0, 0, *image.size)
    size = (box[2] - box[0], box[3] - box[1])
    first = _probed(image, box)
    if first is not None and _pixels(image, box) == _uniform_bytes(image.mode, size, first):
        rgb = _rgb(first)
        return Encoded(uniform_tile(*size, rgb, fmt, quality), hex_colour(rgb))
    if image.mode == "L" and fmt == "jpeg":
        return Encoded(_jpeg(image, quality, box), None)
    return Encoded(encode(image.crop(box) if size != image.size else image, fmt, quality), None)


def _pixels(image: Image.Image, box: Box) -> bytes:
    """`image.crop(box).tobytes()`, without the crop's copy or `tobytes`' bookkeeping."""
    return _encoded(_imaging.raw_encoder(image.mode, image.mode), image, box, RAW_CHUNK)


def raw_bytes(image: Image.Image) -> bytes:
    """`image.tobytes()` in one call of the raw encoder: `tobytes` writes 64 KB a call and joins the pieces,
    which costs as much again as packing a large RGB image's pixels."""
    size = image.width * image.height * len(image.getbands())
    return _encoded(_imaging.raw_encoder(image.mode, image.mode), image, (0, 0, *image.size), size + 64)


def encode_blank(width: int, height: int, fmt: str, quality: int, rgb: tuple[int, int, int] = WHITE) -> Encoded:
    """A tile known to be background without looking at its pixels (no drawing reaches it)."""
    return Encoded(uniform_tile(width, height, rgb, fmt, quality), hex_colour(rgb))
