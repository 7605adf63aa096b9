"""The tiling function's memory: enough for the largest raster its stage admits, and no more than one vCPU's
worth, which is all the one-threaded tiler uses (Lambda gives a full vCPU at 1,769 MB and bills every MB).

A raster is decoded whole (Pillow has no partial decoding) and nothing else of its size is held
(chalicelib/imaging/raster_page.py). Peaks measured at the default limit of 150 Mpx (docs/benchmarks.md, "Ninth
pass"): 689 MB for a baseline RGB JPEG, 725 MB for one scaled down to `max_side`, 739 MB for an RGBA PNG (875 MB
at any `max_side`, 15000 x 10000), 427 MB for a 16-bit TIFF, 1,057 MB for a progressive JPEG, whose decoder holds
the whole image's coefficients too, and 1,202 MB for a frame turned by its EXIF orientation (Pillow makes the
turned copy before it lets the original go). WebP decoding costs about 15 bytes a pixel (1,584 MB for 100 Mpx),
so WebP has a limit of its own (`Limits.max_webp_pixels`). A scanned PDF page holds its image decoded once
(chalicelib/imaging/decode_once.py, at most 480 MB a page): 656 MB for a colour A0 scan, 643 MB for the largest
image the budget takes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.imaging.limits import Limits
from chalicelib.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
ONE_VCPU_MB = 1769
# A model above every measured peak: the frame at Pillow's 4 bytes a pixel, twice while an EXIF turn is applied
# (or a progressive JPEG's coefficients beside it), and the process itself (Python, boto3, PyMuPDF, a band).
BYTES_PER_PIXEL = 8
WEBP_BYTES_PER_PIXEL = 16
PROCESS_MB = 150


def _admitted_pixels(stage: str) -> int:
    body = CONFIG["stages"][stage]
    env = {**CONFIG["environment_variables"], **body["environment_variables"],
           **body["lambda_functions"]["tile_pages"].get("environment_variables", {}),
           "AWS_DEFAULT_REGION": "us-east-1"}
    return Settings.from_env(env).max_image_pixels


@pytest.mark.parametrize("stage", sorted(CONFIG["stages"]))
def test_the_tiling_function_holds_the_largest_admitted_raster(stage: str) -> None:
    memory_mb = CONFIG["stages"][stage]["lambda_functions"]["tile_pages"]["lambda_memory_size"]
    pixels = _admitted_pixels(stage)
    webp = min(pixels, Limits().max_webp_pixels)
    for bytes_per_pixel, admitted in ((BYTES_PER_PIXEL, pixels), (WEBP_BYTES_PER_PIXEL, webp)):
        needed_mb = PROCESS_MB + bytes_per_pixel * admitted / 2**20
        assert needed_mb <= memory_mb, (stage, needed_mb, memory_mb)


def test_the_model_is_above_every_measured_peak() -> None:
    assert PROCESS_MB + BYTES_PER_PIXEL * 150_000_000 / 2**20 >= 1202  # a turned frame at 150 Mpx
    assert PROCESS_MB + WEBP_BYTES_PER_PIXEL * 100_000_000 / 2**20 >= 1584  # a WebP of 100 Mpx


@pytest.mark.parametrize("stage", sorted(CONFIG["stages"]))
def test_the_tiling_function_buys_no_cpu_it_cannot_use(stage: str) -> None:
    assert CONFIG["stages"][stage]["lambda_functions"]["tile_pages"]["lambda_memory_size"] <= ONE_VCPU_MB
