"""A mostly grey page's colour tiles in memory the tiler holds, so that making a parent from its children is C.

`mixed` keeps a page's colour tiles apart from its grey pyramid and builds each parent tile from the grey tile
and its children's halves. With Pillow that is a crop, a conversion to RGB, and a `reduce(2)` and a paste per
colour child (5 ms of a report page with a chart or a photograph). Here a colour tile is an RGBX image (Pillow's
own four-byte RGB pixels, X = 255) whose memory's address is known (`_new`): copied out of MuPDF's three-byte
render by `kalexo_pixels.to_rgbx`, its parent made from the grey level's pixels by the same kernel, and each
child halved straight into its quadrant of the parent by `kalexo_pixels.halve4`, the bytes `Image.reduce(2)`
makes. The tiles encode as RGB (`encode` reads RGBX as RGB; the JPEG bytes are the same).

Without the kernels (see `grey_rows`) every function does what Pillow did before, on Pillow's RGB images.
"""

from __future__ import annotations

import contextlib
import ctypes
from typing import Any

from PIL import Image, _imaging

from chalicelib.imaging import grey_rows

with contextlib.suppress(ImportError):  # grey_rows says so, and answers native() False
    import kalexo_pixels

_ROWS = "kalexo_rgbx"  # the attribute a tile keeps the address of its pixels under


class _ArrowArray(ctypes.Structure):
    """The Arrow C data interface's ArrowArray (a stable ABI), through which Pillow exports an image's memory."""


_ArrowArray._fields_ = [("length", ctypes.c_int64), ("null_count", ctypes.c_int64), ("offset", ctypes.c_int64),
                        ("n_buffers", ctypes.c_int64), ("n_children", ctypes.c_int64),
                        ("buffers", ctypes.POINTER(ctypes.c_void_p)),
                        ("children", ctypes.POINTER(ctypes.POINTER(_ArrowArray))), ("dictionary", ctypes.c_void_p),
                        ("release", ctypes.c_void_p), ("private_data", ctypes.c_void_p)]
_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype, _capsule_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]


def _new(width: int, height: int) -> tuple[Image.Image, int] | None:
    """A tile of Pillow's own (its block allocator reuses freed memory: a fresh bytearray a tile cost page
    faults on every one), and the address of its first pixel, read from Pillow's Arrow export of it: a fixed
    size list of four bytes a pixel, whose child array's data buffer is the image's one block of memory. None
    when rows are not back to back there (PILLOW_ALIGNMENT pads them; a tile over PILLOW_BLOCK_SIZE spans
    blocks): then the caller uses Pillow."""
    if not grey_rows.native() or _imaging.get_alignment() > 1 or 4 * width * height > _imaging.get_block_size():
        return None
    image = Image.new("RGBX", (width, height), None)  # None: not filled (all written over)
    try:
        _, capsule = image.__arrow_c_array__()  # released when the capsule goes; the memory is the image's
    except ValueError:  # "in multiple array blocks"
        return None
    exported = _ArrowArray.from_address(_capsule_pointer(capsule, b"arrow_array"))
    if exported.n_children != 1 or exported.children[0].contents.length != 4 * width * height:
        return None
    address = int(exported.children[0].contents.buffers[1])
    setattr(image, _ROWS, address)
    return image, address


def _address(image: Image.Image) -> int | None:
    address: int | None = getattr(image, _ROWS, None)
    return address


def from_render(view: Any, address: int, stride: int, box: tuple[int, int, int, int]) -> Image.Image:
    """`box` (left, top, right, bottom) of three-byte RGB rows `stride` bytes apart, whose first row is the
    box's top row and whose first byte (`view[0]`) is at `address`."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    if len(view) < stride * (height - 1) + 3 * right:
        raise ValueError(f"{len(view)} bytes for {height} rows to column {right}, {stride} bytes apart")
    made = _new(width, height)
    if made is None:
        image = Image.new("RGB", (width, height), None)  # all written over
        image.frombytes(view[3 * left:], "raw", "RGB", stride, 1)
        return image
    image, out = made
    kalexo_pixels.to_rgbx(address + 3 * left, stride, width, height, 3, out, 4 * width)
    return image


def from_grey(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    """`box` of a grey level as an RGB tile that children can be halved into."""
    left, top, right, bottom = box
    source = grey_rows.address(image)
    made = _new(right - left, bottom - top) if source is not None else None
    if source is None or made is None:
        return image.crop(box).convert("RGB")
    tile, out = made
    kalexo_pixels.to_rgbx(source + top * image.width + left, image.width, right - left, bottom - top, 1, out,
                          4 * (right - left))
    return tile


def halve_into(parent: Image.Image, child: Image.Image, left: int, top: int) -> None:
    """`child.reduce(2)` pasted into `parent` at (left, top); in place, in C, when both are tiles made here."""
    into, source = _address(parent), _address(child)
    width, height = (child.width + 1) // 2, (child.height + 1) // 2
    if into is None or source is None or not grey_rows.native():
        parent.paste(child.reduce(2), (left, top))  # into the parent's own memory: its address holds
        return
    if left + width > parent.width or top + height > parent.height:
        raise ValueError(f"a {width} x {height} half does not fit {parent.size} at ({left}, {top})")
    kalexo_pixels.halve4(source, 4 * child.width, child.width, child.height,
                         into + 4 * (top * parent.width + left), 4 * parent.width)
