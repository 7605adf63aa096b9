"""The connections table's reads (adapters/dynamo_connections.py says what its items are and writes them).

Which reads are consistent, and why: a workspace's list (`in_workspace`, where its ops and presence go) and a
connection's row before a move (`_row`, which the move's transaction is conditioned on) are read from the table
with ConsistentRead; who is online is the list's connections, with their presence from the index (a presence
change may show a moment late, a join or a leave does not); one user's connections and who follows the event
log are read from the indexes, which may lag a write by a moment (a connection closed at its next heartbeat's
check rather than at once).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo_items import from_item, query_page, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# A connection not heard from for this long counts as gone (clients beat every fifth of it).
STALE_AFTER_SECONDS = 90


class ConnectionLists:
    """The connections table's reads: one connection, a workspace's list, who is online, who follows events."""

    def __init__(self, client: DynamoDBClient, table: str, stale_after_s: int = STALE_AFTER_SECONDS) -> None:
        self._client = client
        self._table = table
        self._stale_after = stale_after_s

    def in_workspace(self, workspace_id: str) -> list[str]:
        """The connections in the workspace, read consistently: one bound before this read is in the list."""
        rows = self._all(KeyConditionExpression="pk = :p AND begins_with(sk, :c)", ConsistentRead=True,
                         values={":p": f"WS#{workspace_id}", ":c": "CONN#"},
                         FilterExpression="expires_at > :now", ProjectionExpression="connection_id")
        return [r["connection_id"] for r in rows]

    def _row(self, connection_id: str) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(row_key(connection_id)),
                                     ConsistentRead=True).get("Item")
        return None if item is None else from_item(item)

    def get(self, connection_id: str) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=to_item(row_key(connection_id))).get("Item")
        return None if item is None else from_item(item)

    def event_subscribers(self, scope: str) -> list[str]:
        rows = self._all(IndexName="gsi1", KeyConditionExpression="gsi1pk = :p", values={":p": f"EVENTS#{scope}"},
                         FilterExpression="expires_at > :now", ProjectionExpression="connection_id")
        return [r["connection_id"] for r in rows]

    def of_user(self, user_id: str, workspace_id: str | None = None) -> list[str]:
        if workspace_id:  # the list (a connection bound a moment ago) and the index (one bound by an older release)
            rows = self._all(KeyConditionExpression="pk = :p AND begins_with(sk, :c)", ConsistentRead=True,
                             values={":p": f"WS#{workspace_id}", ":c": "CONN#", ":u": user_id},
                             FilterExpression="user_id = :u AND expires_at > :now")
            rows += self._all(IndexName="gsi1", KeyConditionExpression="gsi1pk = :p AND begins_with(gsi1sk, :u)",
                              values={":p": f"WS#{workspace_id}", ":u": f"USER#{user_id}#"})
            return sorted({str(r["connection_id"]) for r in rows})
        else:
            rows = self._all(IndexName="gsi2", KeyConditionExpression="gsi2pk = :p", values={":p": f"USER#{user_id}"})
        return [r["connection_id"] for r in rows]

    def online_users(self, workspace_id: str) -> set[str]:
        return {str(r["user_id"]) for r in self.present(workspace_id)}

    def present(self, workspace_id: str) -> list[dict[str, Any]]:
        """The workspace's connections heard from recently enough ($disconnect is best effort). Their rows (for
        presence and last_seen) come from the index; who is in the workspace from its list, read consistently:
        the index may not show a join or a leave for a moment, and a member who joined a moment after another
        (so missed the other's announcement) would not see the other online until the other's presence moved."""
        listed = {str(r["connection_id"]): r.get("user_id") for r in self._all(
            KeyConditionExpression="pk = :p AND begins_with(sk, :c)", ConsistentRead=True,
            values={":p": f"WS#{workspace_id}", ":c": "CONN#"}, FilterExpression="expires_at > :now",
            ProjectionExpression="connection_id, user_id")}
        # A row written by the previous release (no member_of) is in no list until its next heartbeat: the index
        # is all there is to go by for it.
        rows = [r for r in self.members(workspace_id) if r["connection_id"] in listed or "member_of" not in r]
        indexed = {r["connection_id"] for r in rows}
        now = int(time.time())  # joined a moment ago: active, as a join makes a connection
        rows += [{"connection_id": c, "user_id": u, "workspace_id": workspace_id, "last_seen": now}
                 for c, u in listed.items() if c not in indexed and u]
        return [r for r in rows if self._fresh(r)]

    def stale(self, workspace_id: str) -> list[dict[str, Any]]:
        """The workspace's connections not heard from for too long (for the presence sweep)."""
        return [r for r in self.members(workspace_id) if not self._fresh(r)]

    def _fresh(self, row: dict[str, Any]) -> bool:
        return int(row.get("last_seen", row.get("connected_at", 0))) > int(time.time()) - self._stale_after

    def members(self, workspace_id: str) -> list[dict[str, Any]]:
        """Every connection row of the workspace, stale ones included."""
        return self._all(IndexName="gsi1", KeyConditionExpression="gsi1pk = :p",
                         values={":p": f"WS#{workspace_id}"}, FilterExpression="expires_at > :now")

    def _all(self, values: dict[str, Any], **query: Any) -> list[dict[str, Any]]:
        if ":now" in str(query.get("FilterExpression", "")):  # DynamoDB refuses a value no expression uses
            values = {**values, ":now": int(time.time())}
        rows: list[dict[str, Any]] = []
        key: dict[str, Any] | None = None
        while True:
            page, key = query_page(self._client, 500, key, TableName=self._table,
                                   ExpressionAttributeValues=to_item(values), **query)
            rows.extend(page)
            if not key:
                return rows


def row_key(connection_id: str) -> dict[str, str]:
    return {"pk": f"CONN#{connection_id}", "sk": "CONN"}
