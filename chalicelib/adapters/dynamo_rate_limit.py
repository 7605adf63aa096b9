"""A per-caller request budget: one atomic counter per caller and minute in the main table
(pk RATE#<caller>, sk <minute>), refused past the limit, expired by TTL."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from chalicelib.adapters.dynamo_items import to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoRateLimiter:
    def __init__(self, client: DynamoDBClient, table: str, per_minute: int) -> None:
        self._client = client
        self._table = table
        self._limit = per_minute

    def allow(self, caller: str, now: float | None = None) -> int | None:
        """None when the request may go ahead; else the seconds until the next window."""
        now = time.time() if now is None else now
        minute = int(now // 60)
        try:
            self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"RATE#{caller}", "sk": str(minute)}),
                UpdateExpression="ADD n :one SET expires_at = :exp",
                ConditionExpression="attribute_not_exists(n) OR n < :limit",
                ExpressionAttributeValues=to_item({":one": 1, ":limit": self._limit, ":exp": minute * 60 + 180}))
        except self._client.exceptions.ConditionalCheckFailedException:
            return max(1, (minute + 1) * 60 - int(now))
        return None
