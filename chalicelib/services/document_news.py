"""What members hear about documents, from the workers and the API: each change of a document's status is
stored in the workspace's op log (as updates of its `doc:` item, domain/document_items.py), and the op that
logs it carries the report live (`progress`, `final`: one message per member, not an op and a `progress`
message; messages are most of what a small document costs, docs/cost.md). A report whose change logged no op
(the item says so already) goes out as a `progress` message. Per-page progress is only sent live, as
`progress` messages, at most once a second per document (PROGRESS_EVERY_MS, across the functions tiling it:
DocumentRecords.note_progress).

Never backwards, whatever order the functions that report on one document finish in: each report is logged
and sent while its function holds the document's turn (one at a time, ports.Turns), and only as the
document's record has it then (`as_of`): a status the record has moved past is dropped, and `pages_done` is
the record's, which grows only by conditional updates (DocumentRecords.note_progress). So every message
follows the one sent before it, and a late report from a function that lost a race is not sent at all.

Logging a status is idempotent by content: an update that would change nothing is not appended (a redelivered
task, two workers finishing together), and the check runs against the exact state the op would follow.
A failure to log is reported and does not stop the processing it describes: the document records stay the
source of truth for manifests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.domain.document_items import document_item, listing, next_placement, placement_item
from chalicelib.domain.documents import Document, DocumentStatus, JobState
from chalicelib.domain.ops import SYSTEM, Op
from chalicelib.domain.sync import WorkspaceState
from chalicelib.domain.tenancy import new_id
from chalicelib.observability import logger
from chalicelib.services.passed_over import PASSED_OVER_KEPT
from chalicelib.services.progress import ProgressPublisher
from chalicelib.services.workspace_log import WorkspaceLog

if TYPE_CHECKING:
    from chalicelib.ports import DocumentRecords, Turns



class Publish(Protocol):
    """Ops to the workspace's connections (services/fanout.py OpPublisher), a report riding on one."""

    def __call__(self, workspace_id: str, op: Op, exclude: str | None = None,
                 report: dict[str, Any] | None = None) -> object: ...


_DETAIL = ("job_id", "page_count", "pages_done", "kind", "reason_code", "reason", "page_width", "page_height",
           "passed_over")
_SHOWN = ("kind", "page_width", "page_height", "version_id")  # of the job named: a client tells its own upload
TURN_S = 10.0  # the longest one function reports on a document before another may (a stalled one loses it)
MARGIN_S = 1.0  # what is left of a turn when its holder stops sending on it


class DocumentNews:
    def __init__(self, log: WorkspaceLog, documents: DocumentRecords, progress: ProgressPublisher | None,
                 publish: Publish | None, turns: Turns) -> None:
        self._log = log
        self._documents = documents
        self._progress = progress
        self._publish = publish  # ops to the workspace's connections (None without a websocket endpoint)
        self._turns = turns

    def status(self, workspace_id: str, document_id: str, progress: dict[str, Any], final: bool = False,
               heal: bool = False) -> None:
        """A new status (`progress["status"]`: analysing, tiling, ready, failed): logged, then sent, unless
        the document's record has moved past it meanwhile. `heal`: sent only if the item lacked it (`heal`)."""
        with self._turn(document_id, wait=True) as until:
            document = self._documents.get(workspace_id, document_id)  # read under the turn
            message = as_of(document, progress)
            if document is None or message is None:
                logger.info("a document status the record has moved past; not reported",
                            extra={"document_id": document_id, "status": progress.get("status")})
                if document is not None and progress.get("status") == DocumentStatus.READY.value:
                    self._unheard(workspace_id, document, str(progress.get("job_id")))
                return
            # What the item shows of a started job (its kind, its first page's size) and the size, as the record
            # has them now: a new version's once its job starts (the item was listed with the first version's),
            # and on every later status too, so an item whose `tiling` op was lost to a crash still gets them.
            # Only what changed is written.
            shown = {k: getattr(document, k) for k in _SHOWN if getattr(document, k)} \
                if message["status"] in ("tiling", "ready") else {}
            fields = {"status": message["status"], "reason_code": message.get("code"),
                      "reason": message.get("reason"), **shown, **{k: message[k] for k in _DETAIL if k in message},
                      "refused_version_id": message.get("version_id") if message.get("previous_kept") else None,
                      **({"size": document.size} if document.size else {})}
            if heal and message["status"] == "tiling":
                fields.pop("pages_done")  # the item keeps a job's start; its pages are counted live only
            logged: list[Op] = []
            whole = True
            try:
                self._log_status(workspace_id, document, fields, logged)
            except Exception:
                whole = False
                logger.exception("document status not logged", extra={"document_id": document_id, **fields})
            if heal and whole and not logged:
                return  # the item had it: members were told when it was logged
            self._send_logged(workspace_id, document_id, logged, message, final, until, whole)

    def _unheard(self, workspace_id: str, document: Document, job_id: str) -> None:
        """A job's `ready` that finds its document on a newer job (a function paused between the job's end and
        this report while the newer one started): nobody heard that its version was shown, and nobody will. It is
        listed in `passed_over` for its uploader (services/passed_over.py), record then item, under the turn;
        not when the newer job tiles the same version (a reprocessing)."""
        job = self._documents.job(document.document_id, job_id) if document.job_id != job_id else None
        if job is None or job.state is not JobState.READY or job.version_id == document.version_id:
            return
        listed = [job.version_id, *(v for v in document.passed_over or [] if v != job.version_id)][:PASSED_OVER_KEPT]
        self._documents.update(workspace_id, document.document_id, {"passed_over": listed})
        item_id = document_item(document.document_id)

        def listing_it(state: WorkspaceState) -> dict[str, Any] | None:
            item = state.items.get(item_id)
            return None if item is None or item.fields.get("passed_over") == listed else \
                {"item_id": item_id, "fields": {"passed_over": listed}}

        self._append(workspace_id, "item.update", listing_it)

    def heal(self, workspace_id: str, document_id: str) -> None:
        """The record's status logged on the document's item, and sent, if the item lacks it: a function that
        died between the record's change and its op (a job started, ready or failed) left members without it,
        and the redelivery that finds the change made already comes here. Nothing when the item has it."""
        report = record_report(self._documents.get(workspace_id, document_id))
        if report is not None:
            self.status(workspace_id, document_id, report, final=report["status"] != "tiling", heal=True)

    def _send_logged(self, workspace_id: str, document_id: str, logged: list[Op], message: dict[str, Any],
                     final: bool, until: float | None, whole: bool) -> None:
        """The ops in the log's order, the report on the last one when the status was logged whole; otherwise
        (nothing logged, logging failed part-way, or that op could not be sent) the report goes as a `progress`
        message of its own. A send that failed part-way may so bring a member the same report twice, never none."""
        carrier = logged[-1] if whole and logged and self._publish is not None else None
        for op in logged:
            if op is not carrier:
                self._publish_op(workspace_id, op, None)
        report = self._due(workspace_id, document_id, message, final, until)  # the turn checked as it goes out
        if carrier is not None and self._publish_op(workspace_id, carrier, report):
            return
        if report is not None:
            assert self._progress is not None  # `_due` answers None without it
            self._progress.send(workspace_id, document_id, message, final)

    def _publish_op(self, workspace_id: str, op: Op, report: dict[str, Any] | None) -> bool:
        """Whether the op went out: the log has it whatever happens here, and a member missing it finds it by
        the gap it leaves (docs/protocol.md)."""
        if self._publish is None:
            return False
        try:
            self._publish(workspace_id, op, report=report)
        except Exception:
            logger.exception("a logged op was not sent", extra={"seq": op.seq, "reported": report is not None})
            return False
        return True

    def progress(self, workspace_id: str, document_id: str, progress: dict[str, Any]) -> None:
        """Pages done: live only, at most one a second. Skipped while another function reports on the
        document (it sends the record's count, which includes this one's)."""
        if self._progress is None:
            return
        with self._turn(document_id, wait=False) as until:
            message = as_of(self._documents.get(workspace_id, document_id), progress) if until else None
            if message is not None:
                self._send(workspace_id, document_id, message, False, until)

    def _send(self, workspace_id: str, document_id: str, message: dict[str, Any], final: bool,
              until: float | None) -> None:
        if self._due(workspace_id, document_id, message, final, until, change=False) is not None:
            assert self._progress is not None
            self._progress.send(workspace_id, document_id, message, final)

    def _due(self, workspace_id: str, document_id: str, message: dict[str, Any], final: bool,
             until: float | None, change: bool = True) -> dict[str, Any] | None:
        """The report's fields as a message carries them, or None: not sent (coalesced, or the turn ran out)."""
        if self._progress is None or until is None:
            return None
        if time.time() > until - MARGIN_S:  # overstayed: another function may be reporting by now
            logger.warning("document progress not sent: the turn ran out", extra={"document_id": document_id})
            return None
        if not self._progress.due(workspace_id, document_id, message, final=final, change=change):
            return None
        return {"subject": document_id, "progress": message, "final": final}

    @contextmanager
    def _turn(self, document_id: str, wait: bool) -> Iterator[float | None]:
        """The document's turn (the time it ends), or None when another function has it and `wait` is off;
        waiting lasts at most until a holder's turn would have run out."""
        holder = new_id("turn")
        until = self._turns.take(document_id, holder, TURN_S)
        deadline, pause = time.monotonic() + TURN_S + MARGIN_S, 0.02
        while until is None and wait and time.monotonic() < deadline:
            time.sleep(pause)
            pause = min(0.5, pause * 2)
            until = self._turns.take(document_id, holder, TURN_S)
        try:
            yield until
        finally:
            if until is not None:
                self._turns.give_back(document_id, holder)

    def removed(self, workspace_id: str, document_id: str) -> None:
        for item_id in (placement_item(document_id), document_item(document_id)):
            self._append(workspace_id, "item.delete", _delete(item_id))

    def _log_status(self, workspace_id: str, document: Document, fields: dict[str, Any], logged: list[Op]) -> None:
        """`document`: the record as read under this turn (a first listing shows it). The ops appended go into
        `logged`, to be sent by the caller (the last with the report)."""
        document_id = document.document_id
        item_id, place = document_item(document_id), placement_item(document_id)

        def listed(state: WorkspaceState) -> dict[str, Any] | None:
            return None if item_id in state.items else {"item_id": item_id, "kind": "document",
                                                        "fields": listing(document)}

        def placed(state: WorkspaceState) -> dict[str, Any] | None:
            if place in state.items or item_id not in state.items:
                return None
            return {"item_id": place, "kind": "placement", "fields": next_placement(state, document_id)}

        self._append(workspace_id, "item.create", listed, logged)
        self._append(workspace_id, "item.create", placed, logged)

        def update(state: WorkspaceState) -> dict[str, Any] | None:
            item = state.items.get(item_id)
            if item is None:
                return None  # removed meanwhile
            changed = {k: v for k, v in fields.items() if item.fields.get(k) != v}
            return {"item_id": item_id, "fields": changed} if changed else None

        self._append(workspace_id, "item.update", update, logged)

    def _append(self, workspace_id: str, kind: str, data: Callable[[WorkspaceState], dict[str, Any] | None],
                logged: list[Op] | None = None) -> None:
        """Sent at once, or kept in `logged` for the caller to send."""
        appended = self._log.append_if(workspace_id, kind, SYSTEM, data)
        if appended is None:
            return
        if logged is not None:
            logged.append(appended.op)
        else:
            self._publish_op(workspace_id, appended.op, None)


def _delete(item_id: str) -> Callable[[WorkspaceState], dict[str, Any] | None]:
    return lambda state: {"item_id": item_id} if item_id in state.items else None


def record_report(document: Document | None) -> dict[str, Any] | None:
    """The report of the status the record is in, for `heal`: a started job's (tiling, ready, failed); None
    before a job starts (a redelivered upload runs its start again, which reports `analysing` itself)."""
    if document is None:
        return None
    if document.status is DocumentStatus.FAILED:  # (with no job, when its version was refused at analysis)
        return {"status": "failed", "code": document.reason_code, "reason": document.reason}
    if document.job_id is None:
        return None
    job = {"job_id": document.job_id, "page_count": document.page_count}
    if document.status is DocumentStatus.TILING:  # (with the versions its start passed over, for their uploaders)
        passed = {"passed_over": document.passed_over} if document.passed_over is not None else {}
        return {"status": "tiling", **job, "pages_done": document.pages_done, **passed}
    if document.status is DocumentStatus.READY:
        kept = {"code": document.reason_code, "reason": document.reason, "previous_kept": True,
                "version_id": document.refused_version_id} if document.reason_code else {}
        return {"status": "ready", **job, "pages_done": document.page_count, **kept}
    return None


def as_of(document: Document | None, progress: dict[str, Any]) -> dict[str, Any] | None:
    """The report as the document's record has it now, or None when the record has moved past it (another
    status, another job, or the document removed). A tiling report carries the record's `pages_done`. A job's
    `ready` still goes out while a newer version is analysed (the record says `analysing`, still naming that
    job, which the manifest shows until the newer one's start): dropped, its uploader never heard that it was
    shown (an outside tester: a version finished while the next one was analysed, and vanished)."""
    if document is None:
        return None
    ready_before_analysis = progress.get("status") == DocumentStatus.READY.value and \
        document.status is DocumentStatus.ANALYSING and progress.get("job_id") == document.job_id
    if document.status.value != progress.get("status") and not ready_before_analysis:
        return None
    if "job_id" in progress and progress["job_id"] != document.job_id:
        return None
    if "passed_over" in progress:  # the record's, which a late `ready` may have added to (DocumentNews._unheard)
        progress = {**progress, "passed_over": document.passed_over}
    if document.status is DocumentStatus.TILING:
        return {**progress, "pages_done": max(document.pages_done, 0)}
    return progress
