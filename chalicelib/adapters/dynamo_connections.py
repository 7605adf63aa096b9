"""ConnectionStore in the connections table: one row per open websocket connection.

pk CONN#<id>, sk CONN (the connection) or SUB#EVENTS (it follows the event log; gsi1 EVENTS#<account or *>).
gsi1: WS#<workspace> / USER#<user>#CONN#<id> (who is online, one user's connections in one workspace).
gsi2: USER#<user> / CONN#<id> (all of a user's connections, to close them when the user is deleted).

pk WS#<workspace>, sk CONN#<id>: the connection is in the workspace (its membership). This is the list ops and
presence are sent to (`in_workspace`), read consistently from the table itself: an index may lag the write
that bound a connection, and a list read from it just after a join could leave the joiner out of the ops that
follow (services/audience.py counts on "bound, then counted"). A membership is written before the row says
the workspace and deleted after the row stops saying it; it expires with the longest a connection can live.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo_items import batch_delete, from_item, query_page, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# API Gateway closes any connection after 2 hours; a row older than that is certainly dead. A heartbeat
# extends it; a connection not heard from for STALE_AFTER_SECONDS counts as gone (clients beat every fifth of it).
CONNECTION_ROW_TTL_SECONDS = 2 * 3600 + 600
STALE_AFTER_SECONDS = 90
# API Gateway's $connect integration answers within 29 s; until it has, posts to the connection answer 410.
CONNECT_GRACE_SECONDS = 30
LOBBY = "-"  # connections not bound to a workspace


class DynamoConnectionStore:
    def __init__(self, client: DynamoDBClient, table: str, stale_after_s: int = STALE_AFTER_SECONDS) -> None:
        self._client = client
        self._table = table
        self._stale_after = stale_after_s

    def put(self, connection_id: str, user_id: str, workspace_id: str | None, attributes: Mapping[str, str]) -> None:
        now = int(time.time())
        workspace = workspace_id or LOBBY
        item: dict[str, Any] = {
            "pk": f"CONN#{connection_id}", "sk": "CONN",
            "gsi1pk": f"WS#{workspace}", "gsi1sk": f"USER#{user_id}#CONN#{connection_id}",
            "gsi2pk": f"USER#{user_id}", "gsi2sk": f"CONN#{connection_id}",
            "connection_id": connection_id, "user_id": user_id, "workspace_id": workspace, "member_of": workspace,
            "connected_at": now, "last_seen": now, "expires_at": now + CONNECTION_ROW_TTL_SECONDS, **attributes}
        self._enter(connection_id, workspace)
        try:
            self._client.put_item(TableName=self._table, Item=to_item(item))
        except Exception:
            self._part(connection_id, workspace)
            raise

    def bind(self, connection_id: str, user_id: str, workspace_id: str | None) -> str | None:
        """Move the connection to a workspace (join) or back to none (leave): the workspace it was in before
        ("-" for none), or None when its row is gone ($disconnect ran: the connection is closing)."""
        workspace = workspace_id or LOBBY
        now = int(time.time())
        self._enter(connection_id, workspace)
        try:
            answer = self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"CONN#{connection_id}", "sk": "CONN"}),
                UpdateExpression="SET workspace_id = :w, member_of = :w, gsi1pk = :p, gsi1sk = :s, last_seen = :now, "
                                 "opened = :t REMOVE swept_from",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_item({":w": workspace, ":p": f"WS#{workspace}", ":now": now, ":t": True,
                                                   ":s": f"USER#{user_id}#CONN#{connection_id}"}),
                ReturnValues="ALL_OLD")  # not UPDATED_OLD: the emulator leaves out a workspace set to itself
        except self._client.exceptions.ConditionalCheckFailedException:
            self._part(connection_id, workspace)  # the connection is closing: no list may name it
            return None
        before = str(from_item(answer.get("Attributes", {})).get("workspace_id") or LOBBY)
        if before != workspace:
            self._part(connection_id, before)
        return before

    def unbind(self, connection_id: str, workspace_id: str, stale_before: int | None = None) -> dict[str, Any] | None:
        """Take the connection out of `workspace_id` (the row stays: it still says who is on the connection);
        with `stale_before`, only if it has not been heard from since then. The row as it was, or None when it
        was not in that workspace (or was heard from: a heartbeat wins over a sweep)."""
        condition = "workspace_id = :w"
        values: dict[str, Any] = {":w": workspace_id, ":lobby": LOBBY, ":lp": f"WS#{LOBBY}"}
        if stale_before is None:
            return self._unbind(connection_id, condition, values, "REMOVE presence, swept_from")
        condition += " AND last_seen < :stale"
        values[":stale"] = stale_before
        # Remembered, so that the connection's next heartbeat (it was only asleep) may put it back.
        return self._unbind(connection_id, condition, values, "SET swept_from = :w REMOVE presence")

    def gone(self, connection_id: str) -> dict[str, Any] | None:
        """A delivery answered 410. API Gateway answers that for a connection whose $connect has not returned
        yet, too: a connection that never sent a message and is younger than the connect timeout is left
        alone. Otherwise it leaves its workspace and stops following the event log; the row as it was, when it
        was in a workspace."""
        values = {":lobby": LOBBY, ":lp": f"WS#{LOBBY}", ":t": True, ":young": int(time.time()) - CONNECT_GRACE_SECONDS}
        row = self._unbind(connection_id, "opened = :t OR connected_at < :young", values)
        if row is None and self.get(connection_id) is not None:
            return None  # still connecting
        self.unsubscribe_events(connection_id)
        return row if row is not None and row.get("workspace_id") not in (None, LOBBY) else None

    def _unbind(self, connection_id: str, condition: str, values: dict[str, Any],
                also: str = "REMOVE presence") -> dict[str, Any] | None:
        set_more, _, remove = also.partition("REMOVE ")
        extra = f", {set_more.removeprefix('SET ').strip()}" if set_more.strip() else ""
        try:
            response = self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"CONN#{connection_id}", "sk": "CONN"}),
                UpdateExpression=f"SET workspace_id = :lobby, member_of = :lobby, gsi1pk = :lp{extra} REMOVE {remove}",
                ConditionExpression=f"attribute_exists(pk) AND ({condition})", ReturnValues="ALL_OLD",
                ExpressionAttributeValues=to_item(values))
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        row = from_item(response.get("Attributes", {}))
        self._part(connection_id, str(row.get("workspace_id") or LOBBY))
        return row

    def in_workspace(self, workspace_id: str) -> list[str]:
        """The connections in the workspace, read consistently: one bound before this read is in the list."""
        rows = self._all(KeyConditionExpression="pk = :p AND begins_with(sk, :c)", ConsistentRead=True,
                         values={":p": f"WS#{workspace_id}", ":c": "CONN#"},
                         FilterExpression="expires_at > :now", ProjectionExpression="connection_id")
        return [r["connection_id"] for r in rows]

    def _enter(self, connection_id: str, workspace: str) -> None:
        if workspace != LOBBY:
            self._client.put_item(TableName=self._table, Item=to_item({
                **_membership(workspace, connection_id), "connection_id": connection_id,
                "expires_at": int(time.time()) + CONNECTION_ROW_TTL_SECONDS}))

    def _part(self, connection_id: str, workspace: str) -> None:
        if workspace != LOBBY:
            self._client.delete_item(TableName=self._table, Key=to_item(_membership(workspace, connection_id)))

    def get(self, connection_id: str) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table,
                                     Key=to_item({"pk": f"CONN#{connection_id}", "sk": "CONN"})).get("Item")
        return None if item is None else from_item(item)

    def count_routed(self, connection_id: str) -> None:
        """One more op this connection sent through the router; metered for its account at $disconnect (one
        write on the connection's own row, never on a shared usage item every connection would contend for)."""
        # A row gone already ($disconnect ran) has nothing left to meter it with.
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"CONN#{connection_id}", "sk": "CONN"}),
                UpdateExpression="ADD routed :one", ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=to_item({":one": 1}))

    def delete(self, connection_id: str) -> None:
        """The connection row and anything hanging off it (its event subscription, its membership)."""
        old = self._client.delete_item(TableName=self._table, ReturnValues="ALL_OLD",
                                       Key=to_item({"pk": f"CONN#{connection_id}", "sk": "CONN"})).get("Attributes")
        workspace = str(from_item(old).get("workspace_id") or LOBBY) if old else LOBBY
        batch_delete(self._client, self._table, [{"pk": f"CONN#{connection_id}", "sk": "SUB#EVENTS"}] + (
            [_membership(workspace, connection_id)] if workspace != LOBBY else []))

    def subscribe_events(self, connection_id: str, scope: str) -> None:
        """Follow the event log: `scope` is an account id, or "*" for every account. The connection sent this,
        so it is open: a 410 for it is real from now on (see gone)."""
        now = int(time.time())
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": f"CONN#{connection_id}", "sk": "SUB#EVENTS", "gsi1pk": f"EVENTS#{scope}",
            "gsi1sk": f"CONN#{connection_id}", "connection_id": connection_id, "scope": scope,
            "expires_at": now + CONNECTION_ROW_TTL_SECONDS}))
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(TableName=self._table, Key=to_item({"pk": f"CONN#{connection_id}", "sk": "CONN"}),
                                     UpdateExpression="SET opened = :t", ConditionExpression="attribute_exists(pk)",
                                     ExpressionAttributeValues=to_item({":t": True}))

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

    def touch(self, connection_id: str, workspace_id: str, presence: dict[str, Any] | None = None) -> bool:
        """A heartbeat: the connection is alive now (and, optionally, its presence changed). False unless the
        connection is in `workspace_id` (it left, or a sweep took it out)."""
        now = int(time.time())
        update = "SET last_seen = :now, expires_at = :exp"
        values: dict[str, Any] = {":now": now, ":exp": now + CONNECTION_ROW_TTL_SECONDS, ":w": workspace_id}
        if presence is not None:
            update += ", presence = :presence"
            values[":presence"] = json.dumps(presence, separators=(",", ":"))
        try:
            answer = self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"CONN#{connection_id}", "sk": "CONN"}),
                UpdateExpression=update, ConditionExpression="attribute_exists(pk) AND workspace_id = :w",
                ExpressionAttributeValues=to_item(values), ReturnValues="ALL_NEW")
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        if "member_of" not in answer.get("Attributes", {}):
            self._adopt(connection_id, workspace_id)
        return True

    def _adopt(self, connection_id: str, workspace_id: str) -> None:
        """A row bound before memberships were kept (a connection open across the release that brought them):
        given its membership at its first heartbeat, as a bind would, unless a bind or a leave got there first."""
        self._enter(connection_id, workspace_id)
        try:
            self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"CONN#{connection_id}", "sk": "CONN"}),
                UpdateExpression="SET member_of = :w",
                ConditionExpression="attribute_exists(pk) AND workspace_id = :w AND attribute_not_exists(member_of)",
                ExpressionAttributeValues=to_item({":w": workspace_id}))
        except self._client.exceptions.ConditionalCheckFailedException:
            row = self.get(connection_id)
            if row is None or row.get("member_of") != workspace_id:  # it left (or closed) meanwhile
                self._part(connection_id, workspace_id)

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


def _membership(workspace: str, connection_id: str) -> dict[str, str]:
    return {"pk": f"WS#{workspace}", "sk": f"CONN#{connection_id}"}
