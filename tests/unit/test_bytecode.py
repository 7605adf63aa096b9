"""infra/bytecode.py: the deployment zip gains pycs that Python uses without checking the sources' times."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.bytecode import add_bytecode, check_runtime


def test_pycs_are_added_and_used_even_when_the_source_no_longer_matches(tmp_path: Path) -> None:
    package = tmp_path / "deployment.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("app.py", "VALUE = 'compiled'\n")
        archive.writestr("pkg/__init__.py", "")
        archive.writestr("pkg/old.py", "print 'python 2'\n")  # does not compile: left as source
        archive.writestr("pkg/__pycache__/stale.cpython-312.pyc", b"stale")  # a build machine's: dropped
    assert add_bytecode(package) == (2, 1)
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(package) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "task")
    assert {f"__pycache__/app.{tag}.pyc", f"pkg/__pycache__/__init__.{tag}.pyc"} <= names
    assert "pkg/__pycache__/stale.cpython-312.pyc" not in names and "pkg/old.py" in names
    # An unchecked-hash pyc is used without comparing it with the source: proven by editing the source.
    (tmp_path / "task" / "app.py").write_text("VALUE = 'source'\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tmp_path / "task")}
    out = subprocess.run([sys.executable, "-c", "import app; print(app.VALUE)"], env=env, capture_output=True,
                         text=True, check=True, cwd=tmp_path)
    assert out.stdout.strip() == "compiled"


def test_bytecode_for_another_runtime_is_refused() -> None:
    check_runtime(f"python3.{sys.version_info.minor}")
    with pytest.raises(SystemExit, match="needs that interpreter"):
        check_runtime(f"python3.{sys.version_info.minor + 1}")
    with pytest.raises(SystemExit):
        check_runtime("nodejs20.x")
