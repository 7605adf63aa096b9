"""ConnectionStore in the connections table: one row per open websocket connection."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# API Gateway closes any connection after 2 hours; a row older than that is certainly dead.
CONNECTION_ROW_TTL_SECONDS = 2 * 3600 + 600


class DynamoConnectionStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def put(self, connection_id: str, user_id: str, attributes: Mapping[str, str]) -> None:
        now = int(time.time())
        item = {
            "pk": {"S": f"CONN#{connection_id}"},
            "sk": {"S": "CONN"},
            "gsi1pk": {"S": f"USER#{user_id}"},
            "gsi1sk": {"S": f"CONN#{connection_id}"},
            "connection_id": {"S": connection_id},
            "user_id": {"S": user_id},
            "connected_at": {"N": str(now)},
            "expires_at": {"N": str(now + CONNECTION_ROW_TTL_SECONDS)},
        }
        for name, value in attributes.items():
            item[name] = {"S": value}
        self._client.put_item(TableName=self._table, Item=item)

    def delete(self, connection_id: str) -> None:
        self._client.delete_item(
            TableName=self._table, Key={"pk": {"S": f"CONN#{connection_id}"}, "sk": {"S": "CONN"}}
        )
