# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF ships py.typed but leaves most of its methods unannotated.)
"""Tiling: this project's tiler against a naive Pillow loop and libvips' dzsave, on one core, in the same run.

`python -m bench.tiling [--pages 50] [--dpi 300] [--max-pixels N] [--repeat 1]` makes its inputs
(bench/tiling_inputs.py: a report of letter pages and an A0 plan sheet), then runs every contender on every
input in a fresh subprocess pinned to core 0, so each child's ru_maxrss is that contender's peak; with
`--repeat N` the contenders take turns, N rounds of one child each, and each keeps its best child by CPU time.
Every contender renders at the same resolution: `--dpi`, lowered for a page over `--max-pixels` (the tiler's
default budget unless given; 0 for none). Tiles go to a local directory (in /dev/shm), as the
store would write them. Contenders:

- `kalexo objects`: `tile_page`, one file per tile that is not uniform, a uniform tile once per run (what a
  store keyed by tile would PUT);
- `kalexo packed`: `tile_page`, one file a page: its index, then its tiles back to back (1 PUT a page);
- `naive pillow`: the page rendered whole by PyMuPDF at the same dpi, each level resized from the full image
  with Pillow's default filter (bicubic), every tile cropped and saved as JPEG q85;
- `vips dzsave`: the same whole-page render handed to `pyvips.Image.new_from_memory(...).dzsave(...)`
  (tile 256, overlap 0, .jpg Q=85). pyvips-binary has no PDF loader (pdfload needs poppler or PDFium), so no
  variant where libvips renders the PDF itself.
- `vips dzsave (grey)`: the same, fed a grey render of every page (one band): what dzsave costs on what a grey
  page gives it. On a colour page it drops the colour, so this row is a lower bound of dzsave's cost, not a tiler.

And the floor, in its own child: the work no tiler avoids, measured apart. `render` is the page rendered as the
tiler renders it (its display list made, then `VectorPage.pixmap` over the bands the tiler renders: grey for a
grey page, blank bands skipped, a mostly grey page's bands in RGB where its colour reaches; not the colour and
content inspection, nor what the tiler makes of a pixmap in Pillow); `encode`
is the encoding alone (`encode`, as the tiler calls it) of exactly the images the tiler stores (each tile with
content, each distinct uniform tile once, the page's `max` image and thumbnail), decoded from its output
beforehand and not timed. Each contender's CPU time is printed as a ratio to that floor. Every child imports
its contender's libraries before its clock starts (a process imports them once, whatever it tiles).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.tiling_contenders import dzsave, kalexo, naive
from bench.tiling_floor import floor
from chalicelib.domain.tile_plan import DEFAULT_MAX_PIXELS

CONTENDERS = ("kalexo objects", "kalexo packed", "naive pillow", "vips dzsave", "vips dzsave (grey)", "floor")
# The goals are judged on `kalexo packed`, the layout the stack deploys (`kalexo objects` also pays a file per
# tile, which is the store's cost, not the tiler's).
GOALS = {"naive pillow": 1.6, "vips dzsave": 3.0}  # required pages/s ratio of `kalexo packed` to each
IMPORTS = {"kalexo": ("chalicelib.imaging.tiler",), "naive": ("pymupdf", "PIL.Image"), "vips": ("pymupdf", "pyvips"),
           "floor": ("chalicelib.imaging.tiler",)}
FLOOR_GOAL = 1.3  # `kalexo packed` CPU time at most this times the floor's
A0_GOAL_MB = 512


def _child(contender: str, path: str, pages: int, dpi: int, max_pixels: int) -> None:
    """Runs in the subprocess: one contender, one input; prints one JSON line."""
    # Tiles go to memory-backed /dev/shm where there is one: the store is remote, and a local disk's journal
    # would weigh on whichever contender writes the most files rather than on the tiling.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    # Each contender's libraries are imported before its clock starts: a process pays for importing PyMuPDF,
    # Pillow or libvips (0.2-0.3 s of CPU) once, not per page, and on the one-page A0 runs it would weigh as
    # much as a fifth of the tiling.
    for module in IMPORTS[contender.split(maxsplit=1)[0]]:
        importlib.import_module(module)
    with tempfile.TemporaryDirectory(prefix="tiling-out-", dir=shm) as out_dir:
        out = Path(out_dir)
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        totals: dict[str, Any]
        if contender.startswith("kalexo"):
            totals = kalexo(path, pages, out, dpi, max_pixels, packed=contender.endswith("packed"))
        elif contender == "naive pillow":
            totals = naive(path, pages, out, dpi, max_pixels)
        elif contender == "floor":
            totals = floor(path, pages, dpi, max_pixels)
        else:
            totals = dzsave(path, pages, out, dpi, max_pixels, grey=contender.endswith("(grey)"))
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    if contender == "floor":  # the floor is its two timed loops, not the preparation around them
        cpu = seconds = totals["render_cpu"] + totals["encode_cpu"]
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": after.ru_maxrss / 1024, **totals}))


def _busy(path: str) -> None:
    """The neighbour: this project's tiler on the report's pages, round and round, on the other core. Two
    vCPUs may share one physical core, its caches and its memory bandwidth: the contenders' CPU times, and
    their ratios, move with what runs beside them."""
    os.sched_setaffinity(0, {1})
    from chalicelib.imaging.formats import Kind
    from chalicelib.imaging.tiler import TileSettings, tile_page

    while True:
        for index in range(50):
            tile_page(path, Kind.PDF, index, TileSettings(), lambda _piece: None)


def _child_run(contender: str, path: str, pages: int, dpi: int, max_pixels: int) -> dict[str, Any]:
    env = {**os.environ, "VIPS_CONCURRENCY": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "bench.tiling", "--child", contender, path, str(pages), str(dpi),
                           str(max_pixels)], capture_output=True, text=True, env=env, check=False)
    if done.returncode:
        raise RuntimeError(f"{contender} on {path} failed:\n{done.stderr}")
    run: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return {**run, "pages": pages}


def _run_all(path: str, pages: int, dpi: int, max_pixels: int, repeat: int) -> dict[str, dict[str, Any]]:
    """Per contender, the best of `repeat` fresh children (by CPU time: the machine may be busy with other
    work). The contenders take turns, one child each per round, so a slow spell of the machine falls on all of
    them rather than on whichever ran through it."""
    runs: dict[str, list[dict[str, Any]]] = {contender: [] for contender in CONTENDERS}
    for _ in range(repeat):
        for contender in CONTENDERS:
            runs[contender].append(_child_run(contender, path, pages, dpi, max_pixels))
    return {contender: min(tries, key=lambda run: run["cpu"]) for contender, tries in runs.items()}


def _table(results: dict[tuple[str, str], dict[str, Any]]) -> None:
    print("| contender | input | pages/s | pages/s (CPU) | CPU s / page | x floor | x dzsave (CPU) | tiles/s "
          "| peak RSS MB | tiles/page | PUTs/page | MB stored |\n|---|---|" + "---:|" * 10)
    for (contender, name), r in results.items():
        floor, dzsave = results[("floor", name)]["cpu"], results[("vips dzsave", name)]["cpu"]
        print(f"| {contender} | {name} | {r['pages'] / r['seconds']:.2f} | {r['pages'] / r['cpu']:.2f} "
              f"| {r['cpu'] / r['pages']:.3f} | {r['cpu'] / floor:.2f} | {r['cpu'] / dzsave:.2f} "
              f"| {r['tiles'] / r['seconds']:.0f} | {r['peak_mb']:.0f} | {r['tiles'] / r['pages']:.1f} "
              f"| {r['puts'] / r['pages']:.1f} | {r['bytes'] / 1e6:.1f} |")
    for name in dict.fromkeys(n for _, n in results):
        floor = results[("floor", name)]
        print(f"\nfloor, {name}: render {floor['render_cpu'] / floor['pages']:.3f} s/page + encode "
              f"{floor['encode_cpu'] / floor['pages']:.3f} s/page ({floor['puts'] / floor['pages']:.0f} tiles stored "
              "a page, each encoded once)", end="")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=50, help="pages of the report to tile (max 50)")
    parser.add_argument("--dpi", type=int, default=300)
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help="a page's pixel budget, for every contender (0: none, as before the fifteenth pass)")
    parser.add_argument("--repeat", type=int, default=1, help="children per contender and input; best kept")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON (bench/cost.py reads them)")
    parser.add_argument("--inputs", default="report,a0", help="which inputs: report, a0 or both (comma-separated)")
    parser.add_argument("--neighbour", action="store_true",
                        help="keep the other core busy tiling throughout (as another tenant of a Lambda host would)")
    parser.add_argument("--child", nargs=5, metavar=("CONTENDER", "PATH", "PAGES", "DPI", "MAX_PIXELS"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--busy", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        contender, path, pages, dpi, max_pixels = args.child
        _child(contender, path, int(pages), int(dpi), int(max_pixels))
        return
    if args.busy:
        _busy(args.busy)
        return
    os.sched_setaffinity(0, {0})  # children inherit the single core
    from bench.tiling_inputs import a0_sheet, report_pdf

    with tempfile.TemporaryDirectory(prefix="tiling-in-") as in_dir:
        report, sheet = os.path.join(in_dir, "report.pdf"), os.path.join(in_dir, "a0.pdf")
        report_pdf(report, pages=50)
        a0_sheet(sheet)
        inputs = {f"report x{min(args.pages, 50)}": (report, min(args.pages, 50)), "A0 sheet": (sheet, 1)}
        chosen = args.inputs.split(",")
        inputs = {name: where for name, where in inputs.items() if name.split()[0].lower() in chosen
                  or (name == "A0 sheet" and "a0" in chosen)}
        results: dict[tuple[str, str], dict[str, Any]] = {}
        neighbour = subprocess.Popen([sys.executable, "-m", "bench.tiling", "--busy", report],
                                     stdout=subprocess.DEVNULL) if args.neighbour else None
        try:
            for name, (path, pages) in inputs.items():
                for contender, best in _run_all(path, pages, args.dpi, args.max_pixels, args.repeat).items():
                    results[(contender, name)] = best
                    print(f"  {contender} / {name}: {best['seconds']:.1f} s", flush=True)
        finally:
            if neighbour is not None:
                neighbour.kill()
                neighbour.wait()
    other = "the other core busy tiling (--neighbour)" if args.neighbour else "the other core left to the machine"
    budget = f"within {args.max_pixels:,} px a page" if args.max_pixels else "no pixel budget"
    print(f"\nOne core, {other}; {args.dpi} dpi ({budget}), 256 px JPEG q85 tiles; load average "
          f"{os.getloadavg()[0]:.2f}\n")
    _table(results)
    print()
    for name in inputs:
        ours = results[("kalexo packed", name)]
        for other, goal in GOALS.items():
            wall = results[(other, name)]["seconds"] / ours["seconds"]
            cpu = results[(other, name)]["cpu"] / ours["cpu"]
            print(f"{name}: kalexo (packed) is {wall:.2f}x {other} in pages/s ({cpu:.2f}x by CPU time); goal {goal}x: "
                  f"{'met' if min(wall, cpu) >= goal else 'NOT met'}")
        to_floor = ours["cpu"] / results[("floor", name)]["cpu"]
        print(f"{name}: kalexo (packed) takes {to_floor:.2f}x the floor's CPU time; goal <= {FLOOR_GOAL}x: "
              f"{'met' if to_floor <= FLOOR_GOAL else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"date": time.strftime("%Y-%m-%d"), "dpi": args.dpi, "max_pixels": args.max_pixels,
                       "load": os.getloadavg(), "results": [
                {"contender": c, "input": n, **r} for (c, n), r in results.items()]}, out, indent=1)
    if "A0 sheet" not in inputs:
        return
    a0_peak = max(results[(c, "A0 sheet")]["peak_mb"] for c in CONTENDERS if c.startswith("kalexo"))
    print(f"A0 sheet: kalexo peak RSS {a0_peak:.0f} MB (goal <= {A0_GOAL_MB} MB: "
          f"{'met' if a0_peak <= A0_GOAL_MB else 'NOT met'})")


if __name__ == "__main__":
    main()
