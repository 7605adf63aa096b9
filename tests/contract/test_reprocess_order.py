"""Two reprocessings of one document asked for in a row: only the later one is processed, whichever of their
tasks a worker picks first (SQS hands them out in any order). The job starter with its real adapters on the
emulator; the request is noted on the document record as the REST service notes it (services/documents.py)."""

from __future__ import annotations

import time

import pytest

from chalicelib.adapters.s3_tile_store import S3TileStore
from chalicelib.domain.documents import DocumentStatus, Job, JobState, TileOptions
from chalicelib.port_types import RequestedSince
from tests.contract.tiling_parts import new_document, tiling_parts
from tests.e2e.documents_samples import letter_pdf


def test_an_earlier_reprocessing_whose_task_comes_last_is_not_started(stack, clients, tmp_path) -> None:
    tiles = S3TileStore(clients["s3"], stack.outputs["TilesBucketName"])
    documents, starter, _ = tiling_parts(stack, clients, str(tmp_path), tiles)
    document_id, version = new_document(stack, clients, documents, letter_pdf(pages=1, text="Order"))
    shown = starter.start("ws-t", document_id, version, 0)
    assert shown is not None

    first, second = TileOptions(dpi=150), TileOptions(dpi=150, quality=60)
    documents.update("ws-t", document_id, {"requested_options": first.to_dict(), "requested_run": 1_000})
    documents.update("ws-t", document_id, {"requested_options": second.to_dict(), "requested_run": 2_000})
    recorded = documents.get("ws-t", document_id)
    assert recorded is not None and (recorded.requested_options, recorded.requested_run) == (second.to_dict(), 2_000)

    # The earlier one's start read the document before the later one was asked for, and records its job after:
    # the record's guard refuses it, whatever the service read.
    with pytest.raises(RequestedSince):
        documents.start_job(Job("ws-t", document_id, "job-early", version, "pdf", JobState.TILING, 1, 0,
                                first.to_dict(), int(time.time()), run=1_000), {"options": first.to_dict()})

    later = starter.start("ws-t", document_id, version, 0, second, run=2_000)  # its task is picked first
    assert later is not None and later.run == 2_000
    assert starter.start("ws-t", document_id, version, 0, first, run=1_000) is None  # then the earlier one's
    document = documents.get("ws-t", document_id)
    assert document is not None and document.job_id == later.job_id and document.status is DocumentStatus.TILING
    assert document.options == second.to_dict()
    assert (document.requested_options, document.requested_run) == (None, 2_000)  # answered: the next builds on
    # what is shown, and the run stays for the guard
    assert [j.job_id for j in documents.jobs("ws-t", 10, None).items if j.run == 1_000] == []  # never started


def test_a_reprocessing_refused_at_analysis_has_answered_its_request(stack, clients, tmp_path) -> None:
    """A doc-only tester: a reprocess refused for the month's pages left its options requested, and the next
    reprocess built on the refused settings."""
    tiles = S3TileStore(clients["s3"], stack.outputs["TilesBucketName"])
    documents, _, _ = tiling_parts(stack, clients, str(tmp_path), tiles)
    document_id, version = new_document(stack, clients, documents, letter_pdf(pages=1, text="Refused"))
    asked = TileOptions(dpi=100).to_dict()

    def refused(run: int) -> None:
        documents.record_refused(Job("ws-t", document_id, f"job-{run}", version, "", JobState.FAILED, 0, 0, asked,
                                     int(time.time()), run=run))

    documents.update("ws-t", document_id, {"requested_options": asked, "requested_run": 2_000})
    refused(1_000)  # an earlier request's refusal: the later one still waits
    assert documents.get("ws-t", document_id).requested_options == asked
    refused(2_000)
    document = documents.get("ws-t", document_id)
    assert (document.requested_options, document.requested_run) == (None, 2_000)
