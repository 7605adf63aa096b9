"""Documents as members and administrators see them over REST: the list, one document's manifest (DZI and
IIIF URLs for every finished page), a page's text, and the administrative actions (reprocess a document or a
whole workspace with new settings, retry a failed one, see jobs).

Reprocessing never runs in the request: it queues a `start` task, and a tiling worker analyses and fans out,
as for a new upload.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from chalicelib.domain.documents import (
    Document,
    DocumentStatus,
    ForgetTask,
    Job,
    JobState,
    PageRecord,
    PageTask,
    TileOptions,
    job_id_for,
    source_key,
)
from chalicelib.domain.errors import BadRequest, Conflict, Forbidden, NotFound
from chalicelib.domain.events import Event
from chalicelib.domain.paging import Page
from chalicelib.domain.tenancy import WorkspaceRole
from chalicelib.imaging.errors import CODES, PAGES_QUOTA_EXCEEDED
from chalicelib.services.access import AccessService, Actor
from chalicelib.upload_ports import StorageLedger

if TYPE_CHECKING:
    from chalicelib.ports import DocumentRecords, EventSink, TaskQueue
    from chalicelib.services.document_news import DocumentNews
    from chalicelib.services.tile_access import TileAccess

MAX_TEXT_BYTES = 256 * 1024
# Failures that are the file's own (damaged, empty, of a type not processed, over a limit of its own): the same
# version fails the same way again, so they are not retried; a corrected upload (a new version) replaces it.
# Others (`processing_failed`: a crash or timeout; `pages_quota_exceeded`: the plan's month) may pass later.
FILE_FAULTS = CODES - {PAGES_QUOTA_EXCEEDED}
# Of those, the ones no tiling setting changes: reprocessing with other options is refused too. All of them: an
# image over the pixel limit is judged by its own pixels before anything is rendered (a page too large to render
# is scaled to `max_side` and `max_pixels`, never refused), so no setting brings it under.
SETTINGS_CANNOT_FIX = FILE_FAULTS


def _settings_cannot_fix(document: Document) -> bool:
    return document.status is DocumentStatus.FAILED and document.reason_code in SETTINGS_CANNOT_FIX


def _page_number(record: PageRecord) -> int:
    return record.page


class DocumentService:
    def __init__(self, access: AccessService, documents: DocumentRecords, tasks: TaskQueue, tiles: TileAccess,
                 events: EventSink, storage: StorageLedger, news: DocumentNews | None = None) -> None:
        self._access = access
        self._storage = storage
        self._documents = documents
        self._tasks = tasks
        self._tiles = tiles
        self._events = events
        self._news = news

    def list(self, actor: Actor, workspace_id: str, limit: int, start: dict[str, Any] | None) -> Page[Document]:
        self._access.workspace(actor, workspace_id)
        page = self._documents.in_workspace(workspace_id, limit, start)
        now = time.time()  # abandoned uploads are not shown (a page may then hold fewer than `limit`)
        return Page([d for d in page.items if not d.abandoned(now)], page.next_key)

    def _document(self, actor: Actor, workspace_id: str, document_id: str,
                  need: WorkspaceRole = WorkspaceRole.VIEWER) -> Document:
        return self._in_workspace(actor, workspace_id, document_id, need)[1]

    def _in_workspace(self, actor: Actor, workspace_id: str, document_id: str,
                      need: WorkspaceRole) -> tuple[dict[str, Any], Document]:
        """The workspace's settings and the document, once the actor may act on it."""
        access = self._access.workspace(actor, workspace_id, need=need)
        document = self._documents.get(workspace_id, document_id)
        if document is None or document.abandoned(time.time()):
            raise NotFound("no such document")
        return access.workspace.settings, document

    def manifest(self, actor: Actor, workspace_id: str, document_id: str, base_url: str,
                 tiles_url: str | None = None) -> dict[str, Any]:
        """`tiles_url`: where tiles are served from when not this API (a caching distribution in front of it)."""
        document = self._document(actor, workspace_id, document_id)
        tiles_base = tiles_url or base_url
        pages: list[dict[str, Any]] = []
        if document.job_id:
            grant = self._tiles.grant(workspace_id, document_id, document.job_id)
            for record in sorted(self._documents.pages(document_id, document.job_id), key=_page_number):
                root = f"{tiles_base}/tiles/{grant}/{record.page}"
                pages.append({"page": record.page, "width": record.width, "height": record.height,
                              "tile_size": record.tile_size, "format": record.format, "levels": record.max_level + 1,
                              "dzi": f"{root}/page.dzi", "thumbnail": f"{root}/thumbnail.jpg",
                              "iiif": f"{tiles_base}/iiif/{grant}/{record.page}/info.json",
                              "text": f"{base_url}/workspaces/{workspace_id}/documents/{document_id}/pages/"
                                      f"{record.page}/text", "damage": record.damage})
        return {**document.to_dict(), "pages": pages}

    def text(self, actor: Actor, workspace_id: str, document_id: str, page: int) -> str:
        document = self._document(actor, workspace_id, document_id)
        if document.page_count and not 0 <= page < document.page_count:
            raise NotFound(f"the document has pages 0 to {document.page_count - 1} (numbered from 0)",
                           code="no_such_page")
        if not document.job_id:
            raise NotFound("that page is not ready", code="page_not_ready")
        scope, _ = self._tiles.page(self._tiles.grant(workspace_id, document_id, document.job_id), page)
        return self._tiles.read(scope, page, "@text").data[:MAX_TEXT_BYTES].decode("utf-8", "replace")

    def remove(self, actor: Actor, workspace_id: str, document_id: str) -> None:
        """Owners, and the member who uploaded it. The document leaves the workspace (members see it go, in the
        op log); a task asks the tiling worker to delete its tiles and to make its source noncurrent, so the
        uploaded versions stay restorable for the backup window (NoncurrentSourceDays) and then expire.
        Processing still under way concludes as superseded."""
        access = self._access.workspace(actor, workspace_id)
        document = self._document(actor, workspace_id, document_id)
        if access.role is not WorkspaceRole.OWNER and (access.role is WorkspaceRole.VIEWER
                                                        or document.created_by != actor.user_id):
            # The whole rule, whoever is refused: "editors only" told a viewer that any editor could.
            who = "you are a viewer" if access.role is WorkspaceRole.VIEWER else "another member uploaded this one"
            raise Forbidden(f"owners remove any document, and editors those they uploaded; {who}",
                            code="role_too_low")
        # Its storage goes back to the plan first (each version once, so a retried removal is harmless); an
        # upload still to come for it is refused.
        self._storage.give_back(document.account_id, source_key(workspace_id, document_id))
        if not self._documents.delete(workspace_id, document_id):
            raise NotFound("no such document")
        self._stop_processing(document)
        self._tasks.send([ForgetTask(workspace_id, document_id).to_json()])
        if self._news is not None:
            self._news.removed(workspace_id, document_id)
        self._events.record(Event("document.removed", document.account_id, workspace_id, actor.user_id,
                                  actor.user_id, {"document_id": document_id, "name": document.name}))

    def _stop_processing(self, document: Document) -> None:
        """A job still tiling the removed document ends now, not when its last page is done: its queued pages are
        then skipped, so the forget task behind them runs at once, and a page in flight removes what it wrote
        (PageTiler). Best effort: the job would conclude as superseded at its end anyway."""
        if not document.job_id:
            return
        job = self._documents.job(document.document_id, document.job_id)
        if job is not None and job.state is JobState.TILING:
            self._documents.set_job_state(job, JobState.SUPERSEDED, "the document was removed", document.account_id)

    def reprocess(self, actor: Actor, workspace_id: str, document_id: str,
                  options: dict[str, Any] | None) -> dict[str, Any]:
        settings, document = self._in_workspace(actor, workspace_id, document_id, WorkspaceRole.OWNER)
        if _settings_cannot_fix(document):
            raise Conflict(f"{document.name} would fail the same way with any settings ({document.reason_code}); "
                           "upload a corrected copy instead", code="not_retryable")
        return self._queue_start(actor, document, self._options(options, document, settings))

    def retry(self, actor: Actor, workspace_id: str, document_id: str) -> dict[str, Any]:
        settings, document = self._in_workspace(actor, workspace_id, document_id, WorkspaceRole.OWNER)
        if document.status is not DocumentStatus.FAILED:
            raise Conflict(f"only failed documents are retried; this one is {document.status.value}",
                           code="not_failed")
        if document.reason_code in FILE_FAULTS:
            raise Conflict(f"{document.name} would fail the same way again ({document.reason_code}); upload a "
                           "corrected copy instead", code="not_retryable")
        if not document.version_id:
            raise Conflict("no version of this document arrived to process; upload it again", code="not_uploaded")
        return self._queue_start(actor, document, self._options(None, document, settings))

    def reprocess_workspace(self, actor: Actor, workspace_id: str, options: dict[str, Any] | None) -> dict[str, Any]:
        settings = self._access.workspace(actor, workspace_id, need=WorkspaceRole.OWNER).workspace.settings
        queued: list[str] = []
        start: dict[str, Any] | None = None
        while True:
            page = self._documents.in_workspace(workspace_id, 100, start)
            for document in page.items:
                if document.version_id and not _settings_cannot_fix(document):  # a damaged file stays failed
                    queued.append(self._queue_start(actor, document, self._options(options, document, settings))[
                        "document_id"])
            start = page.next_key
            if start is None:
                return {"workspace_id": workspace_id, "queued": queued}

    def jobs(self, actor: Actor, workspace_id: str, limit: int, start: dict[str, Any] | None) -> Page[Job]:
        self._access.workspace(actor, workspace_id, need=WorkspaceRole.OWNER)
        return self._documents.jobs(workspace_id, limit, start)

    def jobs_in_state(self, actor: Actor, state: str, limit: int, start: dict[str, Any] | None) -> Page[Job]:
        self._access.require_platform_admin(actor)
        try:
            job_state = JobState(state)
        except ValueError as exc:
            raise BadRequest(f"state must be one of {', '.join(s.value for s in JobState)}", code="bad_query") from exc
        return self._documents.jobs_in_state(job_state, limit, start)

    def _options(self, requested: dict[str, Any] | None, document: Document,
                 settings: dict[str, Any]) -> TileOptions:
        """The options asked for change those settings only: the others stay as the document was tiled (asking
        for a quality should not drop a resolution chosen before), or as the last reprocessing asked for them
        while it has not started (two asked for in a row: the second builds on the first). A document never
        tiled (a first upload refused, say for the month's pages) has the workspace's, as its upload would."""
        try:
            settled = self._settled(document) or settings.get("tiling") or {}
            return TileOptions.from_dict({**settled, **(requested or {})})
        except (ValueError, TypeError) as exc:
            raise BadRequest(str(exc), code="bad_settings") from exc

    def _settled(self, document: Document) -> dict[str, Any]:
        if not document.requested_options or not document.requested_run:
            return document.options or {}
        # Its start clears it; a job shown that started after it was asked for (a new upload's) makes it stale.
        shown = self._documents.job(document.document_id, document.job_id) if document.job_id else None
        since = shown is not None and max(shown.run, shown.created_at * 1000) >= document.requested_run
        return (document.options or {}) if since else document.requested_options

    def _queue_start(self, actor: Actor, document: Document, options: TileOptions) -> dict[str, Any]:
        if not document.version_id or (not document.kind and document.status is DocumentStatus.AWAITING_UPLOAD):
            raise Conflict("the document has not been uploaded yet", code="not_uploaded")
        run = int(time.time() * 1000)  # a new job, even with unchanged settings
        job_id = job_id_for(document.version_id, options, run)
        task = PageTask(document.workspace_id, document.document_id, job_id, -1, document.version_id,
                        document.kind or "", options, run)
        # Before its task: a task of an earlier request that starts after this one's is then known as earlier.
        self._documents.update(document.workspace_id, document.document_id,
                               {"requested_options": options.to_dict(), "requested_run": run})
        self._tasks.send([task.to_json()])
        self._events.record(Event("document.reprocess", document.account_id, document.workspace_id, actor.user_id,
                                  actor.user_id, {"document_id": document.document_id, "job_id": job_id,
                                                  "options": options.to_dict()}))
        return {"document_id": document.document_id, "job_id": job_id, "options": options.to_dict(),
                "status": "queued"}
