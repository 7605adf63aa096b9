"""A new version refused while the document shows an earlier one: members hear that the earlier one stays, and
whether its reports end there. A doc-only client found a `tiling` report marked final for a job that went on
tiling (20 more page reports, then its `ready`): a client that stops listening at `final` missed them all."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.domain.documents import JobState
from chalicelib.services.document_jobs import fail_unless_shown


class Records:
    def __init__(self, state: JobState) -> None:
        self.current = SimpleNamespace(job_id="job-1", state=state, page_count=40)
        self.updates: list[dict[str, Any]] = []

    def get(self, workspace_id: str, document_id: str) -> Any:
        return SimpleNamespace(job_id="job-1")

    def job(self, document_id: str, job_id: str) -> Any:
        return self.current

    def update(self, workspace_id: str, document_id: str, fields: dict[str, Any]) -> None:
        self.updates.append(fields)


class News:
    def __init__(self) -> None:
        self.sent: list[tuple[dict[str, Any], bool]] = []

    def status(self, workspace_id: str, document_id: str, progress: dict[str, Any], final: bool = False) -> None:
        self.sent.append((progress, final))


@pytest.mark.parametrize(("state", "status", "final"), [(JobState.READY, "ready", True),
                                                         (JobState.TILING, "tiling", False)])
def test_a_refusal_ends_the_reports_only_of_a_job_that_is_done(state: JobState, status: str, final: bool) -> None:
    records, news = Records(state), News()
    failed = fail_unless_shown(records, news, "ws", "doc-1", "corrupt", "not a PDF", "v2")  # type: ignore[arg-type]
    assert failed is False and records.updates[-1]["status"] == status
    [(progress, said_final)] = news.sent
    assert (progress["status"], progress["job_id"], progress["previous_kept"], progress["version_id"]) == (
        status, "job-1", True, "v2")
    assert said_final is final
