# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""What coarser anti-aliasing would buy the tiler, and what it would cost the tiles (issue 16's "measure each").

MuPDF samples each pixel of a vector render 17 x 15 times at its default anti-aliasing level (8); at level 6 it
samples 8 x 8. The tiler renders at the default. `python -m bench.render_aa [--dpi 150,200,250,300] [--pairs 3]`
measures both levels side by side:

- speed: `tile_page`'s CPU time a page on the reference inputs (bench/tiling_inputs.py: the 50-page report and
  the A0 sheet, at 300 dpi), each level in its own fresh process, the two levels alternating `--pairs` times
  (this host's one core varies by up to 40% between processes; pairs taken in turn share its moods);
- quality: the full-size level stitched back from the tiles against a direct render at full anti-aliasing
  (bench/fidelity.py), PSNR in dB, for the A0 sheet at each `--dpi` and the report's four kinds of page at 300
  dpi (a table with tinted rows, a chart, a photograph, text only). The project's bar is 40 dB.

Text is not affected: MuPDF has FreeType draw the glyphs it caches, at full anti-aliasing whatever the level.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LEVELS = (8, 6)


def _child(level: int, path: str, pages: int) -> None:
    """In the subprocess: `tile_page` over `pages` pages at anti-aliasing `level`, best of a few passes."""
    import pymupdf

    from chalicelib.imaging.formats import sniff
    from chalicelib.imaging.tiler import TileSettings, tile_page

    pymupdf.TOOLS.set_aa_level(level)
    kind = sniff(path)
    assert kind is not None
    settings = TileSettings(dpi=300)
    tile_page(path, kind, 0, settings, lambda _: None)  # the first page's one-time work (fonts, caches)
    best = float("inf")
    for _ in range(3 if pages == 1 else 2):
        start = time.process_time()
        for index in range(pages):
            tile_page(path, kind, index, settings, lambda _: None)
        best = min(best, (time.process_time() - start) / pages)
    print(json.dumps({"cpu_s": best}))


def _speed(inputs: dict[str, tuple[str, int]], pairs: int) -> dict[str, dict[int, list[float]]]:
    runs: dict[str, dict[int, list[float]]] = {name: {level: [] for level in LEVELS} for name in inputs}
    for _ in range(pairs):
        for name, (path, pages) in inputs.items():
            for level in LEVELS:
                out = subprocess.run([sys.executable, "-m", "bench.render_aa", "--child", str(level), path, str(pages)],
                                     check=True, capture_output=True, text=True).stdout
                runs[name][level].append(json.loads(out.strip().splitlines()[-1])["cpu_s"])
    return runs


def _quality(inputs: dict[str, tuple[str, int]], dpis: list[int]) -> list[tuple[str, int, dict[int, float]]]:
    import pymupdf

    from bench.fidelity import FULL_AA_LEVEL, direct, psnr, stitched
    from chalicelib.imaging.tiler import TileSettings

    cases = [("A0 sheet", inputs["a0"][0], 0, dpi) for dpi in dpis]
    cases += [(f"report page {index + 1}", inputs["report"][0], index, 300) for index in range(4)]
    rows = []
    for label, path, index, dpi in cases:
        reference = direct(path, index, dpi)
        scores = {}
        for level in LEVELS:
            pymupdf.TOOLS.set_aa_level(level)
            scores[level] = psnr(stitched(path, index, TileSettings(dpi=dpi))[0], reference)
        pymupdf.TOOLS.set_aa_level(FULL_AA_LEVEL)
        rows.append((label, dpi, scores))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dpi", default="150,200,250,300", help="the A0 sheet's resolutions for the quality rows")
    parser.add_argument("--pairs", type=int, default=3, help="alternating pairs of processes for the speed rows")
    parser.add_argument("--child", nargs=3, metavar=("LEVEL", "PATH", "PAGES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(int(args.child[0]), args.child[1], int(args.child[2]))
        return
    from bench.tiling_inputs import a0_sheet, report_pdf

    folder = Path(tempfile.mkdtemp(prefix="render-aa-"))
    report, a0 = str(folder / "report.pdf"), str(folder / "a0.pdf")
    report_pdf(report)
    a0_sheet(a0)
    inputs = {"report": (report, 50), "a0": (a0, 1)}
    print("tile_page CPU ms a page at 300 dpi, each pair's two processes run in turn:")
    for name, runs in _speed(inputs, args.pairs).items():
        full, coarse = (statistics.median(runs[level]) * 1000 for level in LEVELS)
        print(f"  {name:7} level 8: {' '.join(f'{t * 1000:7.1f}' for t in runs[8])}   level 6: "
              f"{' '.join(f'{t * 1000:7.1f}' for t in runs[6])}   median {coarse / full:.2f}x")
    print("PSNR of the stitched full-size level against a full anti-aliasing render (dB; the bar is 40):")
    for label, dpi, scores in _quality(inputs, [int(d) for d in args.dpi.split(",")]):
        print(f"  {label:15} {dpi:4} dpi   level 8: {scores[8]:5.2f}   level 6: {scores[6]:5.2f}")


if __name__ == "__main__":
    main()
