"""What the imaging package refuses to take on, whatever the file claims.

Its own module so that `analyse` and `tiler` share it without importing each other; both re-export it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_pages: int = 2000
    # Checked against the header before any pixel is decoded: a small PNG can claim 30000 x 30000.
    max_image_pixels: int = 400_000_000
    max_webp_pixels: int = 80_000_000  # documents.pixel_limit: WebP decoding takes about 15 bytes a pixel
    max_file_bytes: int = 2 * 1024**3
