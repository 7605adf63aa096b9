"""The first two parts of the transaction that starts a processing job (DynamoDocumentStore.start_job): the job's
item, put only if new, and its document pointed at it. The pages' admission against the plan is the third part
(dynamo_page_quota.admission).

The document's update carries the guards that make a start safe whatever order deliveries come in: a first job
only while the document names none (`first`), and a reprocessing (a job with a run) only while no newer one was
asked for, since SQS hands out the tasks of two reprocessings asked for in a row in any order
(services/documents.py notes each request on the document before its task is sent).
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.dynamo_items import to_item
from chalicelib.adapters.dynamo_job_notes import doc_key, job_key
from chalicelib.domain.documents import DocumentStatus, Job


def job_start_items(table: str, job: Job, document_changes: dict[str, Any], now: int,
                    first: bool) -> list[dict[str, Any]]:
    """The job's Put and the document's Update; a document change given as None is removed."""
    item = {**job_key(job.document_id, job.job_id), **job.to_dict(), "updated_at": now,
            "gsi1pk": f"WORKSPACE#{job.workspace_id}#JOBS", "gsi1sk": f"{job.created_at:012d}#{job.job_id}",
            "gsi2pk": f"JOBS#{job.state.value}", "gsi2sk": f"{now:012d}#{job.job_id}", "first_job": first or None}
    changes = {**document_changes, "job_id": job.job_id, "page_count": job.page_count, "pages_done": 0,
               "status": DocumentStatus.TILING.value, "updated_at": now}
    removed = "".join(f", #{k}" for k, v in changes.items() if v is None)
    condition = "attribute_exists(pk)"
    if job.run:
        condition += " AND (attribute_not_exists(requested_run) OR requested_run <= :run)"
    if first:
        condition += " AND attribute_not_exists(job_id)"
    return [
        {"Put": {"TableName": table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": table, "Key": to_item(doc_key(job.workspace_id, job.document_id)),
                    "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k, v in changes.items() if v is not None)
                    + " REMOVE reason, reason_code, refused_version_id" + removed,
                    "ExpressionAttributeNames": {f"#{k}": k for k in changes},
                    "ExpressionAttributeValues": to_item({f":{k}": v for k, v in changes.items()}
                                                         | ({":run": job.run} if job.run else {})),
                    "ConditionExpression": condition}},
    ]
