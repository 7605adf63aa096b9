"""A per-caller request budget: one atomic counter per caller and minute in the main table
(pk RATE#<caller>, sk <minute>), refused past the limit, expired by TTL."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from chalicelib.adapters.dynamo_items import from_item, to_item
from chalicelib.port_types import WindowCount

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoRateLimiter:
    def __init__(self, client: DynamoDBClient, table: str, per_minute: int) -> None:
        self._client = client
        self._table = table
        self.limit = per_minute

    def allow(self, caller: str, now: float | None = None) -> int | None:
        """None when the request may go ahead; else the seconds until the next window."""
        return self.hit(caller, now).retry_after

    def hit(self, caller: str, now: float | None = None, kind: str | None = None) -> WindowCount:
        """Count one request in the caller's current minute: how many there have been, this one included; past
        the limit the request is refused and not counted (`retry_after` says when the next window opens). A
        `kind` is counted in the same item and write (attribute `kind:<kind>`), so the caller's count and the
        kind's are one snapshot, however many requests race."""
        now = time.time() if now is None else now
        minute = int(now // 60)
        attribute = f"kind:{kind}"
        names = {"#n": "n", **({"#k": attribute} if kind is not None else {})}  # never empty: DynamoDB refuses {}
        try:
            answer = self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"RATE#{caller}", "sk": str(minute)}),
                UpdateExpression="ADD #n :one" + (", #k :one" if kind is not None else "") + " SET expires_at = :exp",
                ConditionExpression="attribute_not_exists(#n) OR #n < :limit",
                ExpressionAttributeValues=to_item({":one": 1, ":limit": self.limit, ":exp": minute * 60 + 180}),
                ExpressionAttributeNames=names, ReturnValues="UPDATED_NEW")
        except self._client.exceptions.ConditionalCheckFailedException:
            return WindowCount(self.limit, minute * 60, max(1, (minute + 1) * 60 - int(now)))
        counted = from_item(answer.get("Attributes", {}))
        return WindowCount(int(counted.get("n", 1)), minute * 60, None,
                           int(counted.get(attribute, 0)) if kind is not None else 0)
