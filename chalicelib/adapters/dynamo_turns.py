"""Turns in the main table (pk TURN#<subject>, sk TURN): a conditional update takes a subject's turn when nobody
holds it or its holder's time is up, and the holder gives it back. DynamoDB applies each conditional write
atomically, so two functions never hold one subject's turn at once (until a holder overstays its time: its
caller must stop acting on the turn by then). Left-over items expire by TTL."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo_items import to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _key(subject: str) -> dict[str, Any]:
    return to_item({"pk": f"TURN#{subject}", "sk": "TURN"})


class DynamoTurns:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def take(self, subject: str, holder: str, hold_s: float) -> float | None:
        now = time.time()
        until = now + hold_s
        try:
            self._client.update_item(
                TableName=self._table, Key=_key(subject),
                UpdateExpression="SET holder = :h, until_ms = :until, expires_at = :exp",
                ConditionExpression="attribute_not_exists(until_ms) OR until_ms < :now",
                ExpressionAttributeValues=to_item({":h": holder, ":until": int(until * 1000),
                                                   ":now": int(now * 1000), ":exp": int(until) + 3600}))
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return until

    def give_back(self, subject: str, holder: str) -> None:
        """Only the holder's own turn: one that overstayed and was taken since is left to its new holder."""
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(TableName=self._table, Key=_key(subject), UpdateExpression="REMOVE until_ms",
                                     ConditionExpression="holder = :h",
                                     ExpressionAttributeValues=to_item({":h": holder}))
