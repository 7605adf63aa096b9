# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""What the pixel budget (`max_pixels`, domain/tile_plan.py) costs and keeps of a large sheet, side by side.

`python -m bench.sheet_budget [--budgets 0,140000000,70000000] [--repeat 3]` tiles the benchmark's A0 plan
sheet (bench/tiling_inputs.py) at 300 dpi under each budget (0: none), on one core, and prints per budget:
the resolution the sheet is rendered at, its pixels and tiles, `tile_page`'s CPU time (best of `--repeat`,
the budgets taking turns in one process, after a warm-up), the stitched full-size level's PSNR against a
direct render at the same resolution (bench/fidelity.py; the project's bar is 40 dB), and what the finest
things drawn on a sheet become in pixels: the thinnest ISO pen (0.13 mm) and 1.8 mm lettering.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

MM_PER_INCH = 25.4
THINNEST_PEN_MM = 0.13
SMALLEST_LETTERING_MM = 1.8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budgets", default="0,140000000,70000000", help="max_pixels values (0: none)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    os.sched_setaffinity(0, {0})

    import pymupdf

    from bench.fidelity import direct, psnr, stitched
    from bench.tiling_inputs import a0_sheet
    from chalicelib.domain.tile_plan import TilePlan, fit_scale
    from chalicelib.imaging.formats import Kind
    from chalicelib.imaging.tiler import TileSettings, tile_page

    with tempfile.TemporaryDirectory(prefix="sheet-budget-") as folder:
        path = os.path.join(folder, "a0.pdf")
        a0_sheet(path)
        with pymupdf.open(path) as doc:
            rect = doc[0].rect
        tile_page(path, Kind.PDF, 0, TileSettings(dpi=72), lambda _piece: None)  # imports and caches warm
        best = {budget: float("inf") for budget in budgets}
        for _ in range(args.repeat):
            for budget in budgets:
                started = time.process_time()
                tile_page(path, Kind.PDF, 0, TileSettings(max_pixels=budget), lambda _piece: None)
                best[budget] = min(best[budget], time.process_time() - started)
        print(f"A0 sheet, {rect.width:.0f} x {rect.height:.0f} pt, at 300 dpi within each budget; one core, "
              f"best of {args.repeat}; load average {os.getloadavg()[0]:.2f}\n")
        print("| max_pixels | dpi | pixels | tiles | tile_page CPU s | x no budget | PSNR dB | 0.13 mm pen px "
              "| 1.8 mm lettering px |\n|---:|" + "---:|" * 8)
        for budget in budgets:
            dpi = fit_scale(rect.width, rect.height, 300, 16384, budget) * 72
            whole, _ = stitched(path, 0, TileSettings(max_pixels=budget))
            fidelity = psnr(whole, direct(path, 0, dpi))
            plan = TilePlan(whole.width, whole.height)
            label = f"{budget:,}" if budget else "none"
            print(f"| {label} | {dpi:.1f} | {whole.width * whole.height / 1e6:.1f} M "
                  f"| {plan.tile_count():,} | {best[budget]:.3f} | {best[budget] / best[budgets[0]]:.2f} "
                  f"| {fidelity:.2f} | {THINNEST_PEN_MM * dpi / MM_PER_INCH:.2f} "
                  f"| {SMALLEST_LETTERING_MM * dpi / MM_PER_INCH:.1f} |")


if __name__ == "__main__":
    main()
