"""What members hear about documents, from the workers and the API: each change of a document's status is
stored in the workspace's op log (as updates of its `doc:` item, domain/document_items.py) and then sent
live as a `progress` message; per-page progress is only sent live (coalesced, services/progress.py).

Logging a status is idempotent by content: an update that would change nothing is not appended (a redelivered
task, two workers finishing together), and the check runs against the exact state the op would follow.
A failure to log is reported and does not stop the processing it describes: the document records stay the
source of truth for manifests.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from chalicelib.domain.document_items import document_item, listing, next_placement, placement_item
from chalicelib.domain.ops import SYSTEM, Op
from chalicelib.domain.sync import WorkspaceState
from chalicelib.observability import logger
from chalicelib.ports import DocumentRecords
from chalicelib.services.progress import ProgressPublisher
from chalicelib.services.workspace_log import WorkspaceLog

Publish = Callable[[str, Op], object]
_DETAIL = ("job_id", "page_count", "pages_done", "kind", "reason_code", "reason")


class DocumentNews:
    def __init__(self, log: WorkspaceLog, documents: DocumentRecords, progress: ProgressPublisher | None,
                 publish: Publish | None) -> None:
        self._log = log
        self._documents = documents
        self._progress = progress
        self._publish = publish  # ops to the workspace's connections (None without a websocket endpoint)

    def status(self, workspace_id: str, document_id: str, progress: dict[str, Any], final: bool = False) -> None:
        """A new status (`progress["status"]`: analysing, tiling, ready, failed): logged, then sent."""
        fields = {"status": progress["status"], "reason_code": progress.get("code"),
                  "reason": progress.get("reason"), **{k: progress[k] for k in _DETAIL if k in progress}}
        try:
            self._log_status(workspace_id, document_id, fields)
        except Exception:
            logger.exception("document status not logged", extra={"document_id": document_id, **fields})
        if self._progress is not None:
            self._progress.publish(workspace_id, document_id, progress, final=final)

    def progress(self, workspace_id: str, document_id: str, progress: dict[str, Any]) -> None:
        """Pages done: live only, at most a few a second."""
        if self._progress is not None:
            self._progress.publish(workspace_id, document_id, progress)

    def removed(self, workspace_id: str, document_id: str) -> None:
        for item_id in (placement_item(document_id), document_item(document_id)):
            self._append(workspace_id, "item.delete", _delete(item_id))

    def _log_status(self, workspace_id: str, document_id: str, fields: dict[str, Any]) -> None:
        item_id, place = document_item(document_id), placement_item(document_id)
        record = cache(lambda: self._documents.get(workspace_id, document_id))  # read only when first listed

        def listed(state: WorkspaceState) -> dict[str, Any] | None:
            document = None if item_id in state.items else record()
            return None if document is None else {"item_id": item_id, "kind": "document",
                                                  "fields": listing(document)}

        def placed(state: WorkspaceState) -> dict[str, Any] | None:
            if place in state.items or item_id not in state.items:
                return None
            return {"item_id": place, "kind": "placement", "fields": next_placement(state, document_id)}

        self._append(workspace_id, "item.create", listed)
        self._append(workspace_id, "item.create", placed)

        def update(state: WorkspaceState) -> dict[str, Any] | None:
            item = state.items.get(item_id)
            if item is None:
                return None  # removed meanwhile
            changed = {k: v for k, v in fields.items() if item.fields.get(k) != v}
            return {"item_id": item_id, "fields": changed} if changed else None

        self._append(workspace_id, "item.update", update)

    def _append(self, workspace_id: str, kind: str, data: Callable[[WorkspaceState], dict[str, Any] | None]) -> None:
        appended = self._log.append_if(workspace_id, kind, SYSTEM, data)
        if appended is not None and self._publish is not None:
            self._publish(workspace_id, appended.op)


def _delete(item_id: str) -> Callable[[WorkspaceState], dict[str, Any] | None]:
    return lambda state: {"item_id": item_id} if item_id in state.items else None
