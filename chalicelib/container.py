"""The composition root: builds each service once per process from settings and the shared clients.
Handlers ask the container for a service; tests build services directly with fakes instead.

Its parts live in chalicelib/composition, one module per kind of function (core: what all share; realtime:
the websocket functions; documents: uploads, ingest and tiling; rest: administration, recovery, health).
Everything is built on first use, so each function builds only what its invocations ask for."""

from __future__ import annotations

from functools import lru_cache

from chalicelib.composition.documents import DocumentParts
from chalicelib.composition.realtime import RealtimeParts
from chalicelib.composition.rest import RestParts
from chalicelib.settings import get_settings


class Container(RealtimeParts, DocumentParts, RestParts):
    pass


@lru_cache(maxsize=1)
def get_container() -> Container:
    return Container(get_settings())
