"""A workspace's audience version in the ops table: the `joins` attribute of the item at seq 0 of
`WS#<workspace>` (dynamo_oplog.py), counted up each time the workspace's connections change (a join, a connect
into it, a leave, a sweep; services/audience.py says why).

Apart from the op log so that the `$connect` function, which counts a connection opened in a workspace, is
granted this one UpdateItem and none of the op log's writes (tests/unit/test_policies.py derives each function's
policy from the adapter classes it builds). The attribute keeps its first name: the items of every deployed
workspace carry it.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo_items import to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


ATTEMPTS = 5
# Every op's transaction checks this item, and a plain write to an item an open transaction holds is refused
# with TransactionConflictException, which boto3's standard retries leave alone. A count that is lost after
# its connection moved lets warm instances send to that connection a while longer (services/audience.py).
CONFLICTS = frozenset({"TransactionConflictException", "TransactionInProgressException"})


class DynamoAudienceCounter:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def note_audience_change(self, workspace_id: str) -> None:
        for attempt in range(ATTEMPTS):
            try:
                self._client.update_item(TableName=self._table,
                                         Key=to_item({"pk": f"WS#{workspace_id}", "seq": 0}),
                                         UpdateExpression="ADD joins :one",
                                         ExpressionAttributeValues=to_item({":one": 1}))
                return
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in CONFLICTS or attempt == ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0.005, 0.02) * 2**attempt)  # noqa: S311 (jitter, not a secret)
