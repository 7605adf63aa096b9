# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""Scanned sheets: a PDF page that is one large image, tiled with its image decoded once up front
(`chalicelib/imaging/decode_once.py`) against MuPDF decoding it for every band, side by side in one run.

    python -m bench.scans [--repeat 2] [--json bench/results/scans.json]

Inputs, made on the fly: A0 (9933 x 14043 px, 300 dpi) in colour (a 4:2:0 JPEG, as scanners write them), in
grey (a JPEG over Pillow's budget) and in black and white (one CCITT G4 stream), A1 in colour as a JPEG and as
a Flate stream (a PNG converted), and A3 in colour. Each
run is a fresh child pinned to core 0 (its ru_maxrss is its peak: the inputs are made in children too, since
a child's ru_maxrss starts from its parent's); with --repeat the two variants take turns
and each keeps its best CPU time. Printed: CPU seconds and peak MB of each variant, their ratio, and whether
every tile's bytes are the same (they must be: the same decoder makes the same samples).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = {"A0": ((9933, 14043), (2384, 3370)), "A1": ((7016, 9933), (1684, 2384)), "A3": ((3508, 4961), (842, 1191))}
INPUTS = (("A0 colour", "A0", "RGB"), ("A0 grey", "A0", "L"), ("A0 black and white", "A0", "1"),
          ("A1 colour", "A1", "RGB"), ("A1 colour, Flate", "A1", "RGB flate"), ("A3 colour", "A3", "RGB"))


def _drawing(mode: str, size: tuple[int, int]) -> Any:
    from PIL import Image, ImageDraw

    width, height = size
    if mode == "1":
        image = Image.new("1", size, 1)
    else:
        noise = [Image.effect_noise((width // 32, height // 32), 60 + 20 * n) for n in range(3)]
        image = Image.merge("RGB", noise).resize(size, Image.Resampling.BILINEAR).convert(mode)
    draw = ImageDraw.Draw(image)
    for n in range(120):  # lines and rooms, as on a plan
        draw.line((0, n * height // 120, width - 1, height - 1 - n * height // 120), fill=0, width=3)
        draw.rectangle((n * width // 130, n * height // 130, n * width // 130 + 300, n * height // 130 + 200),
                       outline=0, width=2)
    return image


def make_scan(path: str, paper: str, mode: str) -> None:
    import pymupdf
    from PIL import TiffImagePlugin

    pixels, points = SIZES[paper]
    mode, _, flate = mode.partition(" ")
    image = _drawing(mode, pixels)
    doc = pymupdf.open()
    page = doc.new_page(width=points[0], height=points[1])
    out = io.BytesIO()
    if flate:  # a PNG, as converters embed it: one Flate stream
        image.save(out, "PNG")
        page.insert_image(page.rect, stream=out.getvalue())
    elif mode != "1":
        image.save(out, "JPEG", quality=85)  # Pillow's default chroma subsampling: 4:2:0
        page.insert_image(page.rect, stream=out.getvalue())
    else:
        info = TiffImagePlugin.ImageFileDirectory_v2()
        info[278] = pixels[1]  # one strip: one G4 stream
        image.save(out, "TIFF", compression="group4", tiffinfo=info)
        tiff = TiffImagePlugin.TiffImageFile(io.BytesIO(out.getvalue()))
        start, length = tiff.tag_v2[273][0], tiff.tag_v2[279][0]
        placeholder = io.BytesIO()
        image.resize((8, 8)).save(placeholder, "PNG")
        page.insert_image(page.rect, stream=placeholder.getvalue())
        (xref, *_), = page.get_images(full=True)
        doc.update_stream(xref, out.getvalue()[start:start + length], compress=0)
        for key, value in (("Filter", "/CCITTFaxDecode"), ("ColorSpace", "/DeviceGray"), ("BitsPerComponent", "1"),
                           ("Width", str(pixels[0])), ("Height", str(pixels[1])),
                           ("DecodeParms", f"<< /K -1 /Columns {pixels[0]} /Rows {pixels[1]} /BlackIs1 true >>")):
            doc.xref_set_key(xref, key, value)
    doc.save(path, deflate_images=True)


def _child(path: str, once: bool) -> None:
    import hashlib

    from chalicelib.imaging import decode_once
    from chalicelib.imaging.formats import Kind
    from chalicelib.imaging.tiler import TileSettings, tile_page

    if not once:
        decode_once.MIN_PIXELS = 10**15  # nothing is large enough: MuPDF decodes band by band, as before
    digest = hashlib.sha256()
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    result = tile_page(path, Kind.PDF, 0, TileSettings(), lambda piece: digest.update(getattr(piece, "data", b"")))
    after = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"cpu": after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime,
                      "seconds": time.perf_counter() - started, "peak_mb": after.ru_maxrss / 1024,
                      "tiles": result.tile_count, "digest": digest.hexdigest()}))


def _run(path: str, once: bool) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "bench.scans", "--child", path, "once" if once else "bands"],
                          capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], args.child[1] == "once")
        return
    if args.make:
        make_scan(*args.make)
        return
    os.sched_setaffinity(0, {0})  # children inherit the single core
    rows = []
    print("| scan | decoded once: CPU s | band by band: CPU s | ratio | peak MB once / bands | same tiles |\n"
          "|---|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory(prefix="scans-") as work:
        for name, paper, mode in INPUTS:
            path = str(Path(work) / f"{name.replace(' ', '-')}.pdf")
            # In a child of its own: a child's ru_maxrss starts from its parent's, which must stay small.
            subprocess.run([sys.executable, "-m", "bench.scans", "--make", path, paper, mode], check=True)
            runs: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
            for _ in range(args.repeat):
                for once in (True, False):
                    runs[once].append(_run(path, once))
            once_run, bands_run = (min(runs[flag], key=lambda run: run["cpu"]) for flag in (True, False))
            same = once_run["digest"] == bands_run["digest"]
            rows.append({"scan": name, "once": once_run, "bands": bands_run, "same_tiles": same})
            ratio = bands_run["cpu"] / once_run["cpu"]
            print(f"| {name} | {once_run['cpu']:.2f} | {bands_run['cpu']:.2f} | {ratio:.1f}x "
                  f"| {once_run['peak_mb']:.0f} / {bands_run['peak_mb']:.0f} | {'yes' if same else 'NO'} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
