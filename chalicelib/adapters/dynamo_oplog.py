"""The workspace op log in the ops table: pk WS#<workspace>, seq N.

The item at seq 0 is the workspace's counter: every op takes the next number from it with one atomic ADD,
then is written at that sequence (conditionally, so nothing is ever overwritten). Two calls per op. The
log is the recovery log: ops are never updated or deleted.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo_items import to_item
from chalicelib.domain.sync import Op

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoOpLog:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def append(self, workspace_id: str, kind: str, by: str, data: dict[str, Any]) -> Op:
        counter = self._client.update_item(
            TableName=self._table, Key=to_item({"pk": f"WS#{workspace_id}", "seq": 0}),
            UpdateExpression="ADD last_seq :one", ExpressionAttributeValues=to_item({":one": 1}),
            ReturnValues="UPDATED_NEW")
        op = Op(int(counter["Attributes"]["last_seq"]["N"]), kind, by, int(time.time() * 1000), data)
        self._client.put_item(
            TableName=self._table, ConditionExpression="attribute_not_exists(seq)",
            Item=to_item({"pk": f"WS#{workspace_id}", "seq": op.seq, "kind": kind, "by": by, "at_ms": op.at_ms,
                          "data": json.dumps(data, separators=(",", ":"))}))
        return op

    def latest(self, workspace_id: str) -> int:
        return self.heads(workspace_id)[0]

    def heads(self, workspace_id: str) -> tuple[int, int]:
        """(latest sequence, sequence of the latest snapshot) from the counter item."""
        item = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                     Key=to_item({"pk": f"WS#{workspace_id}", "seq": 0})).get("Item") or {}
        return int(item.get("last_seq", {}).get("N", 0)), int(item.get("snapshot_seq", {}).get("N", 0))

    def mark_snapshot(self, workspace_id: str, seq: int) -> None:
        """Point at a newer snapshot (never back at an older one, whatever order writers finish in)."""
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"WS#{workspace_id}", "seq": 0}),
                UpdateExpression="SET snapshot_seq = :s",
                ConditionExpression="attribute_not_exists(snapshot_seq) OR snapshot_seq < :s",
                ExpressionAttributeValues=to_item({":s": seq}))

    def after(self, workspace_id: str, after_seq: int, limit: int) -> list[Op]:
        """Ops with a sequence above `after_seq`, in order, at most `limit`."""
        response = self._client.query(
            TableName=self._table, ConsistentRead=True, Limit=limit,
            KeyConditionExpression="pk = :p AND seq > :s",
            ExpressionAttributeValues=to_item({":p": f"WS#{workspace_id}", ":s": max(0, after_seq)}))
        return [Op(int(i["seq"]["N"]), i["kind"]["S"], i["by"]["S"], int(i["at_ms"]["N"]), json.loads(i["data"]["S"]))
                for i in response.get("Items", [])]
