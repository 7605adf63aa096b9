"""The package's precompiled dataclass methods (chalicelib/compiled_records.py): built from the app's records only,
used for every record the package creates, and records that use them behave exactly as compiled ones.

Each side runs in a fresh interpreter: records are created once per process, at import.
"""

from __future__ import annotations

import json
import marshal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["chalicelib.domain.tenancy", "chalicelib.domain.documents", "chalicelib.domain.events",
           "chalicelib.port_types"]

# Exercises every generated method of a few records; prints what it saw (and how many methods the cache gave).
_USE = """
import dataclasses, json, sys
from chalicelib import compiled_records
compiled = compiled_records.install(sys.argv[1]) if sys.argv[1] else None
from chalicelib.domain.tenancy import PLANS, Membership, WorkspaceRole
from chalicelib.domain.documents import TileOptions
from chalicelib.port_types import PageRef
member = Membership("ws-1", "u-1", "acc-1", WorkspaceRole.EDITOR, 5)
same = Membership("ws-1", "u-1", "acc-1", WorkspaceRole.EDITOR, 5)
try:
    member.user_id = "u-2"
    frozen = False
except dataclasses.FrozenInstanceError:
    frozen = True
seen = {
    "repr": [repr(member), repr(PageRef("w", "d", "j", 3)), repr(TileOptions())],
    "eq": member == same and member != dataclasses.replace(member, role=WorkspaceRole.VIEWER),
    "hash": hash(member) == hash(same), "frozen": frozen,
    "quotas": repr(dataclasses.replace(PLANS["free"], max_users=9)),
    "hits": compiled.hits if compiled else 0,
}
print(json.dumps(seen))
"""


def _run(code: str, *args: str) -> str:
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True)
    return out.stdout.strip().splitlines()[-1]


def _build(path: Path, modules: list[str]) -> dict[str, bytes]:
    code = ("import json, sys; from chalicelib.compiled_records import build; "
            "print(build(sys.argv[1], json.loads(sys.argv[2])))")
    _run(code, str(path), json.dumps(modules))
    cache: dict[str, bytes] = marshal.loads(path.read_bytes())
    return cache


def test_the_cache_holds_our_records_methods_only(tmp_path: Path) -> None:
    cache = _build(tmp_path / "records.marshal", [*MODULES, "chalice.logs", "json"])
    assert len(cache) >= 4 * 10  # init, repr, eq, setattr, delattr (and hash) of each record
    assert any("def __init__(self,workspace_id:" in source for source in cache)
    assert all(isinstance(marshal.loads(code), type(_build.__code__)) for code in cache.values())
    # nothing of another package's dataclasses (chalice.logs has one) is kept
    assert not any("log_group_name" in source for source in cache)


def test_records_made_from_the_cache_behave_as_compiled_ones(tmp_path: Path) -> None:
    path = tmp_path / "records.marshal"
    _build(path, MODULES)
    compiled, cached = json.loads(_run(_USE, "")), json.loads(_run(_USE, str(path)))
    assert cached["hits"] >= 4 * 10  # the records of those modules took their methods from the cache
    assert {**cached, "hits": 0} == {**compiled, "hits": 0}
    assert compiled["eq"] and compiled["hash"] and compiled["frozen"]
    assert compiled["repr"][1] == "PageRef(workspace_id='w', document_id='d', job_id='j', page=3)"


def test_a_changed_record_or_an_unreadable_cache_compiles_as_before(tmp_path: Path) -> None:
    stale = tmp_path / "stale.marshal"  # methods of records that no longer exist: never matched
    stale.write_bytes(marshal.dumps({"def __create_fn__():\n def gone(self): pass\n return gone": b""}))
    assert json.loads(_run(_USE, str(stale)))["hits"] == 0
    broken = tmp_path / "broken.marshal"
    broken.write_bytes(b"not marshal")
    code = "import sys; from chalicelib import compiled_records; print(compiled_records.install(sys.argv[1]))"
    assert _run(code, str(broken)) == "None"
