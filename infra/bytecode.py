"""Precompiled bytecode in the deployment package, so a cold start does not compile the app and its libraries.

`chalice package` ships sources only. Lambda's /var/task is read-only, so every new execution environment
compiles every module it imports, and caches nothing: for this app that is the bundled botocore (aws-xray-sdk
depends on it, and the bundled copy shadows the runtime's precompiled one), Powertools, PyJWT and chalicelib,
a few hundred milliseconds before the first request. This adds `__pycache__/<module>.cpython-3XX.pyc` beside
every source, compiled by the interpreter `chalice package` ran with (Chalice takes the Lambda runtime from
it, so the tag matches), as *unchecked-hash* pycs (PEP 552): the loader uses them without comparing file
times, which a zip's extraction would not preserve. Sources stay in the package for tracebacks.

The same interpreter also compiles the methods `@dataclass` would compile for the app's records at each cold
start, into `chalicelib/_records.<cache tag>.marshal` (chalicelib/compiled_records.py says how they are used).
"""

from __future__ import annotations

import json
import os
import py_compile
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

_FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def check_runtime(runtime: str) -> None:
    """A pyc is only used by the Python version that wrote it: refuse to compile for another runtime."""
    match = re.fullmatch(r"python3\.(\d+)", runtime)
    if match is None or int(match.group(1)) != sys.version_info.minor or sys.version_info.major != 3:
        raise SystemExit(f"bytecode for {runtime} needs that interpreter; this is Python "
                         f"{sys.version_info.major}.{sys.version_info.minor}")


def add_bytecode(package: Path) -> tuple[int, int]:
    """Rewrite `package` with an unchecked-hash pyc for every .py that compiles. Returns (pycs, failures)."""
    with tempfile.TemporaryDirectory() as scratch, zipfile.ZipFile(package) as source:
        root = Path(scratch)
        infos = [i for i in source.infolist() if "__pycache__/" not in i.filename and not i.filename.endswith(".pyc")]
        for info in infos:
            source.extract(info, root)
        pycs = failures = 0
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            try:  # dfile: the path tracebacks show on Lambda
                py_compile.compile(str(path), dfile=f"/var/task/{relative}", doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
                pycs += 1
            except py_compile.PyCompileError:
                failures += 1  # e.g. a Python 2 example shipped inside a wheel: never imported
        records = _compile_records(root)
        written = package.with_suffix(".tmp")
        with zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED) as out:
            for info in infos:
                out.writestr(info, (root / info.filename).read_bytes() if not info.is_dir() else b"")
            for pyc in sorted(root.rglob("__pycache__/*.pyc")) + ([records] if records else []):
                entry = zipfile.ZipInfo(pyc.relative_to(root).as_posix(), _FIXED_TIME)
                entry.external_attr = 0o644 << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(entry, pyc.read_bytes())
        written.replace(package)
    return pycs, failures


def _compile_records(root: Path) -> Path | None:
    """chalicelib's records' dataclass methods, compiled by importing every chalicelib module of the extracted
    package in a fresh interpreter (this one's version); None for a package without chalicelib."""
    if not (root / "chalicelib" / "compiled_records.py").exists():
        return None
    modules = sorted(".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
                     for path in (root / "chalicelib").rglob("*.py"))
    target = root / "chalicelib" / f"_records.{sys.implementation.cache_tag}.marshal"
    code = ("import json, sys; from chalicelib.compiled_records import build; "
            "build(sys.argv[1], json.loads(sys.argv[2]))")
    subprocess.run([sys.executable, "-c", code, str(target), json.dumps(modules)], cwd=root, check=True,
                   env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}, timeout=300)
    return target
