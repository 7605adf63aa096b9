"""Build the imaging layer reproducibly: `build/layer-imaging-<arch>.zip` for the Lambda platform.

    python layers/build.py [--arch x86_64 --arch aarch64] [--out build] [--check-reproducible]
    python layers/build.py --lock      # after editing requirements.txt: download, hash, rewrite requirements.lock

Binary wheels only (manylinux_2_28, for the CPython running this: 3.12 or 3.13, Chalice's Lambda runtime),
installed from `imaging/requirements.lock` with --require-hashes, with Kalexo's pixel kernels
(`imaging/kalexo_pixels`, compiled for the architecture by `native.py`), then byte-compiled by that CPython as
unchecked-hash pycs (PEP 552: no timestamps in them;
/opt is read-only on Lambda, so a layer without bytecode compiles PyMuPDF's and Pillow's Python at every cold
start, about 0.6 s); the zip lists its entries sorted, with one fixed timestamp and normalised permissions, so
the same pins give the same bytes on any machine. `--check-reproducible` builds
every architecture twice and fails if the two zips differ.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import py_compile
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: its sibling native.py
import native

HERE = Path(__file__).resolve().parent
PROJECT_DIR = HERE.parent
REQUIREMENTS = HERE / "imaging" / "requirements.txt"
LOCK = HERE / "imaging" / "requirements.lock"
ARCHES = ("x86_64", "aarch64")
# The Lambda runtime Chalice deploys is the interpreter running it (python3.12 or python3.13): the layer is built
# for that version, since Pillow's wheels and the bytecode are per version. The lock holds hashes for both.
PYTHON_VERSIONS = ("3.12", "3.13")
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold


@dataclass(frozen=True)
class Built:
    arch: str
    path: Path
    zipped_bytes: int
    unzipped_bytes: int
    sha256: str


def lambda_arch(arch: str) -> str:
    """Lambda's name for the architecture (arm64) from the wheel platform's (aarch64)."""
    return "arm64" if arch == "aarch64" else arch


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--quiet"], check=True)


def _platform_args(arch: str, python: str = PYTHON_VERSION) -> list[str]:
    if python not in PYTHON_VERSIONS:
        raise SystemExit(f"the layer is built for the Lambda runtime of the running Python: "
                         f"{', '.join(PYTHON_VERSIONS)} (this is {python}; the Makefile picks 3.12 or 3.13)")
    return ["--only-binary=:all:", "--platform", f"manylinux_2_28_{arch}", "--python-version", python,
            "--implementation", "cp"]


def install(arch: str, target: Path) -> None:
    _pip("install", *_platform_args(arch), "--require-hashes", "--no-deps", "--no-compile", "--target", str(target),
         "-r", str(LOCK))
    # Nothing that records where or when it was built.
    for cache in target.rglob("__pycache__"):
        shutil.rmtree(cache)
    for record in target.glob("*.dist-info/direct_url.json"):
        record.unlink()


def compile_bytecode(target: Path) -> None:
    """Bytecode only this runtime's interpreter reads; refused on another (its pycs would be ignored)."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" != PYTHON_VERSION:
        raise SystemExit(f"the layer's bytecode must be compiled by Python {PYTHON_VERSION}, not {sys.version}")
    compileall.compile_dir(target, quiet=2, ddir="/opt/python", workers=1,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)


def deterministic_zip(source: Path, zip_path: Path) -> None:
    """Entries sorted, one timestamp, permissions 644/755: the bytes depend on the file contents only."""
    files = sorted(p for p in source.rglob("*") if p.is_file())
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source.parent).as_posix(), date_time=FIXED_TIME)
            executable = path.stat().st_mode & stat.S_IXUSR
            info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, whatever machine builds it
            archive.writestr(info, path.read_bytes(), compresslevel=9)


def unzipped_size(zip_path: Path) -> int:
    with zipfile.ZipFile(zip_path) as archive:
        return sum(i.file_size for i in archive.infolist())


def build(arch: str, out_dir: Path) -> Built:
    """Lambda layers unpack under /opt: site-packages go in the zip's python/ directory."""
    zip_path = out_dir / f"layer-imaging-{arch}.zip"
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "python"
        install(arch, target)
        native.build(arch, target)  # Kalexo's pixel kernels (imaging/kalexo_pixels), compiled for `arch`
        compile_bytecode(target)
        deterministic_zip(target, zip_path)
    digest = hashlib.sha256(zip_path.read_bytes()).hexdigest()
    return Built(arch, zip_path, zip_path.stat().st_size, unzipped_size(zip_path), digest)


def pins() -> list[str]:
    lines = [line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text().splitlines()]
    return [line for line in lines if line]


def write_lock() -> None:
    """Download each pin's wheel for every architecture and record its sha256."""
    hashes: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for python in PYTHON_VERSIONS:
            for arch in ARCHES:
                dest = Path(scratch) / python / arch
                _pip("download", *_platform_args(arch, python), "--no-deps", "-d", str(dest), *pins())
                for wheel in sorted(dest.glob("*.whl")):
                    name = re.split(r"-\d", wheel.name, maxsplit=1)[0].lower().replace("_", "-")
                    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
                    if digest not in hashes.setdefault(name, []):  # abi3 wheels serve both versions
                        hashes[name].append(digest)
    lines = LOCK.read_text().splitlines()
    header = [line for line in lines if line.startswith("#")]
    body = []
    for pin in pins():
        name = pin.split("==")[0].lower()
        body.append(f"{pin} \\")
        body.extend(f"    --hash=sha256:{h}" + (" \\" if i < len(hashes[name]) - 1 else "")
                    for i, h in enumerate(hashes[name]))
    LOCK.write_text("\n".join(header + body) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", action="append", choices=ARCHES)
    parser.add_argument("--out", type=Path, default=PROJECT_DIR / "build")
    parser.add_argument("--check-reproducible", action="store_true", help="build twice; fail if the bytes differ")
    parser.add_argument("--lock", action="store_true", help="rewrite requirements.lock from requirements.txt")
    args = parser.parse_args(argv)
    if args.lock:
        write_lock()
        print(f"{LOCK.relative_to(PROJECT_DIR)} rewritten")
        return 0
    failed = False
    for arch in args.arch or ARCHES:
        built = build(arch, args.out)
        print(f"{built.path.relative_to(PROJECT_DIR) if built.path.is_relative_to(PROJECT_DIR) else built.path}: "
              f"{built.zipped_bytes / 1e6:.1f} MB zipped, {built.unzipped_bytes / 1e6:.1f} MB unzipped, "
              f"sha256 {built.sha256[:16]}")
        if args.check_reproducible:
            with tempfile.TemporaryDirectory() as scratch:
                again = build(arch, Path(scratch))
            same = again.sha256 == built.sha256
            failed |= not same
            print(f"  second build: sha256 {again.sha256[:16]} ({'identical' if same else 'DIFFERENT'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
