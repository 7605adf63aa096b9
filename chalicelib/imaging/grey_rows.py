"""Grey rows in memory the tiler holds itself, so that halving them is one call into a C kernel.

Halving is the pyramid's one pass over every pixel of every level, and Pillow's `Image.reduce(2)` is not
vectorised (about 0.5 ns a pixel, 9 ms of a letter page); the imaging layer's `kalexo_pixels` does the same
arithmetic, to the same bytes, in a seventh of the time. Pillow keeps its own images' pixels where a C
function cannot be handed them, so a grey image made here is a view (`Image.frombuffer`, no copy) of memory
this module holds: a bytearray, or the samples of the pixmap MuPDF rendered into. Its rows are contiguous, and
their address is kept on the image: halving is one call, taking rows is slicing, joining rows is copying bytes.

Every function also takes an image Pillow owns (an RGB band, a raster's rows) and falls back to Pillow for it,
as it does for every image when the library is missing (a venv built without a C compiler). The views are
read-only; Pillow copies one before anything draws into it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PIL import Image

try:  # the imaging layer's C kernels (layers/imaging/kalexo_pixels)
    import kalexo_pixels

    _use_native = True
except ImportError as missing:  # a layer or venv built without them
    _use_native = False
    logging.getLogger(__name__).warning("halving with Pillow (slower): %s", missing)

_ROWS = "kalexo_rows"  # the attribute a view keeps its memory under


@dataclass(frozen=True)
class _Rows:
    view: memoryview  # the image's bytes, width x height, row after row
    address: int  # of view[0]
    owner: Any  # what must outlive the view (a pixmap; the bytearray itself)


def native() -> bool:
    """True when halving runs in C."""
    return _use_native


def mapped(view: memoryview, address: int, width: int, height: int, owner: Any) -> Image.Image:
    """A grey image over `view` (width x height bytes, rows contiguous, `address` its first byte's address);
    `owner` is kept alive as long as the image."""
    if len(view) != width * height:
        raise ValueError(f"{len(view)} bytes for {width} x {height} grey pixels")
    image = Image.frombuffer("L", (width, height), view, "raw", "L", 0, 1)  # type: ignore[arg-type]  # any buffer
    setattr(image, _ROWS, _Rows(view, address, owner))
    return image


def address(image: Image.Image) -> int | None:
    """The address of a view's first pixel (rows `image.width` bytes apart), or None for Pillow's images."""
    rows = _rows_of(image)
    return rows.address if rows is not None else None


def _rows_of(image: Image.Image) -> _Rows | None:
    rows: _Rows | None = getattr(image, _ROWS, None)
    return rows


def _fresh(width: int, height: int, buffer: bytearray) -> tuple[Image.Image, int]:
    """A view of `buffer` (width x height), and the buffer's address."""
    address = kalexo_pixels.address_of(buffer) if _use_native else 0
    return mapped(memoryview(buffer), address, width, height, buffer), address


def blank(width: int, height: int, value: int = 255) -> Image.Image:
    """Grey rows of one value (a band nothing is drawn on)."""
    return _fresh(width, height, bytearray(bytes((value,))) * (width * height))[0]


def owned(image: Image.Image) -> Image.Image:
    """`image` as a view of memory held here (a copy when Pillow owns it), so that it halves in C; itself
    when it already is one, or when halving runs in Pillow anyway."""
    if image.mode != "L" or _rows_of(image) is not None or not _use_native:
        return image
    return _fresh(image.width, image.height, bytearray(image.tobytes()))[0]


def halved(image: Image.Image) -> Image.Image:
    """`image.reduce(2)`: the same pixels, from C for a view of held memory."""
    rows = _rows_of(image)
    if rows is None or not _use_native:
        return image.reduce(2)
    width, height = (image.width + 1) // 2, (image.height + 1) // 2
    result, address = _fresh(width, height, bytearray(width * height))
    kalexo_pixels.halve(rows.address, image.width, image.width, image.height, address, width)
    return result


def rows(image: Image.Image, top: int, bottom: int) -> Image.Image:
    """Rows [top, bottom) of `image`: a view of the same memory (no copy) when it is a view."""
    held = _rows_of(image)
    if held is None:
        return image.crop((0, top, image.width, bottom))
    width = image.width
    return mapped(held.view[top * width:bottom * width], held.address + top * width, width, bottom - top,
                  held.owner)


def joined(parts: list[Image.Image]) -> Image.Image:
    """The parts' rows one below the other (all of one mode and width); the only part itself."""
    if len(parts) == 1:
        return parts[0]
    width, height = parts[0].width, sum(part.height for part in parts)
    held = [_rows_of(part) for part in parts]
    if all(rows is not None for rows in held):
        out = bytearray(width * height)
        view, start = memoryview(out), 0
        for rows in held:
            assert rows is not None
            view[start:start + len(rows.view)] = rows.view
            start += len(rows.view)
        return _fresh(width, height, out)[0]
    stacked = Image.new(parts[0].mode, (width, height), None)  # None: not filled first (all pasted over)
    top = 0
    for part in parts:
        stacked.paste(part, (0, top))
        top += part.height
    return stacked


def green(view: memoryview, address: int, stride: int, width: int, height: int) -> Image.Image:
    """The middle byte of each pixel of RGB rows `stride` bytes apart (MuPDF's: three bytes a pixel), as grey
    rows: a neutral pixel's grey. `address` is view[0]'s."""
    if height and len(view) < stride * (height - 1) + 3 * width:  # the kernel reads what this says is there
        raise ValueError(f"{len(view)} bytes for {height} rows of {width} RGB pixels {stride} bytes apart")
    if not _use_native:
        wide = Image.frombuffer("L", (3 * width, height), view, "raw", "L", stride, 1)  # type: ignore[arg-type]
        return wide.resize((width, height), Image.Resampling.NEAREST)  # the middle byte of each three
    result, out = _fresh(width, height, bytearray(width * height))
    kalexo_pixels.channel(address, stride, width, height, 3, 1, out, width)
    return result
