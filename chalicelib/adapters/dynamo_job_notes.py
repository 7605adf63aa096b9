"""What the tiling workers note on a job and its document while they work, and the two records' keys.

The document mirrors its job's page count for the members' progress (at most a few times a second, whichever
worker gets there); the job keeps the last unexpected error, for the dead-letter handler to report. The rest
of the documents' records (jobs, pages, completion) are in dynamo_documents.py, whose store builds on this.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo_items import from_item, to_item
from chalicelib.domain.documents import PROGRESS_EVERY_MS, Job

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def doc_key(workspace_id: str, document_id: str) -> dict[str, Any]:
    return {"pk": f"WORKSPACE#{workspace_id}", "sk": f"DOC#{document_id}"}


def job_key(document_id: str, job_id: str) -> dict[str, Any]:
    return {"pk": f"DOC#{document_id}", "sk": f"JOB#{job_id}"}


class DynamoJobNotes:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def record_refused(self, job: Job) -> None:
        """A version refused at analysis, as a failed job of no pages: listed with the others, found by a
        redelivered notification (which then does nothing), and never tried again by a fallback."""
        now = int(time.time())
        item = {**job_key(job.document_id, job.job_id), **job.to_dict(), "updated_at": now,
                "gsi1pk": f"WORKSPACE#{job.workspace_id}#JOBS", "gsi1sk": f"{job.created_at:012d}#{job.job_id}",
                "gsi2pk": f"JOBS#{job.state.value}", "gsi2sk": f"{now:012d}#{job.job_id}"}
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):  # a redelivery's
            self._client.put_item(TableName=self._table, Item=to_item(item),
                                  ConditionExpression="attribute_not_exists(pk)")
        if job.run:  # a reprocessing refused has answered its request too, unless a newer one was asked for
            with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
                self._client.update_item(TableName=self._table,
                                         Key=to_item(doc_key(job.workspace_id, job.document_id)),
                                         UpdateExpression="REMOVE requested_options",
                                         ConditionExpression="requested_run <= :run",
                                         ExpressionAttributeValues=to_item({":run": job.run}))

    def note_progress(self, job: Job, pages_done: int, every_ms: int = PROGRESS_EVERY_MS) -> bool:
        """Mirror the job's count on the document, at most once per `every_ms` across all workers; True for
        the caller that did (it sends the progress message, so members get one update a second however
        many functions tile the document at once)."""
        now_ms = int(time.time() * 1000)
        try:
            self._client.update_item(
                TableName=self._table, Key=to_item(doc_key(job.workspace_id, job.document_id)),
                UpdateExpression="SET pages_done = :n, progress_ms = :now",
                ConditionExpression="job_id = :job AND pages_done < :n AND "
                                    "(attribute_not_exists(progress_ms) OR progress_ms < :cut)",
                ExpressionAttributeValues=to_item({":n": pages_done, ":job": job.job_id, ":now": now_ms,
                                                   ":cut": now_ms - every_ms}))
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def note_error(self, job: Job, page: int, error: str) -> None:
        """The last unexpected error, so the dead-letter handler can say what went wrong."""
        self._client.update_item(
            TableName=self._table, Key=to_item(job_key(job.document_id, job.job_id)),
            UpdateExpression="SET last_error = :e", ExpressionAttributeValues=to_item(
                # A library's message may quote a file's stray bytes (lone surrogates), which no UTF-8 store takes.
                {":e": f"page {page + 1}: {error}"[:500].encode("utf-8", "replace").decode("utf-8")}))

    def last_error(self, document_id: str, job_id: str) -> str | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(job_key(document_id, job_id)),
                                     ProjectionExpression="last_error").get("Item")
        return str(from_item(item).get("last_error") or "") or None if item else None
