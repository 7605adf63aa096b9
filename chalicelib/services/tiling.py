"""The tiling worker: one page task at a time, from the tiles queue.

Every step is idempotent, because SQS delivers at least once and a worker can die anywhere:
- tiles are written under the job's own prefix, deterministically, a page as one object (whole or not at all);
- the page is counted by a conditional write (DynamoDB), never by the worker's memory;
- whoever counts the last page, or finds every page counted after a crash, tries the ready transition,
  which exactly one caller wins.
A document the tiler cannot read fails with the tiler's reason at once (retrying will not help). Anything
unexpected is noted on the job and raised, so SQS retries it; after the last retry the task reaches the
dead-letter queue, whose handler fails the document with the noted error.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from chalicelib.domain.documents import ForgetTask, Job, JobState, PageRecord, PageTask, source_key
from chalicelib.domain.events import Event
from chalicelib.imaging.errors import DocumentRejected
from chalicelib.observability import logger, metrics, subsegment
from chalicelib.ports import (
    DocumentRecords,
    EventSink,
    PageRef,
    SourceRemover,
    SourceStore,
    TenancyReader,
    TileStore,
)
from chalicelib.services.document_jobs import JobLimits, JobStarter, fail_unless_shown
from chalicelib.services.document_news import DocumentNews


class PageTiler:
    def __init__(self, documents: DocumentRecords, sources: SourceStore, tiles: TileStore, tenancy: TenancyReader,
                 events: EventSink, news: DocumentNews | None, starter: JobStarter,
                 limits: JobLimits, remover: SourceRemover | None = None) -> None:
        self._documents = documents
        self._sources = sources
        self._remover = remover
        self._tiles = tiles
        self._tenancy = tenancy
        self._events = events
        self._news = news
        self._starter = starter
        self._limits = limits
        self._last_source: tuple[str, str] | None = None  # the source whose document the tiler may hold open

    def handle(self, body: str) -> None:
        forget = ForgetTask.from_json(body)
        if forget is not None:
            self._forget(forget)
            return
        try:
            task = PageTask.from_json(body)
        except ValueError as exc:
            logger.error("not a page task; dropped", extra={"error": str(exc)})
            return
        if task.is_start:
            self._starter.start(task.workspace_id, task.document_id, task.version_id, 0, task.options, task.run)
            return
        found = self._documents.tiling_job(task.document_id, task.job_id)
        job, first = found if found else (None, False)
        if job is None or job.state is not JobState.TILING:
            logger.info("page task of a finished or superseded job", extra={"job": task.job_id})
            if job is not None and job.state is not JobState.SUPERSEDED and self._news is not None:
                # The worker that made it ready (or failed it) may have died before its op: members hear it now.
                self._news.heal(job.workspace_id, job.document_id)
            return
        counted = wrote = False
        if self._documents.page(job.document_id, job.job_id, task.page) is None:
            wrote = True
            try:
                counted = self._tile(job, task)
            except DocumentRejected as rejected:
                self._fail(job, rejected.code, f"page {task.page + 1}: {_lower_first(rejected.reason)}")
                return
            except Exception as exc:
                self._documents.note_error(job, task.page, f"{type(exc).__name__}: {exc}")
                raise
        # Counts only grow: a job read before this page was counted, with every other page done then, is
        # complete now, and `finish` checks that in its own write (a job that left `tiling` meanwhile stays
        # as it is). Otherwise the count is read again, with the pages other functions counted meanwhile.
        complete = counted and job.pages_done + 1 >= job.page_count
        self._finish_if_complete(replace(job, pages_done=job.page_count) if complete else
                                 self._documents.job(task.document_id, task.job_id), task.page, first, wrote,
                                 counted)

    def _tile(self, job: Job, task: PageTask) -> bool:
        """True when this call counted the page (False: another delivery of the task counted it first)."""
        # PyMuPDF and Pillow are loaded here, on the tiling path only.
        from chalicelib.imaging.formats import Kind
        from chalicelib.imaging.limits import Limits
        from chalicelib.imaging.tiler import TileSettings, release_documents, tile_page

        if self._last_source != (job.document_id, job.version_id):
            # The tiler keeps the last document open for its next page, which pins the file's disk space: this
            # download may need it, evicting that file.
            release_documents()
            self._last_source = (job.document_id, job.version_id)
        with subsegment("download source"):
            path = self._sources.download(source_key(job.workspace_id, job.document_id), job.version_id)
        ref = PageRef(job.workspace_id, job.document_id, job.job_id, task.page)
        options = task.options
        settings = TileSettings(tile_size=options.tile_size, overlap=0, format=options.format,
                                quality=options.quality, dpi=options.dpi, max_side=options.max_side,
                                max_pixels=options.max_pixels)
        writer = self._tiles.writer(ref, options.format)
        with subsegment("render and tile"):
            result = tile_page(path, Kind(job.kind), task.page, settings, writer.add,
                               Limits(max_pages=self._limits.max_pages, max_image_pixels=self._limits.max_image_pixels))
        writer.attach("thumbnail", result.thumbnail)
        writer.attach("text", result.text.encode())
        with subsegment("store tiles"):
            stored, puts = writer.close(result.width, result.height, options.tile_size, result.max_level)
        record = PageRecord(task.page, result.width, result.height, result.max_level, options.tile_size,
                            options.format, result.tile_count, result.uniform_count, stored,
                            result.damage or None)
        if result.damage:
            logger.warning("page read in part: the file is damaged there",
                           extra={"document": job.document_id, "job": job.job_id, "page": task.page,
                                  "damage": result.damage})
        workspace = self._tenancy.workspace(job.workspace_id)
        account_id = workspace.account_id if workspace else "unknown"
        counted = self._documents.page_done(account_id, job, record)
        if counted:
            metrics.add_metric(name="PagesTiled", unit=MetricUnit.Count, value=1)
            metrics.add_metric(name="TileBytes", unit=MetricUnit.Bytes, value=stored)
            metrics.add_metric(name="TilesPerPage", unit=MetricUnit.Count, value=result.tile_count)
            metrics.add_metric(name="TilePuts", unit=MetricUnit.Count, value=puts)
        logger.info("page tiled", extra={"document": job.document_id, "job": job.job_id, "page": task.page,
                                         "tiles": result.tile_count, "uniform": result.uniform_count,
                                         "bytes": stored, "puts": puts, "counted": counted})
        return counted

    def _finish_if_complete(self, job: Job | None, page: int, first: bool, wrote: bool = False,
                            counted: bool = False) -> None:
        if job is not None and wrote and job.state in (JobState.SUPERSEDED, JobState.FAILED):
            self._forget_written(job, page, counted)
        if job is None or job.state is not JobState.TILING:
            return
        # The last page's count goes out as `ready`, a moment later from this same call (or from whoever counted
        # the last page): a `tiling` report of every page first would be one more message to every member, and,
        # for the one-page documents that drawings mostly are, a third of what tiling them sends.
        last = job.pages_done >= job.page_count
        if not last and self._documents.note_progress(job, job.pages_done) and self._news is not None:  # coalesced
            self._news.progress(job.workspace_id, job.document_id, {
                "status": "tiling", "job_id": job.job_id, "page": page, "pages_done": job.pages_done,
                "page_count": job.page_count})
        account_id = self._account_of(job)
        if job.pages_done >= job.page_count and self._documents.finish(job, account_id):
            metrics.add_metric(name="JobLatency", unit=MetricUnit.Seconds, value=max(0, time.time() - job.created_at))
            self._events.record(Event("document.ready", account_id, job.workspace_id, detail={
                "document_id": job.document_id, "job_id": job.job_id, "version_id": job.version_id,
                "pages": job.page_count}))
            self._publish(job, {"status": "ready", "job_id": job.job_id, "pages_done": job.page_count,
                                "page_count": job.page_count}, final=True)
            if not first:
                self._forget_superseded(job)
        elif job.pages_done >= job.page_count and wrote:
            # Not ready: another caller won, or the document moved on to a newer job (a racing first start
            # leaves this one `tiling` until its end, past the newer job's sweep), which nothing else removes.
            concluded = self._documents.job(job.document_id, job.job_id)
            if concluded is not None and concluded.state is JobState.SUPERSEDED:
                self._forget_own(concluded)

    def _forget_superseded(self, ready: Job) -> None:
        """Tiles of the document's earlier jobs go once a newer one is ready (a reprocess, a new version): only
        jobs no longer tiling, so a job started since is never touched. Members' viewers move to the new job
        with the `ready` they have just been sent. Not listed for the document's first job: no other job was
        recorded before it, and one recorded after it would point the document elsewhere, so this one would
        not have become ready (DocumentRecords.tiling_job)."""
        for job_id in self._tiles.jobs(ready.workspace_id, ready.document_id):
            other = self._documents.job(ready.document_id, job_id) if job_id != ready.job_id else ready
            if job_id != ready.job_id and (other is None or other.state is not JobState.TILING):
                gone = self._tiles.forget(ready.workspace_id, ready.document_id, job_id)
                logger.info("superseded tiles removed", extra={"job": job_id, "objects": gone})

    def _forget_written(self, job: Job, page: int, counted: bool) -> None:
        """This page was written while its job concluded. A job its document no longer shows (superseded, given
        back to the one it replaced, or its document removed) is never served: all its tiles go, those written
        after any sweep too. A failed job still shown lists only the pages counted before it failed: this page,
        written after and not counted, goes (a page counted by another delivery is listed and stays)."""
        if not self._shown(job):
            self._forget_own(job)
        elif job.state is JobState.FAILED and not counted and \
                self._documents.page(job.document_id, job.job_id, page) is None:
            self._tiles.forget(job.workspace_id, job.document_id, job.job_id, page)

    def _forget_own(self, job: Job) -> None:
        """A superseded job's tiles are never served again (they answer 404), so they can go at any time. A
        newer job's sweep at its `ready` removes only jobs already out of `tiling`, and a page of this job in
        flight can write after it: every page that finds its job superseded after writing removes them again
        (state only moves on, so the last writer's removal comes after every write)."""
        gone = self._tiles.forget(job.workspace_id, job.document_id, job.job_id)
        logger.info("superseded job's own tiles removed", extra={"job": job.job_id, "objects": gone})

    def _forget(self, task: ForgetTask) -> None:
        """A removed document: its tiles now, its source's current version into the lifecycle's expiry. Both
        idempotent, so a redelivered task changes nothing; refused while the document exists (not removed)."""
        if self._documents.get(task.workspace_id, task.document_id) is not None:
            logger.warning("forget task for a document that exists; ignored", extra={"document": task.document_id})
            return
        if self._remover is not None:
            self._remover.forget(source_key(task.workspace_id, task.document_id))
        gone = self._tiles.forget(task.workspace_id, task.document_id)
        logger.info("removed document's objects let go", extra={"document": task.document_id, "tiles": gone})

    def dead_letter(self, body: str) -> None:
        """A task whose retries are spent: fail its document with what went wrong, once."""
        try:
            task = PageTask.from_json(body)
        except ValueError:
            logger.error("an unreadable message reached the tiles dead-letter queue")
            return
        job = self._documents.job(task.document_id, task.job_id)
        if job is None:
            reason = "the document could not be analysed, even after retries"
            failed = fail_unless_shown(self._documents, self._news, task.workspace_id, task.document_id,
                                       "processing_failed", reason, task.version_id)
            workspace = self._tenancy.workspace(task.workspace_id)
            self._events.record(Event("document.failed", workspace.account_id if workspace else "", task.workspace_id,
                                      detail={"document_id": task.document_id, "code": "processing_failed",
                                              "reason": reason, "previous_kept": not failed}))
            if not failed:
                self._starter.fall_back(task.workspace_id, task.document_id, task.version_id)
            return
        # The reason is for people: which page, not the job's last technical error (which may be another page's,
        # and is the service's own text); that goes to the event log, for administrators, and to the log.
        error = self._documents.last_error(job.document_id, job.job_id)
        logger.error("tiling task dead-lettered", extra={"document": job.document_id, "job": job.job_id,
                                                         "page": task.page, "last_error": error})
        where = f"page {task.page + 1}" if not task.is_start else "the document"
        self._fail(job, "processing_failed", f"{where} could not be processed, even after retries: retry it later",
                   error)
        # Its last attempt may have written the page and died before counting it, after its job concluded
        # (removed, superseded, given back): nothing would remove those tiles, since no page runs again.
        concluded = self._documents.job(job.document_id, job.job_id)
        if concluded is not None and concluded.state is not JobState.TILING:
            self._forget_written(concluded, task.page, counted=False)

    def _fail(self, job: Job, code: str, reason: str, error: str | None = None) -> None:
        """A job that replaced a ready one gives its document back to that one (its tiles are still there),
        naming the failed version, as a version refused at analysis does; any other fails its document."""
        kept = self._documents.fail_back(job, code, reason) if job.previous else None
        if kept is None:
            counted = self._documents.job(job.document_id, job.job_id)  # the record says failed with this count
            if not self._documents.fail(job, code, reason, pages_done=counted.pages_done if counted else None):
                return
        elif not kept:
            return
        metrics.add_metric(name="DocumentsFailed", unit=MetricUnit.Count, value=1)
        self._events.record(Event("document.failed", self._account_of(job), job.workspace_id, detail={
            "document_id": job.document_id, "job_id": job.job_id, "code": code, "reason": reason,
            "version_id": job.version_id, "previous_kept": bool(kept), **({"error": error} if error else {})}))
        if not kept:
            # The pages tiled before it failed stay viewable; the record and the item count exactly those
            # (pages count only while the job tiles, so its count is final now).
            concluded = self._documents.job(job.document_id, job.job_id)
            done = concluded.pages_done if concluded else 0
            self._documents.note_progress(job, done, every_ms=-1)
            self._publish(job, {"status": "failed", "job_id": job.job_id, "code": code, "reason": reason,
                                "pages_done": done, "page_count": job.page_count, "version_id": job.version_id},
                          final=True)
            if job.displaced_version:  # it superseded a job still tiling: that version is processed again
                self._starter.fall_back(job.workspace_id, job.document_id, job.version_id, job.displaced_version)
            return
        self._forget_own(job)  # the document shows the earlier job again: this one's tiles are never served
        shown = job.previous or {}
        self._publish(job, {"status": "ready", "job_id": shown["job_id"], "page_count": shown["page_count"],
                            "pages_done": shown["page_count"], "code": code, "reason": reason,
                            "previous_kept": True, "version_id": job.version_id,
                            **{k: shown[k] for k in ("kind", "page_width", "page_height") if shown.get(k)}},
                      final=True)
        self._starter.fall_back(job.workspace_id, job.document_id, job.version_id, job.displaced_version)

    def _shown(self, job: Job) -> bool:
        document = self._documents.get(job.workspace_id, job.document_id)
        return document is not None and document.job_id == job.job_id

    def _account_of(self, job: Job) -> str:
        workspace = self._tenancy.workspace(job.workspace_id)
        return workspace.account_id if workspace else ""

    def _publish(self, job: Job, progress: dict[str, Any], final: bool = False) -> None:
        if self._news is not None:
            self._news.status(job.workspace_id, job.document_id, progress, final=final)


def _lower_first(reason: str) -> str:
    """A reason after "page N: " reads on as one sentence (a tester saw "failed: page 6: The file is damaged")."""
    return reason[:1].lower() + reason[1:]
