"""UploadLog in the main table: one item per object version seen in the documents bucket."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoUploadLog:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def record(self, bucket: str, key: str, version_id: str, size: int, etag: str) -> bool:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"OBJECT#{bucket}/{key}"},
                    "sk": {"S": f"VERSION#{version_id}"},
                    "bucket": {"S": bucket},
                    "key": {"S": key},
                    "version_id": {"S": version_id},
                    "size": {"N": str(size)},
                    "etag": {"S": etag},
                    "received_at": {"N": str(int(time.time()))},
                },
                # SQS delivers at least once: a redelivered notification must not count twice.
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True
