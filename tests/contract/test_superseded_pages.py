"""A superseded job gives its pages back to the month that admitted them, as a failed job does: nothing of it is
shown (its tiles are removed). Before, its pages stayed counted, so a member whose version lost to another's upload
at the same moment (or a document removed while tiled) used the plan's pages for nothing."""

from __future__ import annotations

import time
from typing import Any

import pytest

from chalicelib.adapters.dynamo_documents import DynamoDocumentStore
from chalicelib.adapters.dynamo_items import from_item, to_item
from chalicelib.adapters.dynamo_usage import period_of
from chalicelib.domain.documents import JobState, source_key
from chalicelib.services.document_jobs import JobStarter
from tests.contract.test_superseded_tiles import HookedTiles
from tests.contract.tiling_parts import new_document, tiling_parts
from tests.e2e.documents_samples import letter_pdf


@pytest.fixture
def parts(stack, clients, tmp_path) -> tuple[DynamoDocumentStore, JobStarter]:
    tiles = HookedTiles(clients["s3"], stack.outputs["TilesBucketName"])
    documents, starter, _ = tiling_parts(stack, clients, str(tmp_path), tiles, lambda key, version: True)
    return documents, starter


def _admitted(stack: Any, clients: Any) -> int:
    """The month's admitted pages of account acc-t (other tests add to it too: compare within one test)."""
    item = clients["dynamodb"].get_item(TableName=stack.outputs["MainTableName"], ConsistentRead=True, Key=to_item(
        {"pk": "ACCOUNT#acc-t", "sk": f"USAGE#{period_of(time.time())}"})).get("Item")
    return int(from_item(item).get("pages_admitted", 0)) if item else 0


def _version(stack: Any, clients: Any, document_id: str, body: bytes) -> str:
    return str(clients["s3"].put_object(Bucket=stack.outputs["DocumentsBucketName"],
                                        Key=source_key("ws-t", document_id), Body=body)["VersionId"])


def test_a_version_superseded_while_tiled_gives_its_pages_back(stack, clients, parts) -> None:
    documents, starter = parts
    document_id, first_version = new_document(stack, clients, documents, letter_pdf(pages=1, text="First"))
    before = _admitted(stack, clients)
    first = starter.start("ws-t", document_id, first_version, 0)
    assert first is not None and _admitted(stack, clients) == before + 1
    bobs = _version(stack, clients, document_id, letter_pdf(pages=5, text="Bob's"))
    bob_job = starter.start("ws-t", document_id, bobs, 0, only_if_latest=True)
    # The first version's job, still tiling, is superseded by Bob's: its page goes back.
    assert bob_job is not None and _admitted(stack, clients) == before + 5
    alices = _version(stack, clients, document_id, letter_pdf(pages=2, text="Alice's"))
    alice_job = starter.start("ws-t", document_id, alices, 0, only_if_latest=True)
    assert alice_job is not None
    for superseded in (first, bob_job):
        found = documents.job(document_id, superseded.job_id)
        assert found is not None and found.state is JobState.SUPERSEDED
    assert _admitted(stack, clients) == before + 2  # only Alice's, which is the one shown
    # Ending it again changes nothing: a job leaves `tiling` once, and gives its pages back once.
    assert not documents.set_job_state(bob_job, JobState.SUPERSEDED, "again")
    assert _admitted(stack, clients) == before + 2


def test_a_removed_documents_job_gives_its_pages_back(stack, clients, parts) -> None:
    store, starter = parts
    document_id, version = new_document(stack, clients, store, letter_pdf(pages=4, text="Gone"))
    before = _admitted(stack, clients)
    job = starter.start("ws-t", document_id, version, 0)
    assert job is not None and _admitted(stack, clients) == before + 4
    assert store.delete("ws-t", document_id)  # as a removal does, before it stops the job
    assert store.set_job_state(job, JobState.SUPERSEDED, "the document was removed", "acc-t")
    assert _admitted(stack, clients) == before
