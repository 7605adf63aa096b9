"""Page transactions of one document collide when many functions finish pages at once: DynamoDB cancels them
with TransactionConflict, which boto3 does not retry. The store does; a failed condition is not retried."""

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.dynamo_documents import DynamoDocumentStore
from chalicelib.domain.documents import Job, JobState, PageRecord

JOB = Job("ws", "doc-0123456789abcdef", "job-1", "v1", "pdf", JobState.TILING, 3, 0, {}, 0)
PAGE = PageRecord(0, 100, 80, 7, 256, "jpeg", 8, 3, 1234)


def _cancelled(stubber: Stubber, *codes: str) -> None:
    stubber.add_client_error("transact_write_items", service_error_code="TransactionCanceledException",
                             service_message="cancelled",
                             modeled_fields={"CancellationReasons": [{"Code": c} for c in codes]})


@pytest.fixture
def store():
    client = boto3.client("dynamodb", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    with Stubber(client) as stubber:
        yield DynamoDocumentStore(client, "main"), stubber


def test_conflicts_are_retried_until_the_transaction_goes_through(store):
    documents, stubber = store
    _cancelled(stubber, "TransactionConflict", "None")
    _cancelled(stubber, "None", "TransactionConflict")
    stubber.add_response("transact_write_items", {})
    assert documents.page_done("acc", JOB, PAGE) is True
    stubber.assert_no_pending_responses()


def test_a_page_already_counted_is_not_retried(store):
    documents, stubber = store
    _cancelled(stubber, "ConditionalCheckFailed", "None")
    assert documents.page_done("acc", JOB, PAGE) is False
    stubber.assert_no_pending_responses()


def test_conflicts_that_never_end_surface(store):
    documents, stubber = store
    for _ in range(8):
        _cancelled(stubber, "TransactionConflict", "None")
    with pytest.raises(documents._client.exceptions.TransactionCanceledException):
        documents.page_done("acc", JOB, PAGE)
