"""The domain records' generated methods, compiled when the package is built instead of at every cold start.

`@dataclass` writes each class's `__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__` and `__delattr__`
as source text and compiles it when the class is created. For the 20-30 records a REST or websocket function
creates, that is 20-60 ms of every cold start, most of it in the compiler (docs/benchmarks.md, "Cold start").
The deployment package carries those code objects instead: `infra/bytecode.py` writes
`chalicelib/_records.<cache tag>.marshal` with the interpreter that wrote the package's bytecode, and
`chalicelib/__init__.py` installs them before any record is created. They are keyed by the exact source text
the dataclasses module generates, so a method is byte for byte what the compiler would make, and a record whose
fields changed since, or a class that is not ours, is compiled as before. Without the file (the source tree,
the local stack, the tests) nothing changes.
"""

from __future__ import annotations

import builtins
import dataclasses
import marshal
import os
import sys
from types import CodeType, FrameType
from typing import Any

CACHE = os.path.join(os.path.dirname(__file__), f"_records.{sys.implementation.cache_tag}.marshal")
OURS = "chalicelib"


class _Compiled:
    """The `exec` the dataclasses module sees: a precompiled code object for source text it has one for."""

    def __init__(self, code: dict[str, bytes], record: dict[str, CodeType] | None = None) -> None:
        self.code = code  # source text -> its marshalled code object, read when used (all at once: 2 ms)
        self.record = record  # when building the cache: what our records compiled
        self.hits = 0

    def __call__(self, source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            marshalled = self.code.get(source)
            if marshalled is not None:
                code = marshal.loads(marshalled)  # noqa: S302 (our package's own file, as trusted as its .pyc)
                self.hits += 1
            else:
                code = compile(source, "<string>", "exec")  # what exec(source) does
                if self.record is not None and _creating_ours(sys._getframe(1)):
                    self.record[source] = code
            source = code
        builtins.exec(source, globals, locals)  # noqa: S102 (dataclasses' own exec, as it would have run it)


def _creating_ours(frame: FrameType | None) -> bool:
    """Whether the dataclass being made (the `cls` of dataclasses' own frames) is one of this package's."""
    while frame is not None and frame.f_globals.get("__name__") == "dataclasses":
        cls = frame.f_locals.get("cls")
        if isinstance(cls, type):
            return cls.__module__.split(".")[0] == OURS
        frame = frame.f_back
    return False


def install(path: str = CACHE) -> _Compiled | None:
    """Use the code objects at `path`, if the package has them (and they load)."""
    try:
        with open(path, "rb") as cache:
            code = marshal.loads(cache.read())  # noqa: S302 (our package's own file, as trusted as its .pyc)
    except (OSError, ValueError, EOFError, TypeError):
        return None  # no cache (the source tree) or one this interpreter cannot read: compile as usual
    compiled = _Compiled(code)
    dataclasses.exec = compiled  # type: ignore[attr-defined]  # a module global shadows the builtin
    return compiled


def build(path: str, modules: list[str]) -> int:
    """Import `modules` (skipping any whose libraries are missing here) and write what their records compiled
    to `path`. Returns how many methods it holds."""
    import importlib

    recording = _Compiled({}, record={})
    dataclasses.exec = recording  # type: ignore[attr-defined]
    try:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: S112 (a module that needs what the build lacks compiles at cold start)
                continue  # e.g. the imaging modules without PyMuPDF, or a route that reads settings at import
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
    assert recording.record is not None
    with open(path, "wb") as cache:
        cache.write(marshal.dumps({source: marshal.dumps(code) for source, code in recording.record.items()}))
    return len(recording.record)
