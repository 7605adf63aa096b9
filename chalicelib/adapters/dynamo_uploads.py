"""UploadLog in the main table: one item per object version seen in the documents bucket.

Recording a version and metering its bytes for the owning account happen in one transaction: a redelivered
notification neither counts twice nor, if metering failed, loses the count.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo_items import to_item
from chalicelib.adapters.dynamo_usage import TOTAL_SK, period_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoUploadLog:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def record(self, bucket: str, key: str, version_id: str, size: int, etag: str,
               account_id: str | None = None) -> bool:
        now = int(time.time())
        items: list[dict[str, Any]] = [{"Put": {
            "TableName": self._table,
            "Item": to_item({"pk": f"OBJECT#{bucket}/{key}", "sk": f"VERSION#{version_id}", "bucket": bucket,
                             "key": key, "version_id": version_id, "size": size, "etag": etag,
                             "received_at": now, "account_id": account_id}),
            # SQS delivers at least once: a redelivered notification must not count twice.
            "ConditionExpression": "attribute_not_exists(pk)"}}]
        if account_id:
            for sk, counter in ((f"USAGE#{period_of(now)}", "bytes_uploaded"), (TOTAL_SK, "bytes_stored")):
                items.append({"Update": {
                    "TableName": self._table, "Key": to_item({"pk": f"ACCOUNT#{account_id}", "sk": sk}),
                    "UpdateExpression": f"ADD {counter} :size", "ExpressionAttributeValues": to_item({":size": size})}})
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True
