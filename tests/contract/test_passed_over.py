"""Which versions a newer version's start passes over (services/passed_over.py), with the real adapters on the
emulator. The scenarios of two versions racing (overtaken before analysis, superseded part-way, processed after
all) are in test_failed_version.py; these are the ones an outside client found lost without a word (the version
shown finished tiling while the next upload was being analysed) or unclear."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.documents import DocumentStatus, JobState
from tests.contract.test_failed_version import _page, _ready, _version
from tests.contract.test_superseded_tiles import HookedTiles
from tests.contract.tiling_parts import new_document, tiling_parts
from tests.e2e.documents_samples import letter_pdf


@pytest.fixture
def parts(stack, clients, tmp_path):
    tiles = HookedTiles(clients["s3"], stack.outputs["TilesBucketName"])
    return tiling_parts(stack, clients, str(tmp_path), tiles, lambda key, version: True)


def test_a_version_that_finishes_while_the_next_is_analysed_was_shown(stack, clients, parts, monkeypatch) -> None:
    documents, starter, tiler = parts
    document_id, first_version = new_document(stack, clients, documents, letter_pdf(pages=1, text="First"))
    _ready(starter, tiler, document_id, first_version)
    bobs = _version(stack, clients, document_id, letter_pdf(pages=2, text="Bob's"))
    bob_job = starter.start("ws-t", document_id, bobs, 0, only_if_latest=True)
    assert bob_job is not None
    _page(tiler, bob_job, 0)
    alices = _version(stack, clients, document_id, letter_pdf(pages=1, text="Alice's"))
    analyse = starter._analyse

    def bob_finishes_meanwhile(key: str, version: str) -> Any:
        _page(tiler, bob_job, 1)  # his last page: his job is ready while Alice's version is analysed
        return analyse(key, version)

    monkeypatch.setattr(starter, "_analyse", bob_finishes_meanwhile)
    alice_job = starter.start("ws-t", document_id, alices, 0, only_if_latest=True)
    assert alice_job is not None
    finished = documents.job(document_id, bob_job.job_id)
    assert finished is not None and finished.state is JobState.READY  # it did finish first
    document = documents.get("ws-t", document_id)
    assert document is not None and (document.status, document.version_id) == (DocumentStatus.TILING, alices)
    # It was shown (its `ready` goes out while Alice's version is analysed: test_progress_order), then replaced
    # as any version is by a later one: not passed over.
    assert document.passed_over is None


def test_a_version_ready_before_the_next_arrives_is_not_passed_over(stack, clients, parts) -> None:
    documents, starter, tiler = parts
    document_id, first_version = new_document(stack, clients, documents, letter_pdf(pages=1, text="First"))
    _ready(starter, tiler, document_id, first_version)
    bobs = _version(stack, clients, document_id, letter_pdf(pages=2, text="Bob's"))
    _ready(starter, tiler, document_id, bobs)
    alices = _version(stack, clients, document_id, letter_pdf(pages=1, text="Alice's"))
    assert starter.start("ws-t", document_id, alices, 0, only_if_latest=True) is not None
    document = documents.get("ws-t", document_id)
    assert document is not None and document.version_id == alices
    assert document.passed_over is None  # Bob's was shown, then replaced by a later upload: nothing to tell
