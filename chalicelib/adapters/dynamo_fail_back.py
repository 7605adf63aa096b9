"""A job that replaced a ready one and then failed while it was tiled gives its document back to that job, as
one DynamoDB transaction (dynamo_documents.py `fail_back`).

A new version, or a reprocessing, points its document at its own job as soon as it is analysed, so that its
pages show as they finish. Until it is ready, the ready job it replaced keeps its tiles (they go at the new
job's `ready`) and stays `ready` itself. So when the new job fails (a page the tiler refuses, or retries spent),
the document can show the earlier job again whole: its record takes back that job's fields, which the new job
kept (`Job.previous`), with the failed version's `reason_code`, `reason` and `refused_version_id`, as after a
version refused at analysis. The items, in order (a cancelled transaction's reasons are read by position):
the job `tiling` -> `failed`; the document, if it still points at the job; a check that the earlier job is
still `ready`; the failed job's pages given back to the month that admitted them.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.adapters.dynamo_items import to_item
from chalicelib.adapters.dynamo_job_notes import doc_key, job_key
from chalicelib.adapters.dynamo_page_quota import give_back
from chalicelib.domain.documents import DocumentStatus, Job, JobState

SHOWN = ("version_id", "kind", "page_count", "size", "options", "metadata", "page_width", "page_height")


def fail_back_items(table: str, job: Job, code: str, reason: str, account_id: str) -> list[dict[str, Any]]:
    previous = job.previous or {}
    now = int(time.time())
    failed = {":s": JobState.FAILED.value, ":tiling": JobState.TILING.value, ":now": now,
              ":g": f"JOBS#{JobState.FAILED.value}", ":gs": f"{now:012d}#{job.job_id}", ":r": reason}
    shown = {name: previous[name] for name in SHOWN if previous.get(name) not in (None, "")}
    document = {**shown, "job_id": previous["job_id"], "pages_done": previous["page_count"],
                "status": DocumentStatus.READY.value, "reason": reason, "reason_code": code,
                "refused_version_id": job.version_id, "updated_at": now}
    items: list[dict[str, Any]] = [
        {"Update": {"TableName": table, "Key": to_item(job_key(job.document_id, job.job_id)),
                    "UpdateExpression": "SET #st = :s, finished_at = :now, updated_at = :now, gsi2pk = :g,"
                                        " gsi2sk = :gs, reason = :r",
                    "ConditionExpression": "#st = :tiling", "ExpressionAttributeNames": {"#st": "state"},
                    "ExpressionAttributeValues": to_item(failed)}},
        {"Update": {"TableName": table, "Key": to_item(doc_key(job.workspace_id, job.document_id)),
                    "UpdateExpression": "SET " + ", ".join(f"#{k} = :{k}" for k in document),
                    "ConditionExpression": "#job_id = :failed_job",
                    "ExpressionAttributeNames": {f"#{k}": k for k in document},
                    "ExpressionAttributeValues": to_item({**{f":{k}": v for k, v in document.items()},
                                                          ":failed_job": job.job_id})}},
        {"ConditionCheck": {"TableName": table, "Key": to_item(job_key(job.document_id, previous["job_id"])),
                            "ConditionExpression": "#st = :ready", "ExpressionAttributeNames": {"#st": "state"},
                            "ExpressionAttributeValues": to_item({":ready": JobState.READY.value})}},
    ]
    if account_id:
        items.append(give_back(table, account_id, job))
    return items
