"""Documents in the workspace's shared state, so they travel with the op log: a member who joins gets them in
the state, one who resumes gets what changed while they were away, in order with everything else.

Each document is two server-written items:
- `doc:<document id>` (kind `document`): what members see of it (name, status, page count, why it failed),
  updated at each change of status: analysing, tiling, ready, failed;
- `place:<document id>` (kind `placement`): where it sits on the landscape, assigned once when its first
  version arrives, below every document placed before it. Members with write access may move it (`x`, `y`).

Per-page progress is not logged (a 2,000-page drawing set would be 2,000 ops): it stays a live `progress`
message, and a member who missed it reads the document's manifest.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.documents import Document, Job
from chalicelib.domain.sync import WorkspaceState

LANDSCAPE_ROW = 1400  # landscape units from one document's row to the next (a page fits a 1000-unit cell)


def document_item(document_id: str) -> str:
    return f"doc:{document_id}"


def placement_item(document_id: str) -> str:
    return f"place:{document_id}"


def listing(document: Document) -> dict[str, Any]:
    """The fields of a document item when it first appears."""
    return {"document_id": document.document_id, "name": document.name, "content_type": document.declared_type,
            "size": document.size, "created_at": document.created_at, "created_by": document.created_by,
            "status": "analysing"}


def next_placement(state: WorkspaceState, document_id: str) -> dict[str, Any]:
    """Below the lowest placed document: a new document never lands on another, whatever order uploads
    finish in, and no placement moves when another document arrives."""
    rows = [p.fields.get("y", 0) for p in state.items.values() if p.kind == "placement"]
    lowest = max((y for y in rows if isinstance(y, (int, float))), default=None)
    return {"document_id": document_id, "x": 0, "y": 0 if lowest is None else int(lowest) + LANDSCAPE_ROW}


def status_change(status: str, job: Job | None = None, **detail: Any) -> dict[str, Any]:
    """The fields an update of a document item sets: its status, the job's page counts, and (for failures)
    the code and reason; fields that no longer apply are removed (null)."""
    fields: dict[str, Any] = {"status": status, "reason_code": None, "reason": None}
    if job is not None:
        fields.update(job_id=job.job_id, page_count=job.page_count, kind=job.kind)
    fields.update(detail)
    return fields
