"""The observability middleware: errors are counted and re-raised, and the init heap is frozen once."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import observability

# An invocation that records no metric makes Powertools warn when the middleware flushes; that is expected here.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")


@pytest.fixture
def fresh_instance() -> Iterator[None]:
    """As if this process had not served an invocation yet; the collector is left as it was found."""
    observability._freeze_init_heap.cache_clear()
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_first_invocation_freezes_the_heap_once_even_when_it_fails(fresh_instance: None) -> None:
    assert gc.get_freeze_count() == 0

    def fails(_event: Any) -> Any:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        observability.observability_middleware(object(), fails)
    frozen = gc.get_freeze_count()
    assert frozen > 1000  # modules, classes, the clients built so far
    assert observability.observability_middleware(object(), lambda _event: "ok") == "ok"
    assert gc.get_freeze_count() <= frozen  # later invocations freeze nothing more (frozen objects may die)


def test_cyclic_garbage_of_the_first_invocation_is_collected_not_frozen(fresh_instance: None) -> None:
    class Node:
        other: Any = None

    def leaves_a_cycle(_event: Any) -> Any:
        a, b = Node(), Node()
        a.other, b.other = b, a  # unreachable once the handler returns: only the cyclic collector frees it
        return None

    gc.disable()  # so nothing but the freeze step collects it
    try:
        observability.observability_middleware(object(), leaves_a_cycle)
        assert not [o for o in gc.get_objects() if isinstance(o, Node)]
    finally:
        gc.enable()
