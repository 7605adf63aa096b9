"""What crosses the ports at run time, apart from the Protocols themselves (chalicelib/ports.py, which re-exports
these): the connection-gone and requested-since errors, a rate window's count, a page's tiles' address and a
stored tile.

A module that raises, catches or builds one of these imports it from here, and the Protocols it is typed with
only for the type checker, so a function does not create every Protocol class of ports.py at its cold start.
"""

from __future__ import annotations

from dataclasses import dataclass


class RequestedSince(Exception):
    """A reprocessing's job not started: a newer one was asked for since (DocumentRecords.start_job)."""


class ConnectionGone(Exception):
    """The websocket connection no longer exists (API Gateway answered 410 GoneException)."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(connection_id)
        self.connection_id = connection_id


@dataclass(frozen=True)
class WindowCount:
    """One caller's requests in the current window (a minute)."""

    count: int  # this one included; the limit when refused
    window_start: int  # epoch seconds
    retry_after: int | None = None  # refused (and not counted): seconds until the next window
    of_kind: int = 0  # with a `kind`: the caller's requests of that kind, counted in the same atomic write


@dataclass(frozen=True)
class PageRef:
    """One page of one processing job: where its tiles live, whatever the layout."""

    workspace_id: str
    document_id: str
    job_id: str
    page: int


@dataclass(frozen=True)
class StoredTile:
    """A stored tile's bytes, ETag and content type."""
    data: bytes
    etag: str
    content_type: str
