"""A workspace's audience version in the ops table: the `joins` attribute of the item at seq 0 of
`WS#<workspace>` (dynamo_oplog.py), counted up each time the workspace's connections change (a join, a connect
into it, a leave, a sweep; services/audience.py says why).

Apart from the op log so that the `$connect` function, which counts a connection opened in a workspace, is
granted this one UpdateItem and none of the op log's writes (tests/unit/test_policies.py derives each function's
policy from the adapter classes it builds). The attribute keeps its first name: the items of every deployed
workspace carry it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.adapters.dynamo_items import to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoAudienceCounter:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def note_audience_change(self, workspace_id: str) -> None:
        self._client.update_item(TableName=self._table, Key=to_item({"pk": f"WS#{workspace_id}", "seq": 0}),
                                 UpdateExpression="ADD joins :one", ExpressionAttributeValues=to_item({":one": 1}))
