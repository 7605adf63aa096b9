"""UploadLog in the main table: one item per object version seen in the documents bucket.

Recording a version and metering its bytes for the owning account happen in one transaction: a redelivered
notification neither counts twice nor, if metering failed, loses the count. A document's source must also
settle a reservation made when its upload was granted (dynamo_storage.py), in that same transaction: the
reservation is deleted, its bytes move from reserved to stored. A version that finds no reservation (a grant
URL used twice, an upload after its grant expired and was released) is recorded as refused and counts nothing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo_items import from_item, query_page, to_item
from chalicelib.adapters.dynamo_storage import reservation_prefix
from chalicelib.adapters.dynamo_usage import TOTAL_SK, period_of
from chalicelib.upload_ports import Receipt

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ATTEMPTS = 6  # reservations another notification took meanwhile, tried past before giving up


class DynamoUploadLog:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def record(self, bucket: str, key: str, version_id: str, size: int, etag: str,
               account_id: str | None = None, reserved: bool = False) -> Receipt:
        now = int(time.time())
        version = {"pk": f"OBJECT#{bucket}/{key}", "sk": f"VERSION#{version_id}", "bucket": bucket, "key": key,
                   "version_id": version_id, "size": size, "etag": etag, "received_at": now,
                   "account_id": account_id}
        if not account_id:
            return self._put(version, [])
        if not reserved:
            stored = {"bytes_stored": size, "bytes_committed": size}
            return self._put(version, self._meter(account_id, now, size, stored))
        for _ in range(ATTEMPTS):
            found = self._reservation(account_id, key, size)
            if found is None:
                return self._put({**version, "refused": "no_reservation"}, [], refused=True)
            held = int(found["size"])
            settle = {"Delete": {"TableName": self._table, "ConditionExpression": "attribute_exists(pk)",
                                 "Key": to_item({"pk": found["pk"], "sk": found["sk"]})}}
            receipt = self._put({**version, "upload_id": found.get("upload_id"),
                                 "granted_to": found.get("granted_to")}, [settle, *self._meter(
                account_id, now, size, {"bytes_stored": size, "bytes_reserved": -held,
                                        "bytes_committed": size - held, "reservation_changes": 1})])
            if receipt is not Receipt.RETRY:
                return receipt
        return self._put({**version, "refused": "no_reservation"}, [], refused=True)

    def _reservation(self, account_id: str, key: str, size: int) -> dict[str, Any] | None:
        """The reservation this version settles: one at least its size (a presigned PUT is signed for the
        granted length; a multipart upload may be smaller), the closest fit and then the oldest first."""
        items, _ = query_page(self._client, 100, None, TableName=self._table, ConsistentRead=True,
                              KeyConditionExpression="pk = :pk AND begins_with(sk, :r)",
                              ExpressionAttributeValues=to_item({":pk": f"ACCOUNT#{account_id}",
                                                                 ":r": reservation_prefix(key)}))
        fitting = [i for i in items if int(i.get("size", 0)) >= size]
        return min(fitting, key=lambda i: (int(i["size"]), int(i.get("created_at", 0))), default=None)

    def _meter(self, account_id: str, now: int, size: int, totals: dict[str, int]) -> list[dict[str, Any]]:
        names = {f"#t{i}": name for i, name in enumerate(totals)}
        values = {f":t{i}": value for i, value in enumerate(totals.values())}
        return [
            {"Update": {"TableName": self._table, "Key": to_item({"pk": f"ACCOUNT#{account_id}",
                                                                  "sk": f"USAGE#{period_of(now)}"}),
                        "UpdateExpression": "ADD bytes_uploaded :size",
                        "ExpressionAttributeValues": to_item({":size": size})}},
            {"Update": {"TableName": self._table, "Key": to_item({"pk": f"ACCOUNT#{account_id}", "sk": TOTAL_SK}),
                        "UpdateExpression": "ADD " + ", ".join(f"{n} {v}" for n, v in zip(names, values, strict=True)),
                        "ExpressionAttributeNames": names, "ExpressionAttributeValues": to_item(values)}}]

    def _put(self, version: dict[str, Any], also: list[dict[str, Any]], refused: bool = False) -> Receipt:
        # SQS delivers at least once: a redelivered notification must not count twice.
        items: list[Any] = [{"Put": {"TableName": self._table, "Item": to_item(version),
                                     "ConditionExpression": "attribute_not_exists(pk)"}}, *also]
        try:
            self._client.transact_write_items(TransactItems=items)
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return self._seen(version)
            if len(reasons) > 1 and reasons[1].get("Code") == "ConditionalCheckFailed":
                return Receipt.RETRY  # another version settled that reservation first
            raise
        return Receipt.REFUSED if refused else Receipt.RECORDED

    def accepted(self, bucket: str, key: str, version_id: str) -> bool:
        item = self._client.get_item(TableName=self._table, ConsistentRead=True, Key=to_item(
            {"pk": f"OBJECT#{bucket}/{key}", "sk": f"VERSION#{version_id}"})).get("Item")
        return item is not None and not from_item(item).get("refused")

    def uploader(self, bucket: str, key: str, version_id: str) -> str | None:
        item = self._client.get_item(TableName=self._table, ConsistentRead=True, ProjectionExpression="granted_to",
                                     Key=to_item({"pk": f"OBJECT#{bucket}/{key}", "sk": f"VERSION#{version_id}"}))
        granted_to = from_item(item.get("Item") or {}).get("granted_to")
        return str(granted_to) if granted_to else None

    def _seen(self, version: dict[str, Any]) -> Receipt:
        item = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                     Key=to_item({"pk": version["pk"], "sk": version["sk"]})).get("Item")
        return Receipt.REFUSED_BEFORE if item and from_item(item).get("refused") else Receipt.DUPLICATE
