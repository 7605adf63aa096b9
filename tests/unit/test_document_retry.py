"""Which failed documents an owner may retry: a failure of the file itself (damaged, empty, not a type processed
here) would fail the same way again, so the retry is refused with a code the client can tell apart; a failure
that may pass later (a crash, the plan's month used up) is queued again."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, cast

import pytest

from chalicelib.domain.documents import Document, DocumentStatus, Job, JobState, TileOptions
from chalicelib.domain.errors import Conflict
from chalicelib.services.access import AccessService
from chalicelib.services.documents import FILE_FAULTS, SETTINGS_CANNOT_FIX, DocumentService
from tests.fakes import RecordingEvents
from tests.unit.test_access import TOKENS, actor, tenancy_with_demo


class OneDocument:
    """The records port, as far as a retry reads it: one document, the request noted on it, the job it shows
    (started at `shown_run`)."""

    def __init__(self, document: Document, shown_run: int = 0) -> None:
        self.document = document
        self.shown_run = shown_run

    def get(self, workspace_id: str, document_id: str) -> Document | None:
        found = (self.document.workspace_id, self.document.document_id) == (workspace_id, document_id)
        return self.document if found else None

    def update(self, workspace_id: str, document_id: str, changes: dict[str, Any]) -> None:
        self.document = replace(self.document, **changes)

    def job(self, document_id: str, job_id: str) -> Job:
        return Job(self.document.workspace_id, document_id, job_id, "v1", "pdf", JobState.READY, 1, 1, {}, 0,
                   run=self.shown_run)


class SentTasks:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, bodies: list[str]) -> None:
        self.sent.extend(bodies)


def failed(code: str, version_id: str | None = "v1") -> Document:
    return Document("ws-a", "doc-0123456789abcdef", "acc-a", "broken.pdf", "application/pdf", DocumentStatus.FAILED,
                    0, "ann", version_id=version_id, reason_code=code, reason="why it failed")


def retry(document: Document, options: dict[str, Any] | None = None,
          how: str = "retry") -> tuple[dict[str, Any], SentTasks]:
    access = AccessService(TOKENS, tenancy_with_demo())
    tasks = SentTasks()
    service = DocumentService(access, cast(Any, OneDocument(document)), cast(Any, tasks), cast(Any, None),
                              RecordingEvents(), cast(Any, None))
    if how == "reprocess":
        return service.reprocess(actor(access, "ann"), "ws-a", document.document_id, options), tasks
    return service.retry(actor(access, "ann"), "ws-a", document.document_id), tasks


@pytest.mark.parametrize("code", sorted(SETTINGS_CANNOT_FIX))
def test_reprocessing_a_file_no_setting_can_fix_is_refused_too(code: str) -> None:
    with pytest.raises(Conflict) as refused:
        retry(failed(code), {"format": "png"}, how="reprocess")
    assert refused.value.code == "not_retryable" and "with any settings" in str(refused.value)


def test_an_image_over_the_pixel_limit_is_not_reprocessed_either() -> None:
    # Its own pixels are over the limit whatever the settings (a doc-only review reprocessed one with a
    # smaller max_side: accepted, and failed again the same way).
    with pytest.raises(Conflict) as refused:
        retry(failed("image_too_large"), {"max_side": 2048}, how="reprocess")
    assert refused.value.code == "not_retryable"


@pytest.mark.parametrize("code", sorted(FILE_FAULTS))
def test_a_failure_of_the_file_itself_is_not_retried_and_says_so(code: str) -> None:
    with pytest.raises(Conflict) as refused:
        retry(failed(code))
    assert refused.value.code == "not_retryable"
    assert "broken.pdf would fail the same way again" in str(refused.value)
    assert "not been uploaded" not in str(refused.value)


@pytest.mark.parametrize("code", ["processing_failed", "pages_quota_exceeded"])
def test_a_failure_that_may_pass_later_is_queued_again(code: str) -> None:
    answer, tasks = retry(failed(code))
    assert answer["status"] == "queued"
    assert [json.loads(body)["version_id"] for body in tasks.sent] == ["v1"]


def test_a_failed_document_with_no_version_asks_for_an_upload() -> None:
    with pytest.raises(Conflict) as refused:
        retry(failed("processing_failed", version_id=None))
    assert refused.value.code == "not_uploaded" and "upload it again" in str(refused.value)


def test_reprocess_options_change_the_settings_named_and_keep_the_others() -> None:
    """A doc-only tester reprocessed a sheet tiled at 300 dpi (`max_pixels` 140 million) asking only for another
    quality: every other setting went back to the defaults, and the sheet to 212 dpi."""
    tiled = replace(failed("processing_failed"), status=DocumentStatus.READY, kind="pdf", reason_code=None,
                    options={"max_pixels": 140_000_000, "max_side": 20_000, "quality": 85})

    def queued(options: dict[str, Any] | None) -> dict[str, Any]:
        answer, tasks = retry(tiled, options, how="reprocess")
        assert answer["status"] == "queued"
        return dict(json.loads(tasks.sent[-1])["options"])

    assert queued({"quality": 80}) == {**TileOptions().to_dict(), "max_pixels": 140_000_000,
                                      "max_side": 20_000, "quality": 80}
    assert queued({"max_pixels": 2_000_000})["max_side"] == 20_000
    assert queued({}) == queued(None) == {**TileOptions().to_dict(), "max_pixels": 140_000_000, "max_side": 20_000}


def test_two_reprocesses_in_a_row_add_up_and_the_earlier_one_is_known_as_earlier() -> None:
    """The last note's gap: a second reprocess sent before the first started built on the job shown, so the
    first one's options were lost (and the first could start last and win)."""
    tiled = replace(failed("processing_failed"), status=DocumentStatus.READY, kind="pdf", reason_code=None,
                    job_id="job-shown", options={"quality": 85})
    records, tasks = OneDocument(tiled), SentTasks()
    access = AccessService(TOKENS, tenancy_with_demo())
    service = DocumentService(access, cast(Any, records), cast(Any, tasks), cast(Any, None), RecordingEvents(),
                              cast(Any, None))
    ann = actor(access, "ann")
    first = service.reprocess(ann, "ws-a", tiled.document_id, {"dpi": 150})
    second = service.reprocess(ann, "ws-a", tiled.document_id, {"quality": 60})
    assert second["options"]["dpi"] == 150 and second["options"]["quality"] == 60
    runs = [json.loads(body)["run"] for body in tasks.sent]
    assert records.document.requested_run == runs[1] > 0 and records.document.requested_options == second["options"]
    assert first["options"]["quality"] == 85
    # Once the second one started (the job shown has its run), the next builds on what is shown.
    records.shown_run = runs[1]
    records.document = replace(records.document, options=second["options"])
    third = service.reprocess(ann, "ws-a", tiled.document_id, {"format": "png"})
    assert (third["options"]["dpi"], third["options"]["quality"], third["options"]["format"]) == (150, 60, "png")


def test_a_document_never_tiled_is_retried_with_the_workspaces_settings() -> None:
    """A doc-only tester: a first upload refused for the month's pages was retried at the defaults (jpeg, 85),
    not the workspace's webp at 60 its upload would have had (README: retry "with its settings")."""
    tenancy = tenancy_with_demo()
    tenancy.workspaces["ws-a"] = replace(tenancy.workspaces["ws-a"],
                                         settings={"tiling": {"format": "webp", "quality": 60}})
    access, tasks = AccessService(TOKENS, tenancy), SentTasks()
    service = DocumentService(access, cast(Any, OneDocument(failed("pages_quota_exceeded"))), cast(Any, tasks),
                              cast(Any, None), RecordingEvents(), cast(Any, None))
    answer = service.retry(actor(access, "ann"), "ws-a", "doc-0123456789abcdef")
    assert (answer["options"]["format"], answer["options"]["quality"]) == ("webp", 60)
    dpi = service.reprocess(actor(access, "ann"), "ws-a", "doc-0123456789abcdef", {"dpi": 90})["options"]
    assert (dpi["format"], dpi["quality"], dpi["dpi"]) == ("webp", 60, 90)  # builds on the retry asked for
