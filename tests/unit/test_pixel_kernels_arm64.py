"""The pixel kernels as the arm64 functions run them: the layer's aarch64 build, loaded by an aarch64 process
(under qemu-user, with Debian's arm64 libc), against Pillow on this machine. gcc vectorises the kernels with
NEON there and SSE2 here, so the arm64 bytes are checked, not assumed."""

from __future__ import annotations

import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("pixel_kernels_driver.c")
ARM64_LIBC = Path("/usr/aarch64-linux-gnu")  # libc6-arm64-cross (scripts/system-packages.sh)


@pytest.fixture(scope="module")
def arm64(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("layers_native", ROOT / "layers" / "native.py")
    assert spec and spec.loader
    native = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = native
    spec.loader.exec_module(native)
    out = tmp_path_factory.mktemp("arm64")
    library = native.build("aarch64", out) / native.LIBRARY
    driver = out / "driver"
    subprocess.run([native.compiler("aarch64"), "-O2", "-o", str(driver), str(DRIVER)], check=True)

    def run(kernel: str, width: int, height: int, pixels: bytes) -> bytes:
        done = subprocess.run(["qemu-aarch64", "-L", str(ARM64_LIBC), str(driver), str(library), kernel,
                               str(width), str(height)], input=pixels, capture_output=True, check=True,
                              timeout=120)
        return done.stdout

    return run


@pytest.mark.parametrize(("width", "height"), [(1, 1), (3, 5), (16, 2), (33, 17), (257, 131), (2550, 40)])
def test_the_arm64_halving_gives_pillows_bytes(arm64, width, height):
    pixels = random.Random(width * 7 + height).randbytes(width * height)
    expected = Image.frombytes("L", (width, height), pixels).reduce(2).tobytes()
    assert arm64("halve", width, height, pixels) == expected


@pytest.mark.parametrize(("width", "height"), [(1, 1), (17, 3), (2550, 9)])
def test_the_arm64_green_channel_gives_pillows_bytes(arm64, width, height):
    pixels = random.Random(width + height).randbytes(3 * width * height)
    expected = Image.frombytes("RGB", (width, height), pixels).getchannel("G").tobytes()
    assert arm64("green", width, height, pixels) == expected


@pytest.mark.parametrize(("width", "height"), [(1, 1), (3, 5), (256, 256), (129, 77)])
def test_the_arm64_four_byte_halving_gives_pillows_bytes(arm64, width, height):
    rgb = Image.frombytes("RGB", (width, height), random.Random(width - height).randbytes(3 * width * height))
    expected = rgb.reduce(2).convert("RGBX").tobytes()
    assert arm64("halve4", width, height, rgb.convert("RGBX").tobytes()) == expected


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_the_arm64_rgbx_copy_gives_pillows_bytes(arm64, mode):
    image = Image.frombytes(mode, (37, 5), random.Random(5).randbytes(37 * 5 * len(mode)))
    kernel = "rgbx1" if mode == "L" else "rgbx3"
    assert arm64(kernel, 37, 5, image.tobytes()) == image.convert("RGBX").tobytes()
