"""Documents, their processing jobs and page tasks.

A document is one logical file in a workspace; every upload is a new version of the same S3 key
(`workspaces/<workspace>/documents/<document>/source`), so the versioned bucket keeps earlier versions and the
key never contains anything a user typed. Each processing run of one version with one set of tile settings is
a job; its id is derived from the version, the settings and a run number, so a redelivered notification finds
the job it already started instead of starting another.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from chalicelib.domain.tile_plan import DEFAULT_MAX_PIXELS

SOURCE_KEY = re.compile(
    r"^workspaces/(?P<workspace>[A-Za-z0-9_-]{1,64})/documents/(?P<document>doc-[0-9a-f]{16})/source$")

# A document's page reports reach its members at most once a second, whichever function tiles which page: each
# is one message to every member online, who then reads the manifest again. Changes of status always go.
PROGRESS_EVERY_MS = 1000
LONGEST_UPLOAD_S = 7 * 24 * 3600 + 3600  # the bucket aborts a multipart upload seven days after it began


class DocumentStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"
    ANALYSING = "analysing"
    TILING = "tiling"
    READY = "ready"
    FAILED = "failed"


class JobState(StrEnum):
    TILING = "tiling"
    READY = "ready"
    FAILED = "failed"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class TileOptions:
    """What a member or an administrator may choose about the pyramid (bounded: no billion tiles)."""

    dpi: int = 300
    tile_size: int = 256
    format: str = "jpeg"
    quality: int = 85
    max_side: int = 16384
    max_pixels: int = DEFAULT_MAX_PIXELS  # of a page's full-size level: large sheets are rendered below `dpi`

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> TileOptions:
        if values is not None and not isinstance(values, dict):
            raise ValueError("tile settings must be an object")
        values = dict(values or {})
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown tile setting(s): {', '.join(sorted(unknown))}")
        options = cls(**values)
        for name in ("dpi", "tile_size", "quality", "max_side", "max_pixels"):  # workspace settings are free JSON
            if type(getattr(options, name)) is not int:
                raise ValueError(f"{name} must be a whole number, written as one")
        if not 36 <= options.dpi <= 600:
            raise ValueError("dpi must be between 36 and 600")
        if options.tile_size not in (128, 256, 512, 1024):
            raise ValueError("tile_size must be 128, 256, 512 or 1024")
        if options.format not in ("jpeg", "png", "webp"):
            raise ValueError("format must be jpeg, png or webp")
        if not 30 <= options.quality <= 100:
            raise ValueError("quality must be between 30 and 100")
        if not 1024 <= options.max_side <= 32768:
            raise ValueError("max_side must be between 1024 and 32768")
        if not 1_000_000 <= options.max_pixels <= 32768 * 32768:
            raise ValueError("max_pixels must be between 1000000 and 1073741824")
        return options

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> str:
        values = self.to_dict()
        # Job ids hash the fingerprint, and a redelivered notification finds its job by id: the default budget
        # leaves it as it was before `max_pixels` existed, so versions tiled before then keep their jobs.
        if values["max_pixels"] == DEFAULT_MAX_PIXELS:
            del values["max_pixels"]
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:8]


class PagesRefused(Exception):
    """The account's plan has no room this month for the pages of a job being admitted."""


def source_key(workspace_id: str, document_id: str) -> str:
    return f"workspaces/{workspace_id}/documents/{document_id}/source"


def sources_prefix(workspace_id: str) -> str:
    """What every source key of the workspace starts with (and no other workspace's)."""
    return f"workspaces/{workspace_id}/documents/"


def parse_source_key(key: str) -> tuple[str, str] | None:
    """(workspace, document) for a document source key; None for anything else in the bucket."""
    match = SOURCE_KEY.match(key)
    return (match["workspace"], match["document"]) if match else None


def job_id_for(version_id: str, options: TileOptions, run: int = 0) -> str:
    digest = hashlib.sha256(f"{version_id}|{options.fingerprint()}|{run}".encode()).hexdigest()[:16]
    return f"job-{digest}"


@dataclass(frozen=True)
class PageTask:
    """One page of one job: the message on the tiles queue. A `start` task (page -1) asks a worker to
    analyse the version and fan the pages out (used for reprocessing and retries)."""

    workspace_id: str
    document_id: str
    job_id: str
    page: int
    version_id: str
    kind: str
    options: TileOptions = field(default_factory=TileOptions)
    run: int = 0

    @property
    def is_start(self) -> bool:
        return self.page < 0

    def to_json(self) -> str:
        return json.dumps({"v": 1, "workspace_id": self.workspace_id, "document_id": self.document_id,
                           "job_id": self.job_id, "page": self.page, "version_id": self.version_id,
                           "kind": self.kind, "options": self.options.to_dict(), "run": self.run})

    @classmethod
    def from_json(cls, body: str) -> PageTask:
        """Raises ValueError for anything that is not a task this version wrote."""
        data = json.loads(body)
        if not isinstance(data, dict) or data.get("v") != 1:
            raise ValueError("not a page task")
        try:
            return cls(str(data["workspace_id"]), str(data["document_id"]), str(data["job_id"]), int(data["page"]),
                       str(data["version_id"]), str(data["kind"]), TileOptions.from_dict(data.get("options")),
                       int(data.get("run", 0)))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"incomplete page task: {exc}") from exc


@dataclass(frozen=True)
class ForgetTask:
    """A removed document's stored objects to let go of (the message on the tiles queue, for the worker that
    holds the write grants): its tiles at once, its source's current version into S3's noncurrent expiry."""

    workspace_id: str
    document_id: str

    def to_json(self) -> str:
        return json.dumps({"v": 1, "task": "forget", "workspace_id": self.workspace_id,
                           "document_id": self.document_id})

    @classmethod
    def from_json(cls, body: str) -> ForgetTask | None:
        """The task, or None when the body is not a forget task (a page task, say)."""
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("v") != 1 or data.get("task") != "forget":
            return None
        return cls(str(data["workspace_id"]), str(data["document_id"]))


@dataclass(frozen=True)
class PageRecord:
    """A finished page: enough to describe its pyramid without reading the tile store."""

    page: int
    width: int
    height: int
    max_level: int
    tile_size: int
    format: str
    tile_count: int
    uniform_count: int
    stored_bytes: int
    damage: str | None = None  # what of the page could not be read (the file is damaged there)

    def to_dict(self) -> dict[str, Any]:
        return _stored(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageRecord:
        return cls(**_known(cls, data))


@dataclass(frozen=True)
class Document:
    """One logical file of a workspace, as its record stores it: its latest version, status and processing job."""
    workspace_id: str
    document_id: str
    account_id: str
    name: str
    declared_type: str
    status: DocumentStatus
    created_at: int
    created_by: str
    size: int = 0
    version_id: str | None = None
    kind: str | None = None
    job_id: str | None = None
    page_count: int = 0
    pages_done: int = 0
    reason: str | None = None
    reason_code: str | None = None
    # While it shows an earlier job with `reason_code`: the newest version, which was refused (each refusal names
    # another, so a client tells a new refusal from the last one).
    refused_version_id: str | None = None
    # Versions uploaded but never to be shown: a newer one's job started first (two members uploading at once),
    # newest first, the last PASSED_OVER_KEPT. An uploader finds its own here (docs/protocol.md).
    passed_over: list[str] | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    updated_at: int = 0
    # The first page's size as analysis found it (points, or pixels for images), before any page is tiled: a
    # client draws placeholders of the right shape from it.
    page_width: int = 0
    page_height: int = 0
    # While `awaiting_upload`: the last moment its grant's upload is accepted (epoch seconds; the storage
    # reservation's expiry). Cleared when the upload arrives.
    upload_deadline: int | None = None
    # The last reprocessing asked for: its run, and its options until it starts (the next one builds on them).
    requested_options: dict[str, Any] | None = None
    requested_run: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return _stored(self)

    def abandoned(self, now: float) -> bool:
        """An upload granted and never received, past its grant's deadline (its storage reservation's expiry).
        Members no longer see it; the table's TTL deletes it later. An upload accepted late (a reservation is
        released lazily, at the account's next grant) brings it back. A document from before deadlines has
        none: it counts as abandoned once no upload of its could be completed."""
        if self.status is not DocumentStatus.AWAITING_UPLOAD:
            return False
        deadline = self.upload_deadline if self.upload_deadline is not None else self.created_at + LONGEST_UPLOAD_S
        return deadline < now

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(**{**_known(cls, data), "status": DocumentStatus(data["status"])})


@dataclass(frozen=True)
class Job:
    """One processing run of one document version with one set of tile settings."""
    workspace_id: str
    document_id: str
    job_id: str
    version_id: str
    kind: str
    state: JobState
    page_count: int
    pages_done: int
    options: dict[str, Any]
    created_at: int
    finished_at: int | None = None
    reason: str | None = None
    run: int = 0
    # What its document showed when it started, if a ready job (its id, version, kind, pages, size, options,
    # metadata, first page's size): a job that then fails gives the document back to it (`shown_fields`).
    previous: dict[str, Any] | None = None
    # The version of a job still tiling that this one superseded: if this one fails, that version (or one
    # uploaded between) is processed again rather than lost (JobStarter.fall_back).
    displaced_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _stored(self)

    def answer(self) -> dict[str, Any]:
        """As the REST API lists it: the job it replaced by id only."""
        stored = _stored(self)
        previous = stored.pop("previous", None)
        return {**stored, "replaces_job_id": previous["job_id"]} if previous else stored

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        return cls(**{**_known(cls, data), "state": JobState(data["state"])})


def _stored(record: Any) -> dict[str, Any]:
    """A record as stored and answered: enums as their values (StrEnum), unset fields left out."""
    return {k: str(v) if isinstance(v, StrEnum) else v for k, v in asdict(record).items() if v is not None}


def _known(cls: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The fields of `cls` that a stored item has (items also carry keys and index attributes)."""
    return {k: data[k] for k in cls.__dataclass_fields__ if k in data}
