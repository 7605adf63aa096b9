"""Build Kalexo's pixel kernels (imaging/kalexo_pixels) for a machine: the package's Python and its shared
library, compiled with gcc.

    python layers/native.py --install          # into this interpreter's site-packages (make does this)
    python layers/native.py --arch aarch64 --out DIR

The library calls nothing outside itself, so it loads on any glibc; its build is reproducible (no paths or
times in it, a build id from its contents). For another architecture than this machine's, gcc's cross compiler
for it is used (Debian's gcc-aarch64-linux-gnu, which scripts/system-packages.sh installs).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent / "imaging" / "kalexo_pixels"
PACKAGE = SOURCE_DIR.name
LIBRARY = "libkalexo_pixels.so"
PYTHON_FILES = ("__init__.py", "py.typed")
# -O3 lets gcc vectorise the halving (SSE2 on x86_64, NEON on arm64: both baselines, so no -march).
# -ffreestanding -nostdlib: the kernels use no libc, so neither libc's headers nor its start files are needed
# (a bare gcc builds them) and the library depends on nothing.
CFLAGS = ("-O3", "-std=c11", "-Wall", "-Wextra", "-Werror", "-ffreestanding", "-nostdlib", "-shared", "-fPIC",
          "-fno-ident", "-s", "-Wl,--build-id=sha1")
MACHINE_ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
ELF_MACHINES = {"x86_64": 62, "aarch64": 183}  # e_machine: EM_X86_64, EM_AARCH64


class NoCompiler(RuntimeError):
    pass


def host_arch() -> str:
    return MACHINE_ARCHES.get(platform.machine().lower(), platform.machine().lower())


def compiler(arch: str) -> str:
    """This machine's cc for its own architecture, else the cross gcc for `arch`; NoCompiler when missing."""
    names = ["cc", "gcc"] if arch == host_arch() else [f"{arch}-linux-gnu-gcc"]
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    package = "gcc" if arch == host_arch() else f"gcc-{arch}-linux-gnu"
    raise NoCompiler(f"no C compiler for {arch} ({' or '.join(names)}): install {package} "
                     f"(bash scripts/system-packages.sh does)")


def build(arch: str, out: Path) -> Path:
    """The package (Python and library) in `out`/kalexo_pixels; returns that directory."""
    target = out / PACKAGE
    target.mkdir(parents=True, exist_ok=True)
    library = target / LIBRARY
    # Compiled first, beside the target, and only then put in place with the Python that calls it: a failed
    # build never leaves new Python over an old library (which would fail on its missing symbols).
    built = target / f".{LIBRARY}.new"
    # From the source's directory with a relative path, so no absolute path can reach the binary.
    subprocess.run([compiler(arch), *CFLAGS, "-o", str(built.resolve()), "pixels.c"], cwd=SOURCE_DIR, check=True)
    if elf_arch(built) != arch:  # a compiler named for one machine that builds for another
        built.unlink()
        raise SystemExit(f"{library} was built for {elf_arch(built)}, not {arch}")
    built.replace(library)
    for name in PYTHON_FILES:
        shutil.copyfile(SOURCE_DIR / name, target / name)
    return target


def elf_arch(library: Path) -> str | None:
    """The architecture a 64-bit little-endian ELF file is for (its e_machine), or None."""
    header = library.read_bytes()[:20]
    if header[:6] != b"\x7fELF\x02\x01":
        return None
    machine = int.from_bytes(header[18:20], "little")
    return next((arch for arch, number in ELF_MACHINES.items() if number == machine), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default=host_arch(), choices=sorted(set(MACHINE_ARCHES.values())))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--install", action="store_true", help="into this interpreter's site-packages")
    args = parser.parse_args(argv)
    out = Path(sysconfig.get_paths()["purelib"]) if args.install else args.out
    if out is None:
        parser.error("give --out DIR or --install")
    try:
        built = build(args.arch, out)
    except (NoCompiler, subprocess.CalledProcessError) as error:
        if not args.install:
            raise SystemExit(str(error)) from None
        # The venv still works without it: the tiler halves with Pillow, the same pixels, slower.
        print(f"{error}; the tiler will halve with Pillow (slower)", file=sys.stderr)
        return 0
    print(f"{built / LIBRARY} ({args.arch})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
