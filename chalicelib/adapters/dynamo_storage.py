"""Storage quotas as reservations, in the main table next to the usage totals (dynamo_usage.py).

The account's `USAGE#TOTAL` item keeps three levels: `bytes_stored` (object versions received),
`bytes_reserved` (granted uploads not yet received) and `bytes_committed`, their sum. DynamoDB conditions
cannot add two attributes, so the sum is kept as its own attribute and every change moves it in the same write;
a grant is one transaction that adds its size to `bytes_committed` only while the result stays within the plan
(`bytes_committed <= limit - size`) and puts the reservation item (`RESERVED#<key>#<upload id>`). However many
grants race, the account never commits more than its plan.

Receiving the upload settles the reservation (dynamo_uploads.py); aborting it or letting it expire releases
it. A removed document gives its versions' bytes back, each version once. A reservation's expiry is
`reserved_until`, not the table's TTL attribute (`expires_at`): DynamoDB deleting an expired reservation would
skip the release, and its bytes would stay reserved for good. Reservations written before that change carry
`expires_at` (and may meet that fate); the release reads either.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo_items import from_item, query_page, to_item
from chalicelib.adapters.dynamo_usage import TOTAL_SK
from chalicelib.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def reservation_prefix(key: str) -> str:
    return f"RESERVED#{key}#"


class DynamoStorageLedger:
    def __init__(self, client: DynamoDBClient, table: str, bucket: str) -> None:
        self._client = client
        self._table = table
        self._bucket = bucket

    def totals(self, account_id: str) -> dict[str, int]:
        values = self._total(account_id)
        stored, reserved = int(values.get("bytes_stored", 0)), int(values.get("bytes_reserved", 0))
        return {"bytes_stored": stored, "bytes_reserved": reserved,
                "bytes_committed": int(values.get("bytes_committed", stored + reserved))}

    def _total(self, account_id: str) -> dict[str, Any]:
        item = self._client.get_item(TableName=self._table, ConsistentRead=True, Key=self._total_key(account_id)
                                     ).get("Item")
        return from_item(item) if item else {}

    def reserve(self, account_id: str, key: str, upload_id: str, size: int, limit: int | None,
                expires_at: int, granted_to: str = "") -> bool:
        """False when the plan has no room for `size` more bytes."""
        # Accounts from before reservations have no `bytes_committed` yet: it starts from what they hold.
        base = self.totals(account_id)
        if limit is not None and base["bytes_committed"] + size > limit:
            return False
        update: dict[str, Any] = {
            "TableName": self._table, "Key": self._total_key(account_id),
            "UpdateExpression": "SET bytes_committed = if_not_exists(bytes_committed, :base) + :size "
                                "ADD bytes_reserved :size, reservation_changes :one",
            "ExpressionAttributeValues": to_item({":base": base["bytes_committed"], ":size": size, ":one": 1})}
        if limit is not None:
            update["ConditionExpression"] = "attribute_not_exists(bytes_committed) OR bytes_committed <= :room"
            update["ExpressionAttributeValues"] = to_item({":base": base["bytes_committed"], ":size": size,
                                                           ":room": limit - size, ":one": 1})
        try:
            self._client.transact_write_items(TransactItems=[
                {"Update": update},  # type: ignore[typeddict-item]
                {"Put": {"TableName": self._table, "ConditionExpression": "attribute_not_exists(pk)",
                         "Item": to_item({"pk": f"ACCOUNT#{account_id}",
                                          "sk": reservation_prefix(key) + upload_id, "key": key, "size": size,
                                          "upload_id": upload_id, "reserved_until": expires_at,
                                          "granted_to": granted_to or None, "created_at": int(time.time())})}}])
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                return False
            raise
        return True

    def holds(self, account_id: str, key: str, upload_id: str) -> bool:
        return "Item" in self._client.get_item(TableName=self._table, ConsistentRead=True, Key=to_item(
            {"pk": f"ACCOUNT#{account_id}", "sk": reservation_prefix(key) + upload_id}))

    def held(self, account_id: str, key: str) -> int:
        return sum(1 for _ in self._query(f"ACCOUNT#{account_id}", reservation_prefix(key)))

    def extend(self, account_id: str, key: str, upload_id: str, expires_at: int) -> bool:
        """A resumed upload keeps its room; False when the reservation is gone (expired or settled)."""
        try:
            self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"ACCOUNT#{account_id}",
                                                    "sk": reservation_prefix(key) + upload_id}),
                UpdateExpression="SET reserved_until = :e", ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_item({":e": expires_at}))
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def release(self, account_id: str, key: str, upload_id: str, size: int) -> bool:
        """Give a reservation's bytes back, once: False when it was settled or released already."""
        try:
            self._client.transact_write_items(TransactItems=[
                {"Delete": {"TableName": self._table, "ConditionExpression": "attribute_exists(pk)",
                            "Key": to_item({"pk": f"ACCOUNT#{account_id}",
                                            "sk": reservation_prefix(key) + upload_id})}},
                {"Update": {"TableName": self._table, "Key": self._total_key(account_id),
                            "UpdateExpression": "ADD bytes_reserved :minus, bytes_committed :minus, "
                                                "reservation_changes :one",
                            "ExpressionAttributeValues": to_item({":minus": -size, ":one": 1})}}])
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def revoke(self, account_id: str, granted_to: str, key_prefix: str = "") -> list[str]:
        revoked: list[str] = []
        for item in self._query(f"ACCOUNT#{account_id}", reservation_prefix(key_prefix)[:-1]):
            if item.get("granted_to") == granted_to and self.release(account_id, str(item["key"]),
                                                                     str(item["upload_id"]), int(item["size"])):
                revoked.append(str(item["key"]))
        return revoked

    def release_expired(self, account_id: str, now: int | None = None) -> int:
        """Reservations whose upload can no longer arrive: their room goes back to the account."""
        now = int(time.time()) if now is None else now
        before = self._total(account_id)  # read before the reservations: see _repair
        released = held = 0
        for item in self._query(f"ACCOUNT#{account_id}", "RESERVED#"):
            if int(item.get("reserved_until", item.get("expires_at", 0))) < now:  # expires_at: before 2026-11-30
                released += self.release(account_id, str(item["key"]), str(item["upload_id"]), int(item["size"]))
            else:
                held += int(item["size"])
        if not released and int(before.get("bytes_reserved", 0)) > held:
            self._repair(account_id, before, held)
        return released

    def open_until(self, account_id: str) -> int | None:
        ends = [int(item.get("reserved_until", item.get("expires_at", 0)))
                for item in self._query(f"ACCOUNT#{account_id}", "RESERVED#")]
        return max(ends) if ends else None

    def _repair(self, account_id: str, before: dict[str, Any], held: int) -> None:
        """Bytes reserved that no reservation holds: reservations the table's TTL deleted unreleased (before
        they kept their expiry apart from it). Every reservation is written or removed together with its bytes
        and one more `reservation_changes`, in one transaction; so if that count is still the one read before
        the reservations were listed, the listed ones are all there are, and what the total holds beyond them
        is lost. Any grant, upload or release since fails the write, and the next call repairs."""
        seen = int(before["bytes_reserved"])
        lost, changes = seen - held, before.get("reservation_changes")
        base = int(before.get("bytes_committed", int(before.get("bytes_stored", 0)) + seen))
        values: dict[str, Any] = {":held": held, ":lost": lost, ":seen": seen, ":base": base}
        unchanged = "attribute_not_exists(reservation_changes)"
        if changes is not None:
            unchanged, values[":changes"] = "reservation_changes = :changes", int(changes)
        try:
            self._client.update_item(
                TableName=self._table, Key=self._total_key(account_id),
                UpdateExpression="SET bytes_reserved = :held, "
                                 "bytes_committed = if_not_exists(bytes_committed, :base) - :lost",
                ConditionExpression=f"bytes_reserved = :seen AND {unchanged}",
                ExpressionAttributeValues=to_item(values))
        except self._client.exceptions.ConditionalCheckFailedException:
            return
        logger.warning("reserved bytes no reservation held were given back",
                       extra={"account": account_id, "bytes": lost})

    def give_back(self, account_id: str, key: str) -> int:
        """The bytes of every received version of `key`, given back to the account (a removed document): each
        version once, however often this runs; its open reservations are released too, so an upload still
        to come is refused. Returns the bytes of versions given back now."""
        for held in self._query(f"ACCOUNT#{account_id}", reservation_prefix(key)):  # uploads still to come
            self.release(account_id, key, str(held["upload_id"]), int(held["size"]))
        base = self.totals(account_id)["bytes_committed"]
        given = 0
        for item in self._query(f"OBJECT#{self._bucket}/{key}", "VERSION#"):
            if not (item.get("refused") or item.get("given_back")) and item.get("account_id") == account_id:
                given += self._give_back_version(account_id, item, base)
        return given

    def _give_back_version(self, account_id: str, version: dict[str, Any], base: int) -> int:
        size = int(version.get("size", 0))
        try:
            self._client.transact_write_items(TransactItems=[
                {"Update": {"TableName": self._table, "Key": to_item({"pk": version["pk"], "sk": version["sk"]}),
                            "UpdateExpression": "SET given_back = :t",
                            "ConditionExpression": "attribute_not_exists(given_back)",
                            "ExpressionAttributeValues": to_item({":t": int(time.time())})}},
                {"Update": {"TableName": self._table, "Key": self._total_key(account_id),
                            "UpdateExpression": "SET bytes_committed = if_not_exists(bytes_committed, :base) - :s "
                                                "ADD bytes_stored :minus",
                            "ExpressionAttributeValues": to_item({":base": base, ":s": size, ":minus": -size})}}])
        except self._client.exceptions.TransactionCanceledException:
            return 0  # given back already (another removal's run)
        return size

    def _query(self, pk: str, sk_prefix: str) -> Iterator[dict[str, Any]]:
        start: dict[str, Any] | None = None
        while True:
            items, start = query_page(self._client, 100, start, TableName=self._table, ConsistentRead=True,
                                      KeyConditionExpression="pk = :pk AND begins_with(sk, :p)",
                                      ExpressionAttributeValues=to_item({":pk": pk, ":p": sk_prefix}))
            yield from items
            if not start:
                return

    @staticmethod
    def _total_key(account_id: str) -> Any:
        return to_item({"pk": f"ACCOUNT#{account_id}", "sk": TOTAL_SK})
