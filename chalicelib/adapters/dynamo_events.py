"""The event log in the events table.

Base table: pk DAY#<date>, sk <ms>#<id> (platform-wide, by time). gsi1: ACC#<account> (an account's log),
gsi2: WS#<workspace>, gsi3: USER#<user>. Items carry expires_at for DynamoDB TTL, but reads also filter on
it (TTL deletes up to days late, and never in the emulator) and `purge_expired` deletes them itself.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo_items import batch_delete, query_page, to_item
from chalicelib.domain.events import Event, EventQuery
from chalicelib.domain.paging import Page

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


MAX_DAYS_PER_PAGE = 31
# Reads of one index a page may make: each reads at most the items still missing, so a narrow filter (a type, a
# user) over a busy workspace fills its page in a few reads instead of answering empty pages with a cursor.
MAX_READS_PER_PAGE = 10


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


class DynamoEventLog:
    def __init__(self, client: DynamoDBClient, table: str, retention_days: int) -> None:
        self._client = client
        self._table = table
        self._retention_s = retention_days * 86400

    def append(self, event: Event) -> None:
        sk = f"{event.at_ms:013d}#{event.event_id}"
        item: dict[str, Any] = {"pk": f"DAY#{_day(event.at_ms)}", "sk": sk, **event.to_dict(),
                                "expires_at": event.at_ms // 1000 + self._retention_s}
        if event.account_id:
            item.update(gsi1pk=f"ACC#{event.account_id}", gsi1sk=sk)
        if event.workspace_id:
            item.update(gsi2pk=f"WS#{event.workspace_id}", gsi2sk=sk)
        if event.user_id:
            item.update(gsi3pk=f"USER#{event.user_id}", gsi3sk=sk)
        self._client.put_item(TableName=self._table, Item=to_item(item))

    def query(self, q: EventQuery, limit: int, start: dict[str, Any] | None) -> Page[Event]:
        filters = ["expires_at > :now"]
        values: dict[str, Any] = {":now": int(time.time()), ":lo": f"{q.since_ms:013d}",
                                  ":hi": f"{q.until_ms:013d}~"}
        names: dict[str, str] = {}
        if q.type:
            names["#t"] = "type"
            values[":t"] = q.type
            filters.append("begins_with(#t, :t)" if q.type.endswith(".") else "#t = :t")
        if q.account_id and (q.workspace_id or q.user_id):
            values[":acc"] = q.account_id
            filters.append("account_id = :acc")  # an index by workspace or user, scoped to the tenant
        if q.workspace_id and q.user_id:
            values[":u"] = q.user_id
            filters.append("user_id = :u")
        if q.workspace_id:
            index, partition = "gsi2", f"WS#{q.workspace_id}"
        elif q.user_id:
            index, partition = "gsi3", f"USER#{q.user_id}"
        elif q.account_id:
            index, partition = "gsi1", f"ACC#{q.account_id}"
        else:
            return self._query_by_days(q, limit, start, filters, values, names)
        kwargs: dict[str, Any] = {
            "TableName": self._table, "IndexName": index, "ScanIndexForward": False,
            "KeyConditionExpression": f"{index}pk = :p AND {index}sk BETWEEN :lo AND :hi",
            "FilterExpression": " AND ".join(filters),
            "ExpressionAttributeValues": to_item({**values, ":p": partition})}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        events: list[Event] = []
        nxt = start
        for _ in range(MAX_READS_PER_PAGE):
            rows, nxt = query_page(self._client, limit - len(events), nxt, **kwargs)
            events.extend(_event(r) for r in rows)
            if nxt is None or len(events) >= limit:
                break
        return Page(events, nxt)

    def _query_by_days(self, q: EventQuery, limit: int, start: dict[str, Any] | None, filters: list[str],
                       values: dict[str, Any], names: dict[str, str]) -> Page[Event]:
        """Platform-wide: walk the day partitions newest first; the cursor remembers the day."""
        day = (start or {}).get("day") or _day(q.until_ms)
        key = (start or {}).get("key")
        first_day = _day(q.since_ms)
        events: list[Event] = []
        budget = MAX_DAYS_PER_PAGE  # a page never walks so many partitions that it nears API Gateway's 29 s
        while day >= first_day and len(events) < limit and budget > 0:
            kwargs: dict[str, Any] = {
                "TableName": self._table, "ScanIndexForward": False,
                "KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
                "FilterExpression": " AND ".join(filters),
                "ExpressionAttributeValues": to_item({**values, ":p": f"DAY#{day}"})}
            if names:
                kwargs["ExpressionAttributeNames"] = names
            rows, key = query_page(self._client, limit - len(events), key, **kwargs)
            events.extend(_event(r) for r in rows)
            if key is None:
                day = (datetime.strptime(day, "%Y-%m-%d") - timedelta(days=1)).strftime("%Y-%m-%d")
                budget -= 1
        more = day >= first_day
        return Page(events, {"day": day, "key": key} if more else None)

    def purge_expired(self, now: float, lookback_days: int = 14) -> int:
        """Delete every expired event in the day partitions that can hold one; returns how many."""
        cutoff = datetime.fromtimestamp(now - self._retention_s, UTC)
        deleted = 0
        for back in range(lookback_days + 1):
            day = (cutoff - timedelta(days=back)).strftime("%Y-%m-%d")
            key: dict[str, Any] | None = None
            while True:
                rows, key = query_page(self._client, 100, key, TableName=self._table,
                                       KeyConditionExpression="pk = :p", FilterExpression="expires_at <= :now",
                                       ProjectionExpression="pk, sk",
                                       ExpressionAttributeValues=to_item({":p": f"DAY#{day}", ":now": int(now)}))
                batch_delete(self._client, self._table, [{"pk": r["pk"], "sk": r["sk"]} for r in rows])
                deleted += len(rows)
                if not key:
                    break
        return deleted


def _event(row: dict[str, Any]) -> Event:
    return Event(type=row["type"], account_id=row.get("account_id", ""), workspace_id=row.get("workspace_id", ""),
                 user_id=row.get("user_id", ""), actor_id=row.get("actor_id", ""), detail=row.get("detail") or {},
                 at_ms=int(row["at_ms"]), event_id=row["event_id"])
