"""Lambda's limit: a function's code plus all its layers, unzipped, at most 250 MB (262,144,000 bytes).

    python layers/check_size.py --package build/package-dev/deployment.zip [--layer build/layer-imaging-x86_64.zip ...]

Prints the figures for the functions without the layer (the app package alone) and with it (package + layer, per
architecture), and fails when either passes the limit.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

LIMIT_BYTES = 262_144_000  # 250 MiB: Lambda's "250 MB" unzipped deployment package limit, layers included
PROJECT_DIR = Path(__file__).resolve().parent.parent


def unzipped(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return sum(i.file_size for i in archive.infolist())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--package", type=Path, required=True, help="the chalice package deployment.zip")
    parser.add_argument("--layer", type=Path, action="append",
                        help="a layer zip (default: build/layer-imaging-*.zip)")
    args = parser.parse_args(argv)
    layers = args.layer or sorted((PROJECT_DIR / "build").glob("layer-imaging-*.zip"))
    if not layers:
        print("no layer zips: run layers/build.py first", file=sys.stderr)
        return 1
    package = unzipped(args.package)
    rows = [("app package (functions without the layer)", args.package.stat().st_size, package)]
    for layer in layers:
        rows.append((f"  + {layer.name}", layer.stat().st_size, package + unzipped(layer)))
    failed = False
    print(f"{'':48} {'zipped':>10} {'unzipped':>10}   limit {LIMIT_BYTES / 1e6:.1f} MB")
    for label, zipped, total in rows:
        over = total > LIMIT_BYTES
        failed |= over
        print(f"{label:48} {zipped / 1e6:8.1f} MB {total / 1e6:8.1f} MB   "
              f"{'OVER' if over else f'{(LIMIT_BYTES - total) / 1e6:.1f} MB to spare'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
