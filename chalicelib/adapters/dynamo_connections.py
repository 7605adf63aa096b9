"""ConnectionStore in the connections table: one row per open websocket connection.

pk CONN#<id>, sk CONN (the connection) or SUB#EVENTS (it follows the event log; gsi1 EVENTS#<account or *>).
gsi1: WS#<workspace> / USER#<user>#CONN#<id> (a workspace's connections: fan-out, who is
online, one user's connections in one workspace). gsi2: USER#<user> / CONN#<id> (all of a user's
connections, to close them when the user is deleted).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo_items import batch_delete, from_item, query_page, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# API Gateway closes any connection after 2 hours; a row older than that is certainly dead. A heartbeat
# extends it; a connection not heard from for STALE_AFTER_SECONDS counts as gone (clients beat every 30 s).
CONNECTION_ROW_TTL_SECONDS = 2 * 3600 + 600
STALE_AFTER_SECONDS = 90
LOBBY = "-"  # connections not bound to a workspace


class DynamoConnectionStore:
    def __init__(self, client: DynamoDBClient, table: str, stale_after_s: int = STALE_AFTER_SECONDS,
                 recipients_ttl_s: float = 0.0) -> None:
        self._client = client
        self._table = table
        self._stale_after = stale_after_s
        # A workspace's recipients, reused for a moment: at ten ops a second that saves ten queries. A
        # connection that joined meanwhile misses at most this long of live ops, and finds the gap by sequence.
        self._recipients_ttl = recipients_ttl_s
        self._recipients: dict[str, tuple[float, list[str]]] = {}

    def put(self, connection_id: str, user_id: str, workspace_id: str | None, attributes: Mapping[str, str]) -> None:
        now = int(time.time())
        workspace = workspace_id or LOBBY
        item: dict[str, Any] = {
            "pk": f"CONN#{connection_id}", "sk": "CONN",
            "gsi1pk": f"WS#{workspace}", "gsi1sk": f"USER#{user_id}#CONN#{connection_id}",
            "gsi2pk": f"USER#{user_id}", "gsi2sk": f"CONN#{connection_id}",
            "connection_id": connection_id, "user_id": user_id, "workspace_id": workspace,
            "connected_at": now, "last_seen": now, "expires_at": now + CONNECTION_ROW_TTL_SECONDS, **attributes}
        self._client.put_item(TableName=self._table, Item=to_item(item))

    def bind(self, connection_id: str, user_id: str, workspace_id: str | None) -> None:
        """Move the connection to a workspace (join) or back to none (leave)."""
        workspace = workspace_id or LOBBY
        self._recipients.clear()  # this instance's own joins and leaves are seen at once
        self._client.update_item(
            TableName=self._table, Key=to_item({"pk": f"CONN#{connection_id}", "sk": "CONN"}),
            UpdateExpression="SET workspace_id = :w, gsi1pk = :p, gsi1sk = :s",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=to_item({":w": workspace, ":p": f"WS#{workspace}",
                                               ":s": f"USER#{user_id}#CONN#{connection_id}"}))

    def in_workspace(self, workspace_id: str) -> list[str]:
        cached = self._recipients.get(workspace_id)
        if cached is not None and time.monotonic() - cached[0] < self._recipients_ttl:
            return cached[1]
        rows = self._all(IndexName="gsi1", KeyConditionExpression="gsi1pk = :p", values={":p": f"WS#{workspace_id}"},
                         FilterExpression="expires_at > :now", ProjectionExpression="connection_id")
        recipients = [r["connection_id"] for r in rows]
        if self._recipients_ttl:
            self._recipients[workspace_id] = (time.monotonic(), recipients)
        return recipients

    def get(self, connection_id: str) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table,
                                     Key=to_item({"pk": f"CONN#{connection_id}", "sk": "CONN"})).get("Item")
        return None if item is None else from_item(item)

    def delete(self, connection_id: str) -> None:
        """The connection row and anything hanging off it (its event subscription)."""
        batch_delete(self._client, self._table, [{"pk": f"CONN#{connection_id}", "sk": sk}
                                                 for sk in ("CONN", "SUB#EVENTS")])

    def subscribe_events(self, connection_id: str, scope: str) -> None:
        """Follow the event log: `scope` is an account id, or "*" for every account."""
        now = int(time.time())
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": f"CONN#{connection_id}", "sk": "SUB#EVENTS", "gsi1pk": f"EVENTS#{scope}",
            "gsi1sk": f"CONN#{connection_id}", "connection_id": connection_id, "scope": scope,
            "expires_at": now + CONNECTION_ROW_TTL_SECONDS}))

    def unsubscribe_events(self, connection_id: str) -> None:
        self._client.delete_item(TableName=self._table,
                                 Key=to_item({"pk": f"CONN#{connection_id}", "sk": "SUB#EVENTS"}))

    def event_subscribers(self, scope: str) -> list[str]:
        rows = self._all(IndexName="gsi1", KeyConditionExpression="gsi1pk = :p", values={":p": f"EVENTS#{scope}"},
                         FilterExpression="expires_at > :now", ProjectionExpression="connection_id")
        return [r["connection_id"] for r in rows]

    def of_user(self, user_id: str, workspace_id: str | None = None) -> list[str]:
        if workspace_id:
            rows = self._all(IndexName="gsi1", KeyConditionExpression="gsi1pk = :p AND begins_with(gsi1sk, :u)",
                             values={":p": f"WS#{workspace_id}", ":u": f"USER#{user_id}#"})
        else:
            rows = self._all(IndexName="gsi2", KeyConditionExpression="gsi2pk = :p", values={":p": f"USER#{user_id}"})
        return [r["connection_id"] for r in rows]

    def online_users(self, workspace_id: str) -> set[str]:
        return {str(r["user_id"]) for r in self.present(workspace_id)}

    def present(self, workspace_id: str) -> list[dict[str, Any]]:
        """The workspace's connections heard from recently enough ($disconnect is best effort)."""
        return [r for r in self.members(workspace_id) if self._fresh(r)]

    def stale(self, workspace_id: str) -> list[dict[str, Any]]:
        """The workspace's connections not heard from for too long (for the presence sweep)."""
        return [r for r in self.members(workspace_id) if not self._fresh(r)]

    def _fresh(self, row: dict[str, Any]) -> bool:
        return int(row.get("last_seen", row.get("connected_at", 0))) > int(time.time()) - self._stale_after

    def members(self, workspace_id: str) -> list[dict[str, Any]]:
        """Every connection row of the workspace, stale ones included."""
        return self._all(IndexName="gsi1", KeyConditionExpression="gsi1pk = :p",
                         values={":p": f"WS#{workspace_id}"}, FilterExpression="expires_at > :now")

    def touch(self, connection_id: str, presence: dict[str, Any] | None = None) -> bool:
        """A heartbeat: the connection is alive now (and, optionally, its presence changed). False when the
        row is gone (the connection was reaped)."""
        now = int(time.time())
        update = "SET last_seen = :now, expires_at = :exp"
        values: dict[str, Any] = {":now": now, ":exp": now + CONNECTION_ROW_TTL_SECONDS}
        if presence is not None:
            update += ", presence = :presence"
            values[":presence"] = json.dumps(presence, separators=(",", ":"))
        try:
            self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"CONN#{connection_id}", "sk": "CONN"}),
                UpdateExpression=update, ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_item(values))
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _all(self, values: dict[str, Any], **query: Any) -> list[dict[str, Any]]:
        if "FilterExpression" in query:
            values = {**values, ":now": int(time.time())}
        rows: list[dict[str, Any]] = []
        key: dict[str, Any] | None = None
        while True:
            page, key = query_page(self._client, 500, key, TableName=self._table,
                                   ExpressionAttributeValues=to_item(values), **query)
            rows.extend(page)
            if not key:
                return rows
