"""Starting a processing job for one version of a document: identify it by content, analyse it, record the
job and hand its pages out as tasks on the tiles queue ("a master hands out documents to a bank of slave
machines"; here Lambda's concurrency is the bank and the queue is the back-pressure).

Starting twice is harmless: the job id is derived from the version and the tile settings, so a redelivered
notification finds its job and only re-queues its pages (page tasks skip pages already done).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.domain.documents import (
    Document,
    DocumentStatus,
    Job,
    JobState,
    PagesRefused,
    PageTask,
    TileOptions,
    job_id_for,
    source_key,
)
from chalicelib.domain.events import Event
from chalicelib.imaging.errors import PAGES_QUOTA_EXCEEDED, DocumentRejected
from chalicelib.observability import logger
from chalicelib.port_types import RequestedSince
from chalicelib.services.document_news import DocumentNews
from chalicelib.services.passed_over import passed_over
from chalicelib.services.usage import MonthlyPages

if TYPE_CHECKING:
    from chalicelib.ports import DocumentRecords, EventSink, SourceStore, TaskQueue, TenancyReader


@dataclass(frozen=True)
class JobLimits:
    """Bounds on what a document may ask of the tilers (pages, raster pixels)."""
    max_pages: int = 2000
    max_image_pixels: int = 400_000_000


def fail_unless_shown(documents: DocumentRecords, news: DocumentNews | None, workspace_id: str, document_id: str,
                      code: str, reason: str, version_id: str | None = None) -> bool:
    """A version or reprocessing that could not be started fails the document only if nothing else is there to
    show: a document whose current job is ready (or still tiling) keeps it, back in that state. Members hear
    which. True when the document failed; it then names the failed `version_id`, so an owner can retry it."""
    document = documents.get(workspace_id, document_id)
    current = documents.job(document_id, document.job_id) if document and document.job_id else None
    if current is not None and current.state in (JobState.READY, JobState.TILING):
        # Back to what it showed, with what went wrong with the version: the member who uploaded it must learn
        # that it was refused (the code and reason stay on the record and its item until the next version).
        status = DocumentStatus.READY if current.state is JobState.READY else DocumentStatus.TILING
        documents.update(workspace_id, document_id, {"status": status.value, "reason": reason, "reason_code": code,
                                                     "refused_version_id": version_id or None})
        if news is not None:
            news.status(workspace_id, document_id, {
                "status": status.value, "job_id": current.job_id, "page_count": current.page_count,
                **({"pages_done": current.page_count} if status is DocumentStatus.READY else {}),
                "code": code, "reason": reason, "previous_kept": True,
                **({"version_id": version_id} if version_id else {})},
                # Final only for a ready job: one still tiling goes on reporting its pages, to its own `ready`.
                final=status is DocumentStatus.READY)
        return False
    documents.fail_document(workspace_id, document_id, code, reason, version_id)
    if news is not None:
        news.status(workspace_id, document_id, {"status": "failed", "code": code, "reason": reason,
                                                **({"version_id": version_id} if version_id else {})}, final=True)
    return True


class JobStarter:
    def __init__(self, documents: DocumentRecords, sources: SourceStore, tasks: TaskQueue, tenancy: TenancyReader,
                 events: EventSink, news: DocumentNews | None, pages_quota: MonthlyPages,
                 limits: JobLimits, accepted: Callable[[str, str], bool] | None = None) -> None:
        """`accepted(key, version)`: was that upload accepted (`fall_back` asks before it processes one)."""
        self._documents = documents
        self._sources = sources
        self._tasks = tasks
        self._tenancy = tenancy
        self._events = events
        self._news = news
        self._quota = pages_quota
        self._limits = limits
        self._accepted = accepted

    def start(self, workspace_id: str, document_id: str, version_id: str, size: int,
              options: TileOptions | None = None, run: int = 0, only_if_latest: bool = False) -> Job | None:
        """`only_if_latest` for S3 notifications (in any order): a superseded version must not replace a newer."""
        document = self._documents.get(workspace_id, document_id)
        workspace = self._tenancy.workspace(workspace_id)
        if document is None or workspace is None:
            logger.warning("a version of an unknown document", extra={"document": document_id})
            return None
        options = options or self._workspace_options(workspace.settings)
        job_id = job_id_for(version_id, options, run)
        if run and (document.requested_run or 0) > run:  # asked for again since: the newer request starts instead
            return None  # (before its analysis; start_job checks it again)
        existing = self._documents.job(document_id, job_id)
        # "null": the notification named no version (an unversioned bucket, or an emulator): nothing to compare.
        if only_if_latest and version_id != "null" and not self._latest(workspace_id, document_id, version_id,
                                                                          download=existing is None):
            logger.info("an older version's notification; the newer upload is processed instead",
                        extra={"document": document_id, "version": version_id})
            return None
        if existing is not None:
            return self._found_again(existing)
        # The version is recorded with the job: a version that cannot be read must not replace a good one.
        self._documents.update(workspace_id, document_id, {"status": DocumentStatus.ANALYSING.value,
                                                           "reason": None, "reason_code": None,
                                                           "refused_version_id": None})
        self._publish(workspace_id, document_id, {"status": "analysing", "version_id": version_id})
        try:
            kind, analysis_pages, found = self._analyse(source_key(workspace_id, document_id), version_id)
            limit = self._quota.limit(document.account_id)  # read once: the room and the admission's limit
            room = self._quota.room_under(document.account_id, limit)
            if room is not None and analysis_pages > room:
                raise _pages_refused(room, analysis_pages, limit)
        except DocumentRejected as rejected:
            self._reject(workspace_id, document_id, document.account_id, rejected, version_id, job_id, options, run)
            return None
        job = Job(workspace_id, document_id, job_id, version_id, kind, JobState.TILING, analysis_pages, 0,
                  options.to_dict(), created_at=_now(), run=run, **self._replaced(document))
        # The request a reprocessing answers is done with once it starts; its run stays, for start_job's guard.
        done = {"requested_options": None} if run >= (document.requested_run or run + 1) else {}
        # The versions this start passes over, as the record is now (the analysis took a while); none for a first.
        now = self._documents.get(workspace_id, document_id) if document.job_id else None
        passed = passed_over(self._documents, self._sources, now or document, version_id,
                             lambda version: job_id_for(version, options, 0))
        told = {"passed_over": passed} if passed is not None else {}
        try:
            started = self._documents.start_job(job, {"kind": kind, **found, "version_id": version_id, **done, **told,
                                                      "size": size or document.size, "options": options.to_dict()},
                                                document.account_id, limit, first=document.job_id is None)
        except RequestedSince:
            logger.info("an earlier reprocessing, not started", extra={"document": document_id, "run": run})
            return None
        except PagesRefused:
            room = self._quota.room_under(document.account_id, limit)
            self._reject(workspace_id, document_id, document.account_id,
                         _pages_refused(room, analysis_pages, limit), version_id, job_id, options, run)
            return None
        if started:
            if document.job_id and document.job_id != job_id:
                previous = self._documents.job(document_id, document.job_id)
                if previous is not None:
                    self._documents.set_job_state(previous, JobState.SUPERSEDED, f"superseded by {job_id}",
                                                  document.account_id)
            self._events.record(Event("document.analysed", document.account_id, workspace_id, detail={
                "document_id": document_id, "job_id": job_id, "version_id": version_id, "kind": kind, "pages":
                analysis_pages}))
            # Before the pages are queued: a fast page must not announce `ready` before `tiling`. Only by the start
            # that created the job (a redelivery finding it heals the item, above, had this one died before this).
            self._publish(workspace_id, document_id, {
                "status": "tiling", "job_id": job_id, "pages_done": 0, "page_count": analysis_pages, "kind": kind,
                **{k: v for k, v in found.items() if k.startswith("page_")}, **told})
        self._queue_pages(job)
        return job

    def _found_again(self, job: Job) -> Job:
        """A redelivery found its job: a start that died before its op (or a failure's) is heard now, before
        any page; a job still tiling has every page queued again (page tasks skip pages done)."""
        if self._news is not None:
            self._news.heal(job.workspace_id, job.document_id)
        if job.state is JobState.TILING:
            self._queue_pages(job)
        return job

    def fall_back(self, workspace_id: str, document_id: str, refused_version: str,
                  displaced: str | None = None) -> Job | None:
        """A version refused (or failed) while an earlier one is shown, or after it displaced one still tiling:
        the newest accepted upload below it that no failure of its own ended is processed now, rather than
        lost. Below it means down to the version shown (not included) or to `displaced` (included: its job was
        superseded part-way): another member's version that the refused one overtook before its analysis, or
        whose job it superseded. Each refusal looks only at older versions, so this ends."""
        document = self._documents.get(workspace_id, document_id)
        if self._accepted is None or document is None or refused_version == "null":
            return None
        key = source_key(workspace_id, document_id)
        versions = self._sources.versions(key)
        older = versions[versions.index(refused_version) + 1:] if refused_version in versions else []
        if displaced is not None and displaced in older:
            candidates = older[:older.index(displaced) + 1]
        elif document.version_id in older:
            candidates = older[:older.index(document.version_id)]
        else:
            return None
        workspace = self._tenancy.workspace(workspace_id)
        options = self._workspace_options(workspace.settings if workspace else {})
        for version in candidates:
            earlier = self._documents.job(document_id, job_id_for(version, options, 0))
            if (earlier is not None and earlier.state is JobState.FAILED) or not self._accepted(key, version):
                continue  # it failed on its own (or was never accepted): nothing to give back
            # A job of it that was superseded part-way is not started again: a new run is.
            run = 0 if earlier is None or earlier.state in (JobState.TILING, JobState.READY) else _now_ms()
            logger.info("an overtaken version is processed after the newer one failed",
                        extra={"document": document_id, "version": version, "refused": refused_version})
            return self.start(workspace_id, document_id, version, 0, options, run)
        return None

    def _replaced(self, document: Document) -> dict[str, Any]:
        """What a new job keeps of the one its document points at now (read before this start): `previous`, its
        job if ready, or what a job still tiling kept (it replaced a ready one, whose tiles stay until a newer
        job is ready), so that a version (or a reprocessing) that fails while it is tiled gives the document
        back to it; and `displaced_version`, the version of a job still tiling, processed again if this fails."""
        current = self._documents.job(document.document_id, document.job_id) if document.job_id else None
        if current is not None and current.state is JobState.TILING:
            return {"previous": current.previous, "displaced_version": current.version_id}
        if current is None or current.state is not JobState.READY:
            return {}
        return {"previous": {"job_id": current.job_id, "version_id": current.version_id, "kind": current.kind,
                "page_count": current.page_count, "options": current.options, "size": document.size,
                "metadata": document.metadata, "page_width": document.page_width,
                "page_height": document.page_height}}

    def _latest(self, workspace_id: str, document_id: str, version_id: str, download: bool) -> bool:
        """Is the version the latest? A new job downloads it (a GET, then cached); a redelivery asks (a HEAD)."""
        key = source_key(workspace_id, document_id)
        if download:
            return self._sources.download_latest(key, version_id) is not None
        return self._sources.latest_version(key) == version_id

    def _analyse(self, key: str, version_id: str) -> tuple[str, int, dict[str, Any]]:
        # The imaging modules load PyMuPDF and Pillow: only the functions that process documents import them.
        from chalicelib.imaging.analyse import analyse
        from chalicelib.imaging.formats import sniff
        from chalicelib.imaging.limits import Limits

        path = self._sources.download(key, version_id)
        kind = sniff(path)
        if kind is None:
            if os.path.getsize(path) == 0:
                raise DocumentRejected("empty", "the file is empty")
            raise DocumentRejected("unsupported_type", "the file's content is not a document type that can be "
                                                       "processed here (PDF, XPS, EPUB, CBZ, SVG, JPEG, PNG, TIFF, "
                                                       "WebP, GIF), whatever its name says: upload the document "
                                                       "itself, exported as PDF if you can")
        analysis = analyse(path, Limits(max_pages=self._limits.max_pages,
                                        max_image_pixels=self._limits.max_image_pixels))
        first = analysis.pages[0] if analysis.pages else None
        size = {"page_width": round(first.width_pt), "page_height": round(first.height_pt)} if first else {}
        return analysis.kind.value, analysis.page_count, {"metadata": dict(analysis.metadata), **size}

    def _queue_pages(self, job: Job) -> None:
        options = TileOptions.from_dict(job.options)
        self._tasks.send([PageTask(job.workspace_id, job.document_id, job.job_id, page, job.version_id, job.kind,
                                   options, job.run).to_json() for page in range(job.page_count)])

    def _reject(self, workspace_id: str, document_id: str, account_id: str, rejected: DocumentRejected,
                version_id: str, job_id: str, options: TileOptions, run: int) -> None:
        """`job_id`: this start's job (a reprocess named it), recorded failed with no pages: no fallback redoes it."""
        logger.info("document rejected", extra={"document": document_id, "code": rejected.code})
        self._documents.record_refused(Job(workspace_id, document_id, job_id, version_id, "", JobState.FAILED, 0, 0,
                                           options.to_dict(), created_at=_now(), finished_at=_now(),
                                           reason=rejected.reason, run=run))
        failed = fail_unless_shown(self._documents, self._news, workspace_id, document_id, rejected.code,
                                   rejected.reason, version_id)
        self._events.record(Event("document.failed", account_id, workspace_id, detail={
            "document_id": document_id, "code": rejected.code, "reason": rejected.reason,
            "previous_kept": not failed, "version_id": version_id, "job_id": job_id}))
        if not failed:
            self.fall_back(workspace_id, document_id, version_id)

    def _publish(self, workspace_id: str, document_id: str, progress: dict[str, Any], final: bool = False) -> None:
        if self._news is not None:
            self._news.status(workspace_id, document_id, progress, final=final)

    @staticmethod
    def _workspace_options(settings: dict[str, Any]) -> TileOptions:
        try:
            return TileOptions.from_dict(settings.get("tiling"))
        except (ValueError, TypeError):
            logger.warning("workspace tiling settings are invalid; using the defaults")
            return TileOptions()


def _now() -> int:
    return int(time.time())


def _now_ms() -> int:
    return int(time.time() * 1000)


def _pages_refused(room: int | None, pages: int, limit: int | None) -> DocumentRejected:
    """Said with the plan's pages and what is left of them, as a storage refusal says its bytes (an outside
    tester read "the plan allows no more pages this month" and could not tell by how much)."""
    plan = f"the plan's {_pages(limit)} this month" if limit is not None else "the plan's pages this month"
    said = f"{plan} are all used" if not room else f"more than the {_pages(room)} left of {plan}"
    joiner = " and " if not room else ", "
    return DocumentRejected(PAGES_QUOTA_EXCEEDED, f"this document has {_pages(pages)}{joiner}{said}")


def _pages(count: int) -> str:
    return f"{count} page" if count == 1 else f"{count} pages"
