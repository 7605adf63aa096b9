"""Pages reserved when a job is admitted, as items of a DynamoDB transaction (dynamo_documents.py).

The month's usage item (`ACCOUNT#<id>` / `USAGE#<YYYY-MM>`) counts `pages_admitted`: every page of every job
admitted that month, whether tiled yet or not. The admission adds the job's pages only while the total stays
within the plan (`pages_admitted <= limit - pages`; DynamoDB conditions cannot add, so the limit side is
computed here); a failed job gives its pages back to the month that admitted them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo_items import from_item, to_item
from chalicelib.adapters.dynamo_usage import period_of
from chalicelib.domain.documents import Job, PagesRefused

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _month_key(account_id: str, job: Job) -> Any:
    return to_item({"pk": f"ACCOUNT#{account_id}", "sk": f"USAGE#{period_of(job.created_at)}"})


def admission(client: DynamoDBClient, table: str, account_id: str, job: Job, limit: int | None) -> dict[str, Any]:
    """The transaction item that admits `job`'s pages; PagesRefused at once when they cannot fit."""
    key = _month_key(account_id, job)
    found = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    month = from_item(found) if found else {}
    # A month that began before pages were reserved starts from what it processed.
    base = int(month.get("pages_admitted", month.get("pages_processed", 0)))
    if limit is not None and base + job.page_count > limit:
        raise PagesRefused(job.page_count)
    values = {":base": base, ":n": job.page_count}
    update: dict[str, Any] = {"TableName": table, "Key": key,
                              "UpdateExpression": "SET pages_admitted = if_not_exists(pages_admitted, :base) + :n"}
    if limit is not None:
        update["ConditionExpression"] = "attribute_not_exists(pages_admitted) OR pages_admitted <= :room"
        values[":room"] = limit - job.page_count
    update["ExpressionAttributeValues"] = to_item(values)
    return {"Update": update}


def give_back(table: str, account_id: str, job: Job) -> dict[str, Any]:
    """The transaction item that returns a failed job's pages."""
    return {"Update": {"TableName": table, "Key": _month_key(account_id, job),
                       "UpdateExpression": "ADD pages_admitted :minus",
                       "ExpressionAttributeValues": to_item({":minus": -job.page_count})}}
