"""Kalexo's pixel kernels (pixels.c), loaded with ctypes from the shared library beside this file.

Shipped in the imaging layer next to PyMuPDF and Pillow, built by `layers/native.py` for the layer's
architecture, and installed into the development venv by `make` (the same script, for this machine). Importing
this package raises ImportError when the library is missing or built for another machine; the tiler then halves
with Pillow (the same pixels, slower).

Addresses are plain integers (a PyMuPDF pixmap's `samples_ptr`, or `address_of` a bytearray); the caller keeps
the memory alive and large enough for the call.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

LIBRARY_NAME = "libkalexo_pixels.so"
LIBRARY = Path(__file__).resolve().parent / LIBRARY_NAME

try:
    _lib = ctypes.CDLL(str(LIBRARY))
    _kernels = (_lib.kx_halve, _lib.kx_halve4, _lib.kx_channel, _lib.kx_to_rgbx)
except (OSError, AttributeError) as error:  # missing, for another architecture, or older than this file
    raise ImportError(f"{LIBRARY}: {error}") from error

_lib.kx_halve.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                          ctypes.c_ssize_t]
_lib.kx_halve.restype = None
_lib.kx_channel.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                            ctypes.c_int, ctypes.c_void_p, ctypes.c_ssize_t]
_lib.kx_channel.restype = None
_lib.kx_halve4.argtypes = _lib.kx_halve.argtypes
_lib.kx_halve4.restype = None
_lib.kx_to_rgbx.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                            ctypes.c_void_p, ctypes.c_ssize_t]
_lib.kx_to_rgbx.restype = None


def address_of(buffer: bytearray) -> int:
    """The address of a bytearray's first byte (valid while it is neither freed nor resized)."""
    return ctypes.addressof(ctypes.c_char.from_buffer(buffer)) if buffer else 0


def halve(src: int, src_stride: int, width: int, height: int, dst: int, dst_stride: int) -> None:
    """Pillow's `Image.reduce(2)` of a grey image: `dst` gets ceil(width / 2) x ceil(height / 2) pixels."""
    if width < 1 or height < 1:
        raise ValueError(f"nothing to halve: {width} x {height}")
    _lib.kx_halve(src, src_stride, width, height, dst, dst_stride)


def halve4(src: int, src_stride: int, width: int, height: int, dst: int, dst_stride: int) -> None:
    """`halve` for four-byte pixels (Pillow's RGB, held as RGBX); widths in pixels, strides in bytes."""
    if width < 1 or height < 1:
        raise ValueError(f"nothing to halve: {width} x {height}")
    _lib.kx_halve4(src, src_stride, width, height, dst, dst_stride)


def to_rgbx(src: int, src_stride: int, width: int, height: int, n: int, dst: int, dst_stride: int) -> None:
    """Grey (`n` 1) or three-byte RGB (`n` 3) pixels as four-byte RGBX, X = 255."""
    if n not in (1, 3):
        raise ValueError(f"{n}-byte pixels: only 1 (grey) or 3 (RGB)")
    _lib.kx_to_rgbx(src, src_stride, width, height, n, dst, dst_stride)


def channel(src: int, src_stride: int, width: int, height: int, n: int, index: int, dst: int,
            dst_stride: int) -> None:
    """Byte `index` of each `n`-byte pixel of `src` into the grey rows of `dst`."""
    if not 0 <= index < n:
        raise ValueError(f"channel {index} of a {n}-byte pixel")
    _lib.kx_channel(src, src_stride, width, height, n, index, dst, dst_stride)
