"""Usage per account in the main table, every change an atomic ADD so concurrent functions never lose one:
flows per month (pk ACCOUNT#<id>, sk USAGE#<YYYY-MM>: what was uploaded, processed, routed, connected) and
levels as running totals (sk USAGE#TOTAL: bytes stored now), which storage quotas are checked against."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from chalicelib.adapters.dynamo_items import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

COUNTERS = ("bytes_uploaded", "documents", "pages_admitted", "pages_processed", "messages_routed", "connection_seconds")
TOTALS = ("bytes_stored",)
TOTAL_SK = "USAGE#TOTAL"


def period_of(epoch_s: float) -> str:
    return time.strftime("%Y-%m", time.gmtime(epoch_s))


class DynamoUsageMeter:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def add(self, account_id: str, counters: dict[str, int], at: float | None = None) -> None:
        deltas = {k: v for k, v in counters.items() if v}
        if not account_id or not deltas:
            return
        unknown = set(deltas) - set(COUNTERS)
        if unknown:
            raise ValueError(f"unknown usage counters {sorted(unknown)}")
        period = period_of(at if at is not None else time.time())
        names = {f"#c{i}": name for i, name in enumerate(deltas)}
        values = {f":v{i}": value for i, value in enumerate(deltas.values())}
        self._client.update_item(
            TableName=self._table, Key=to_item({"pk": f"ACCOUNT#{account_id}", "sk": f"USAGE#{period}"}),
            UpdateExpression="ADD " + ", ".join(f"#c{i} :v{i}" for i in range(len(deltas))),
            ExpressionAttributeNames=names, ExpressionAttributeValues=to_item(values))

    def this_month(self, account_id: str) -> dict[str, int]:
        return self.read(account_id, period_of(time.time()))

    def read(self, account_id: str, period: str) -> dict[str, int]:
        return self._read(account_id, f"USAGE#{period}", COUNTERS)

    def totals(self, account_id: str) -> dict[str, int]:
        return self._read(account_id, TOTAL_SK, TOTALS)

    def _read(self, account_id: str, sk: str, names: tuple[str, ...]) -> dict[str, int]:
        item = self._client.get_item(TableName=self._table, ConsistentRead=True, Key=to_item(
            {"pk": f"ACCOUNT#{account_id}", "sk": sk})).get("Item")
        values = from_item(item) if item else {}
        return {name: int(values.get(name, 0)) for name in names}
