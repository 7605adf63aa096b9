"""The house rule that keeps services testable with in-memory fakes: domain and service code see ports and domain
types, never adapters (or boto3). Checked on the source, TYPE_CHECKING imports included: an annotation naming an
adapter couples a service to it as surely as a call does."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "chalicelib"
FORBIDDEN = ("chalicelib.adapters", "boto3", "botocore", "mypy_boto3")


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", ["services", "domain"])
def test_services_and_domain_import_no_adapter(layer: str) -> None:
    files = sorted((ROOT / layer).glob("*.py"))
    assert len(files) > 5, files
    found = {f"{path.name}: {name}" for path in files for name in _imports(path)
             if name.startswith(FORBIDDEN)}
    assert not found, sorted(found)


def test_the_check_sees_an_adapter_import(tmp_path: Path) -> None:
    sample = tmp_path / "leaky.py"
    sample.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from chalicelib.adapters.cached_tenancy import CachedTenancy\n")
    assert [n for n in _imports(sample) if n.startswith(FORBIDDEN)] == ["chalicelib.adapters.cached_tenancy"]
