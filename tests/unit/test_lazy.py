"""Stand-ins created on first use (chalicelib/lazy.py): once each, and one creation at a time in the process,
since creating one mostly imports a library and two threads importing one package's modules at once can get a
partially initialised module."""

from __future__ import annotations

import threading
from collections.abc import Callable

from chalicelib.lazy import Deferred

CEILING_S = 30  # generous: the waits below end as soon as their event comes


def test_two_stand_ins_are_never_created_at_once_and_each_only_once() -> None:
    first_started, second_may_finish = threading.Event(), threading.Event()
    overlaps: list[str] = []
    creating: list[str] = []
    calls = {"first": 0, "second": 0}

    def make(name: str) -> Callable[[], object]:
        def create() -> object:
            calls[name] += 1
            if creating:
                overlaps.append(f"{name} while {creating[0]}")
            creating.append(name)
            if name == "first":
                first_started.set()
                second_may_finish.wait(CEILING_S)  # the other thread tries its creation meanwhile
            creating.remove(name)
            return {"made": name}
        return create

    first, second = Deferred(make("first")), Deferred(make("second"))
    one = threading.Thread(target=first.real)
    one.start()
    assert first_started.wait(CEILING_S)
    other = threading.Thread(target=lambda: (second.real(), first.real()))
    other.start()
    other.join(0.5)  # it must still be waiting for the first creation to end (if it is not, overlaps says so)
    second_may_finish.set()
    one.join(CEILING_S)
    other.join(CEILING_S)
    assert not one.is_alive() and not other.is_alive()
    assert overlaps == []
    assert calls == {"first": 1, "second": 1}
    assert first.get("made") == "first" and second.get("made") == "second"


def test_creating_one_may_use_another() -> None:
    inner = Deferred(lambda: {"x": 1})
    outer = Deferred(lambda: {"y": inner.get("x") + 1})
    assert outer.get("y") == 2
