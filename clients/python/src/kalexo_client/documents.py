"""Uploading a document and waiting until it is processed (ready or failed), watching the workspace live.

The document's item (`doc:<id>`) in the workspace's shared state says where processing is (analysing, tiling,
ready, failed) and `progress` messages count the pages as they finish. Joining the workspace before the upload
starts means every change after it is seen, including a document that is ready before we would have looked.
Without a websocket URL the document route is read every `interval` seconds instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kalexo_client.api import KalexoApi
from kalexo_client.client import TokenSource, WorkspaceClient
from kalexo_client.errors import ClientClosed
from kalexo_client.models import DOCUMENT_PREFIX, Closed, DocumentChanged, Item, Progress
from kalexo_client.uploads import ProgressCallback, UploadResult

TERMINAL = ("ready", "failed")
StatusCallback = Callable[[str, int | None, int | None], None]  # status, pages done, page count


@dataclass(frozen=True)
class Baseline:
    """What a document was before a new version went up (nothing, for a new document)."""

    version: int = 0
    job_id: str | None = None
    refused_version_id: str | None = None  # a refusal already there: not this upload's

    def finished(self, status: str | None, version: int, job_id: str | None, refused: bool = False) -> bool:
        """`refused`: the item names a refused version other than the baseline's (a new version refused, the
        earlier one kept; see `refused_version`)."""
        if status not in TERMINAL and not refused:
            return False
        if self.version == 0 and self.job_id is None:
            return status in TERMINAL
        return version > self.version and (status == "failed" or refused or job_id != self.job_id)


async def wait_document(client: WorkspaceClient, document_id: str, *, baseline: Baseline | None = None,
                        on_status: StatusCallback | None = None, timeout: float | None = None,
                        version: str | None = None) -> Item:
    """Until the document's item says ready or failed (after `baseline`), or that it passed over `version`
    (this upload's: a newer one is processed instead); `on_status` on each change and each progress message.
    Returns the item."""
    key, baseline = f"{DOCUMENT_PREFIX}{document_id}", baseline or Baseline()
    stream = client.events()

    def finished() -> Item | None:
        item = client.items.get(key)
        if item is None:
            return None
        status, job = item.fields.get("status"), item.fields.get("job_id")
        if passed_over(item.fields, version):
            return item
        if not_yet(item.fields, version):
            return None
        return item if baseline.finished(status if isinstance(status, str) else None, item.version,
                                         job if isinstance(job, str) else None,
                                         refused_version(item.fields, baseline.refused_version_id)) else None

    try:
        async with asyncio.timeout(timeout):
            while (item := finished()) is None:
                event = await stream.next()
                if isinstance(event, Closed):
                    raise client.failure or ClientClosed("the client was closed")
                if on_status is None:
                    continue
                if isinstance(event, Progress) and event.document_id == document_id:
                    on_status(event.status, event.pages_done, event.page_count)
                elif isinstance(event, DocumentChanged) and event.document_id == document_id and event.item:
                    fields = event.item.fields  # as that op left it: each change of status is an op
                    done, count = fields.get("pages_done"), fields.get("page_count")
                    on_status(str(fields.get("status")), done if isinstance(done, int) else None,
                              count if isinstance(count, int) else None)
    finally:
        stream.close()
    if on_status is not None:  # the last word, whichever event the loop stopped before
        done, count = item.fields.get("pages_done"), item.fields.get("page_count")
        on_status(str(item.fields.get("status")), done if isinstance(done, int) else None,
                  count if isinstance(count, int) else None)
    return item


async def upload_and_wait(api: KalexoApi, ws_url: str, token: TokenSource, workspace: str, path: Path, *,
                          document_id: str | None = None, content_type: str | None = None,
                          on_upload: ProgressCallback | None = None, on_status: StatusCallback | None = None,
                          timeout: float | None = None) -> tuple[UploadResult, dict[str, Any]]:
    """Join the workspace, upload, wait for ready or failed; returns the upload and the document's manifest.
    A websocket that cannot be reached raises Failed within `timeout` (or the client's 30 s connect deadline)."""
    deadline = min(timeout, 30.0) if timeout is not None else 30.0
    async with WorkspaceClient(ws_url, token, workspace, connect_deadline=deadline) as client:
        before = client.items.get(f"{DOCUMENT_PREFIX}{document_id}") if document_id else None
        job = before.fields.get("job_id") if before else None
        refused = before.fields.get("refused_version_id") if before else None
        baseline = Baseline(before.version, job if isinstance(job, str) else None,
                            refused if isinstance(refused, str) else None) if before else Baseline()
        # The upload blocks on the network: in a thread, so the websocket keeps its heartbeat meanwhile.
        result = await asyncio.to_thread(api.upload, workspace, path, content_type=content_type,
                                         document_id=document_id, progress=on_upload)
        await wait_document(client, result.document_id, baseline=baseline, on_status=on_status, timeout=timeout,
                            version=result.version_id)
    return result, await asyncio.to_thread(api.document, workspace, result.document_id)


def passed_over(document: dict[str, Any], version: str | None) -> bool:
    """A document (item fields or REST answer) that will never show `version`: a newer version's job started
    first (another member's upload at the same moment, docs/protocol.md)."""
    listed = document.get("passed_over")
    return version is not None and isinstance(listed, list) and version in listed


def not_yet(document: dict[str, Any], version: str | None) -> bool:
    """A `ready` document (item fields or REST answer) showing an earlier version than `version` (this upload's),
    which is neither refused nor passed over: that version finished first, and this one is still to come."""
    shown = document.get("version_id")
    return version is not None and document.get("status") == "ready" and isinstance(shown, str) and \
        shown != version and document.get("refused_version_id") != version and not passed_over(document, version)


def refused_version(document: dict[str, Any], baseline: str | None = None) -> bool:
    """A document (its item's fields or its REST answer) whose newest version was refused while it still shows
    an earlier job: `ready` or `tiling` with a `refused_version_id`, other than `baseline` (the one it named
    before this upload: each refusal names its own version, so an earlier one is not taken for this one's)."""
    refused = document.get("refused_version_id")
    return document.get("status") in ("ready", "tiling") and bool(refused) and refused != baseline


def poll_until_processed(api: KalexoApi, workspace: str, document_id: str, *, baseline_job: str | None = None,
                         baseline_refused: str | None = None, on_status: StatusCallback | None = None,
                         timeout: float = 1800.0, interval: float = 1.0, version: str | None = None,
                         patience: float = 60.0) -> dict[str, Any]:
    """The same without a websocket: read the document until it is ready or failed (a new job, for a new
    version of a processed document), or until the new version is refused (`refused_version`, other than
    `baseline_refused`, the refused version the document named before the upload), or `version` (this
    upload's) is passed over; a `ready` of an earlier version than `version` is not an end (`not_yet`), for
    `patience` seconds: a version shown for less than a poll and then replaced leaves no trace here (a websocket
    client sees its `ready`), and the document then shows the newer one for good."""
    deadline = time.monotonic() + timeout
    other: tuple[Any, float] | None = None  # (the other job shown, since when)
    while True:
        document = api.document(workspace, document_id)
        status = str(document.get("status"))
        if on_status is not None:
            on_status(status, document.get("pages_done"), document.get("page_count"))
        if passed_over(document, version):
            return document
        waiting = not_yet(document, version)
        other = (document.get("job_id"), other[1] if other and other[0] == document.get("job_id") else
                 time.monotonic()) if waiting else None
        if not waiting or time.monotonic() - other[1] > patience:  # type: ignore[index]
            if status in TERMINAL and (baseline_job is None or document.get("job_id") != baseline_job
                                       or status == "failed"):
                return document
            if baseline_job is not None and refused_version(document, baseline_refused):
                return document
        if time.monotonic() > deadline:
            raise TimeoutError(f"{document_id} is still {status} after {timeout:.0f} s")
        time.sleep(interval)
