"""The outside things the services depend on, as small Protocols (those of uploads and storage quotas are
in upload_ports.py).

Adapters in chalicelib/adapters implement them for AWS; tests hand the services in-memory twins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

# Re-exported (the `as` says so to the type checker): they live in port_types.py so that modules needing them at
# run time do not create this module's Protocol classes.
from chalicelib.port_types import ConnectionGone as ConnectionGone  # noqa: PLC0414
from chalicelib.port_types import PageRef as PageRef  # noqa: PLC0414
from chalicelib.port_types import StoredTile as StoredTile  # noqa: PLC0414
from chalicelib.port_types import WindowCount as WindowCount  # noqa: PLC0414

if TYPE_CHECKING:  # annotations only: a function loads the domain modules its services use, not all of them
    from chalicelib.domain.documents import Document, Job, JobState, PageRecord
    from chalicelib.domain.events import Event, EventQuery
    from chalicelib.domain.health import ComponentHealth
    from chalicelib.domain.paging import Page
    from chalicelib.domain.tenancy import Account, Membership, User, Workspace


class ConnectionNotifier(Protocol):
    """Pushes data to one open websocket connection."""

    def send(self, connection_id: str, data: bytes) -> None:
        """Deliver data; raise ConnectionGone when the connection no longer exists."""

    def close(self, connection_id: str) -> None:
        """Close the connection from the server side; a connection already gone is not an error."""


class ConnectionStore(Protocol):
    """Rows for open websocket connections. A row lives from $connect to $disconnect (or its TTL) and says who
    is on the connection; being in a workspace (bound) is a part of it that joins, leaves, sweeps and 410s
    change."""

    def put(self, connection_id: str, user_id: str, workspace_id: str | None,
            attributes: Mapping[str, str]) -> None: ...

    def delete(self, connection_id: str) -> dict[str, Any] | None:
        """The row and what hangs off it; the row as it was when deleted (None: gone already)."""

    def count_routed(self, connection_id: str) -> None: ...

    def get(self, connection_id: str) -> dict[str, Any] | None: ...

    def of_user(self, user_id: str, workspace_id: str | None = None) -> list[str]: ...

    def online_users(self, workspace_id: str) -> set[str]: ...

    def bind(self, connection_id: str, user_id: str, workspace_id: str | None) -> str | None:
        """Into `workspace_id` (None: out of any): the workspace it was in ("-": none); None if it is gone."""

    def unbind(self, connection_id: str, workspace_id: str, stale_before: int | None = None) -> dict[str, Any] | None:
        """Out of the workspace (if still in it, and not heard from since `stale_before`); the old row."""

    def gone(self, connection_id: str) -> dict[str, Any] | None:
        """A delivery answered 410: out of its workspace unless still connecting; the old row if it was in one."""

    def in_workspace(self, workspace_id: str) -> list[str]: ...

    def present(self, workspace_id: str) -> list[dict[str, Any]]: ...

    def stale(self, workspace_id: str) -> list[dict[str, Any]]: ...

    def touch(self, connection_id: str, workspace_id: str, presence: dict[str, Any] | None = None) -> bool: ...

    def subscribe_events(self, connection_id: str, scope: str) -> None: ...

    def unsubscribe_events(self, connection_id: str) -> None: ...

    def event_subscribers(self, scope: str) -> list[str]: ...


class TenancyReader(Protocol):
    """The lookups on every request's path (served through a cache in production)."""

    def user(self, user_id: str) -> User | None: ...

    def account(self, account_id: str) -> Account | None: ...

    def workspace(self, workspace_id: str) -> Workspace | None: ...

    def membership(self, workspace_id: str, user_id: str) -> Membership | None: ...


class EventStore(Protocol):
    """The event log itself: recorded events, read back by time range and filters."""

    def append(self, event: Event) -> None: ...

    def query(self, q: EventQuery, limit: int, start: dict[str, Any] | None) -> Page[Event]: ...


class EventSink(Protocol):
    """Where events are recorded; recording never fails the action it records."""

    def record(self, event: Event) -> None: ...


class UsageMeter(Protocol):
    """Per-account usage counters (atomic increments)."""

    def add(self, account_id: str, counters: dict[str, int], at: float | None = None) -> None: ...


class WindowCounter(Protocol):
    """A budget of requests per caller and minute, refused past `limit` (adapters/dynamo_rate_limit.py)."""

    limit: int

    def hit(self, caller: str, now: float | None = None, kind: str | None = None) -> WindowCount:
        """Count one request of `caller` (and of its `kind`, in the same write, so the two counts agree)."""


class Turns(Protocol):
    """One holder at a time per subject, for a bounded time: deliveries from several functions go out one
    after another (adapters/dynamo_turns.py)."""

    def take(self, subject: str, holder: str, hold_s: float) -> float | None:
        """The turn, until the epoch time returned; None while another holder has it."""

    def give_back(self, subject: str, holder: str) -> None: ...


class Cache(Protocol):
    """Short-lived values for hot lookups; misses and outages fall back to the source of truth."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...

    def delete(self, key: str) -> None: ...


class HealthProbe(Protocol):
    """Checks one component and reports its state; never raises."""

    name: str

    def check(self) -> ComponentHealth: ...


# Documents and tiles ---------------------------------------------------------------------------------------
class TileLike(Protocol):
    """What the tiler hands over per tile (chalicelib.imaging.tiler.Tile)."""

    @property
    def level(self) -> int: ...
    @property
    def col(self) -> int: ...
    @property
    def row(self) -> int: ...
    @property
    def data(self) -> bytes: ...
    @property
    def uniform(self) -> str | None: ...


class RenditionLike(Protocol):
    """A whole-page image the tiler hands over beside the tiles (chalicelib.imaging.tiler.Rendition)."""

    @property
    def name(self) -> str: ...
    @property
    def data(self) -> bytes: ...


class TileWriter(Protocol):
    def add(self, piece: TileLike | RenditionLike) -> None: ...

    def attach(self, name: str, data: bytes) -> None: ...

    def close(self, width: int, height: int, tile_size: int, max_level: int) -> tuple[int, int]:
        """Write the page; (bytes stored, PUT requests)."""


class TileReader(Protocol):
    """Reading tiles as they are laid out in storage (packed per page today): all that serving them needs."""

    def etag(self, ref: PageRef, name: str) -> str | None: ...

    def head(self, ref: PageRef, name: str) -> StoredTile | None:
        """The entry's ETag and content type without reading it (`data` is empty); None as for `read`."""

    def read(self, ref: PageRef, name: str) -> StoredTile | None:
        """`name` is `level/col_row`, `@thumbnail`, `@max` or `@text`; None when the page or entry does not
        exist."""


class TileStore(TileReader, Protocol):
    """The one place that knows how tiles are laid out in storage, writing them too (the tiling function)."""

    def writer(self, ref: PageRef, fmt: str) -> TileWriter: ...

    def jobs(self, workspace_id: str, document_id: str) -> list[str]:
        """The jobs that have tiles stored for the document."""

    def forget(self, workspace_id: str, document_id: str, job_id: str | None = None, page: int | None = None) -> int:
        """Delete one job's tiles (every job's with None; one page's with `page`); how many objects went. Shared
        uniform tiles stay."""


class SourceStore(Protocol):
    """Uploaded document versions."""

    def download(self, key: str, version_id: str) -> str:
        """A local path holding that version's bytes (cached per function instance)."""

    def download_latest(self, key: str, version_id: str) -> str | None:
        """As `download`, when that version is the key's latest now; None when another version is."""

    def latest_version(self, key: str) -> str:
        """The version a plain GET of the key returns now."""

    def versions(self, key: str) -> list[str]:
        """Every version of the key still kept, newest first."""


class SourceRemover(Protocol):
    def forget(self, key: str) -> None:
        """Make the current version noncurrent (a delete marker): S3's lifecycle expires it after the backup
        window (the template's NoncurrentSourceDays), like every replaced version."""


class TaskQueue(Protocol):
    def send(self, bodies: list[str]) -> None: ...


class DocumentRecords(Protocol):
    """Documents, their jobs and finished pages (chalicelib/adapters/dynamo_documents.py)."""

    def create(self, document: Document) -> None: ...

    def get(self, workspace_id: str, document_id: str) -> Document | None: ...

    def in_workspace(self, workspace_id: str, limit: int, start_key: dict[str, Any] | None) -> Page[Document]: ...

    def update(self, workspace_id: str, document_id: str, changes: dict[str, Any]) -> None:
        """Sets `changes` (a field given as None is removed); a `status` other than awaiting_upload also clears
        the upload deadline."""

    def extend_upload(self, workspace_id: str, document_id: str, deadline: int) -> bool:
        """A later upload deadline, only while the document awaits its first upload; False otherwise."""

    def abandon_upload(self, workspace_id: str, document_id: str) -> bool:
        """A document awaiting its first upload whose uploads were all given up: abandoned now (False: not
        awaiting one)."""

    def upload_arrived(self, workspace_id: str, document_id: str) -> None:
        """An upload was accepted for it: no deadline any more (a late one brings an abandoned document back)."""

    def delete(self, workspace_id: str, document_id: str) -> bool: ...

    def job(self, document_id: str, job_id: str) -> Job | None: ...

    def tiling_job(self, document_id: str, job_id: str) -> tuple[Job, bool] | None:
        """The job (one read, as `job`), and whether it is its document's first: recorded while the document
        named no job, so no other job of the document has tiles to supersede."""

    def start_job(self, job: Job, document_changes: dict[str, Any], account_id: str = "",
                  page_limit: int | None = None, first: bool = False) -> bool:
        """False when the job exists; PagesRefused when the month's plan has no room for its pages. `first`:
        the document named no job when read; the job is its first only if that still holds as it is written."""

    def set_job_state(self, job: Job, state: JobState, reason: str | None = None, account_id: str = "") -> bool:
        """Out of `tiling`, its pages back to the plan (`account_id`: its document's, when that is gone)."""

    def jobs(self, workspace_id: str, limit: int, start_key: dict[str, Any] | None) -> Page[Job]: ...

    def jobs_in_state(self, state: JobState, limit: int, start_key: dict[str, Any] | None) -> Page[Job]: ...

    def page_done(self, account_id: str, job: Job, record: PageRecord) -> bool: ...

    def pages(self, document_id: str, job_id: str) -> list[PageRecord]: ...

    def page(self, document_id: str, job_id: str, page: int) -> PageRecord | None: ...

    def note_progress(self, job: Job, pages_done: int, every_ms: int = ...) -> bool: ...  # PROGRESS_EVERY_MS

    def note_error(self, job: Job, page: int, error: str) -> None: ...

    def last_error(self, document_id: str, job_id: str) -> str | None: ...

    def finish(self, job: Job, account_id: str) -> bool: ...

    def fail(self, job: Job, code: str, reason: str, account_id: str = "", pages_done: int | None = None) -> bool: ...

    def fail_back(self, job: Job, code: str, reason: str) -> bool | None: ...

    def record_refused(self, job: Job) -> None: ...

    def fail_document(self, workspace_id: str, document_id: str, code: str, reason: str,
                      version_id: str | None = None) -> None: ...
