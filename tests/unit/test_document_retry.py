"""Which failed documents an owner may retry: a failure of the file itself (damaged, empty, not a type processed
here) would fail the same way again, so the retry is refused with a code the client can tell apart; a failure
that may pass later (a crash, the plan's month used up) is queued again."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, cast

import pytest

from chalicelib.domain.documents import Document, DocumentStatus, TileOptions
from chalicelib.domain.errors import Conflict
from chalicelib.services.access import AccessService
from chalicelib.services.documents import FILE_FAULTS, SETTINGS_CANNOT_FIX, DocumentService
from tests.fakes import RecordingEvents
from tests.unit.test_access import TOKENS, actor, tenancy_with_demo


class OneDocument:
    """The records port, as far as a retry reads it: one document."""

    def __init__(self, document: Document) -> None:
        self.document = document

    def get(self, workspace_id: str, document_id: str) -> Document | None:
        found = (self.document.workspace_id, self.document.document_id) == (workspace_id, document_id)
        return self.document if found else None


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
