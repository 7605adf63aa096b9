"""ConnectionStore in the connections table: one row per open websocket connection.

pk CONN#<id>, sk CONN (the connection) or SUB#EVENTS (it follows the event log; gsi1 EVENTS#<account or *>).
gsi1: WS#<workspace> / USER#<user>#CONN#<id> (who is online, one user's connections in one workspace).
gsi2: USER#<user> / CONN#<id> (all of a user's connections, to close them when the user is deleted).

pk WS#<workspace>, sk CONN#<id>: the connection is in the workspace (its membership). This is the list ops and
presence are sent to (`in_workspace`), read consistently from the table itself: an index may lag the write
that bound a connection, and a list read from it just after a join could leave the joiner out of the ops that
follow (services/audience.py counts on "bound, then counted"). A membership is written and deleted in the
same transaction as the row's move, on the condition that the row is where it was read (a join, a leave, a
sweep, a 410 and a $disconnect of one connection may run at once in different function instances); it expires
2 h 10 min after it was written, longer than API Gateway keeps any connection open.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo_connection_lists import ConnectionLists, row_key
from chalicelib.adapters.dynamo_items import from_item, to_item

# API Gateway closes any connection after 2 hours; a row older than that is certainly dead. A heartbeat
# extends it.
CONNECTION_ROW_TTL_SECONDS = 2 * 3600 + 600
# API Gateway's $connect integration answers within 29 s; until it has, posts to the connection answer 410.
CONNECT_GRACE_SECONDS = 30
LOBBY = "-"  # connections not bound to a workspace
ATTEMPTS = 5  # writes tried again when another write held one of their items
RETRIED = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})  # reasons


class DynamoConnectionStore(ConnectionLists):
    def put(self, connection_id: str, user_id: str, workspace_id: str | None, attributes: Mapping[str, str]) -> None:
        now = int(time.time())
        workspace = workspace_id or LOBBY
        item: dict[str, Any] = {
            **row_key(connection_id),
            "gsi1pk": f"WS#{workspace}", "gsi1sk": f"USER#{user_id}#CONN#{connection_id}",
            "gsi2pk": f"USER#{user_id}", "gsi2sk": f"CONN#{connection_id}",
            "connection_id": connection_id, "user_id": user_id, "workspace_id": workspace, "member_of": workspace,
            "connected_at": now, "last_seen": now, "expires_at": now + CONNECTION_ROW_TTL_SECONDS, **attributes}
        if workspace == LOBBY:
            self._client.put_item(TableName=self._table, Item=to_item(item))
        else:
            self._transact([{"Put": {"TableName": self._table, "Item": to_item(item)}},
                            *self._enter(workspace, connection_id, user_id)])

    def bind(self, connection_id: str, user_id: str, workspace_id: str | None) -> str | None:
        """Move the connection to a workspace (join) or back to none (leave): the workspace it was in before
        ("-" for none), or None when its row is gone ($disconnect ran: the connection is closing). The row and
        the memberships change in one transaction, on the condition that the row is still where it was read."""
        workspace = workspace_id or LOBBY
        for _ in range(ATTEMPTS):
            row = self._row(connection_id)
            if row is None:
                return None
            seen = str(row.get("workspace_id") or LOBBY)
            update = {"Update": {
                "TableName": self._table, "Key": to_item(row_key(connection_id)),
                "UpdateExpression": "SET workspace_id = :w, member_of = :w, gsi1pk = :p, gsi1sk = :s, "
                                    "last_seen = :now, opened = :t REMOVE swept_from",
                "ConditionExpression": "workspace_id = :seen",
                "ExpressionAttributeValues": to_item({
                    ":w": workspace, ":p": f"WS#{workspace}", ":now": int(time.time()), ":t": True, ":seen": seen,
                    ":s": f"USER#{user_id}#CONN#{connection_id}"})}}
            moved_out = self._out_of_lists(row, but=workspace)
            if self._transact([update, *self._enter(workspace, connection_id, user_id), *moved_out]):
                return seen
        raise RuntimeError(f"connection {connection_id} changed under every one of {ATTEMPTS} binds")

    def unbind(self, connection_id: str, workspace_id: str, stale_before: int | None = None) -> dict[str, Any] | None:
        """Take the connection out of `workspace_id` (the row stays: it still says who is on the connection);
        with `stale_before`, only if it has not been heard from since then. The row as it was, or None when it
        was not in that workspace (or was heard from: a heartbeat wins over a sweep)."""
        row = self._row(connection_id)
        if row is None or row.get("workspace_id") != workspace_id:
            return None
        if stale_before is None:
            return self._unbind(row, "attribute_exists(pk)", {}, "REMOVE presence, swept_from")
        # Remembered, so that the connection's next heartbeat (it was only asleep) may put it back.
        return self._unbind(row, "last_seen < :stale", {":stale": stale_before},
                            "SET swept_from = :seen REMOVE presence")

    def gone(self, connection_id: str) -> dict[str, Any] | None:
        """A delivery answered 410. API Gateway answers that for a connection whose $connect has not returned
        yet, too: a connection that never sent a message and is younger than the connect timeout is left
        alone. Otherwise it leaves its workspace and stops following the event log; the row as it was, when it
        was in a workspace."""
        row = self._row(connection_id)
        young = int(time.time()) - CONNECT_GRACE_SECONDS
        if row is not None and not row.get("opened") and int(row.get("connected_at", 0)) >= young:
            return None  # still connecting
        old = None
        if row is not None and _held(row):  # in a workspace (or in the list of one it left)
            old = self._unbind(row, "opened = :t OR connected_at < :young", {":t": True, ":young": young})
        self.unsubscribe_events(connection_id)
        return old if old is not None and old["workspace_id"] != LOBBY else None

    def _unbind(self, row: dict[str, Any], condition: str, values: dict[str, Any],
                also: str = "REMOVE presence") -> dict[str, Any] | None:
        """`row` (as read) to the lobby and out of its workspace's list at once, if it is still in that workspace
        and `condition` holds; the row, or None when either did not hold."""
        connection_id, seen = str(row["connection_id"]), str(row["workspace_id"])
        set_more, _, remove = also.partition("REMOVE ")
        extra = f", {set_more.removeprefix('SET ').strip()}" if set_more.strip() else ""
        update = {"Update": {
            "TableName": self._table, "Key": to_item(row_key(connection_id)),
            "UpdateExpression": f"SET workspace_id = :lobby, member_of = :lobby, gsi1pk = :lp{extra} REMOVE {remove}",
            "ConditionExpression": f"workspace_id = :seen AND ({condition})",
            "ExpressionAttributeValues": to_item({**values, ":seen": seen, ":lobby": LOBBY, ":lp": f"WS#{LOBBY}"})}}
        return row if self._transact([update, *self._out_of_lists(row)]) else None

    def _enter(self, workspace: str, connection_id: str, user_id: str) -> list[dict[str, Any]]:
        """The write that puts the connection in `workspace`'s list (none for the lobby)."""
        if workspace == LOBBY:
            return []
        return [{"Put": {"TableName": self._table, "Item": to_item({
            **_membership(workspace, connection_id), "connection_id": connection_id, "user_id": user_id,
            "expires_at": int(time.time()) + CONNECTION_ROW_TTL_SECONDS})}}]

    def _out_of_lists(self, row: dict[str, Any], but: str = LOBBY) -> list[dict[str, Any]]:
        """The writes that take the row's connection out of every list that may name it (but `but`'s)."""
        return [{"Delete": {"TableName": self._table, "Key": to_item(_membership(held, str(row["connection_id"])))}}
                for held in sorted(_held(row) - {but})]

    def _transact(self, parts: list[dict[str, Any]]) -> bool:
        """Write `parts` at once: False when the first part's condition (the row's, the only one) failed; tried
        again when another write held an item or DynamoDB throttled it."""
        for attempt in range(ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=parts)  # type: ignore[arg-type]
                return True
            except self._client.exceptions.TransactionCanceledException as exc:
                codes = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
                if codes and codes[0] == "ConditionalCheckFailed":
                    return False
                if attempt == ATTEMPTS - 1 or not RETRIED.intersection(codes):
                    raise
            self._pause(attempt)
        raise AssertionError("unreachable")

    def _update_row(self, **request: Any) -> Any:
        """UpdateItem of a connection's row, tried again while a move's transaction holds it: DynamoDB refuses
        a plain write to an item a transaction is writing (TransactionConflictException), and botocore's
        retries leave that code alone."""
        for attempt in range(ATTEMPTS):
            try:
                return self._client.update_item(TableName=self._table, **request)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionConflictException" or \
                        attempt == ATTEMPTS - 1:
                    raise
            self._pause(attempt)
        raise AssertionError("unreachable")

    @staticmethod
    def _pause(attempt: int) -> None:
        time.sleep(random.uniform(0.005, 0.02) * 2**attempt)  # noqa: S311 (jitter, not a secret)

    def count_routed(self, connection_id: str) -> None:
        """One more op this connection sent through the router; metered for its account at $disconnect (one
        write on the connection's own row, never on a shared usage item every connection would contend for)."""
        # A row gone already ($disconnect ran) has nothing left to meter it with.
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._update_row(Key=to_item(row_key(connection_id)), UpdateExpression="ADD routed :one",
                             ConditionExpression="attribute_exists(pk)", ExpressionAttributeValues=to_item({":one": 1}))

    def delete(self, connection_id: str) -> dict[str, Any] | None:
        """The connection row and anything hanging off it (its event subscription, its memberships), at once;
        the row as it was (None: gone already)."""
        subscription = {"Delete": {"TableName": self._table,
                                   "Key": to_item({"pk": f"CONN#{connection_id}", "sk": "SUB#EVENTS"})}}
        for _ in range(ATTEMPTS):
            row = self._row(connection_id)
            if row is None:
                self._transact([subscription])
                return None
            seen = str(row.get("workspace_id") or LOBBY)
            if self._transact([{"Delete": {"TableName": self._table, "Key": to_item(row_key(connection_id)),
                                           "ConditionExpression": "workspace_id = :seen",
                                           "ExpressionAttributeValues": to_item({":seen": seen})}},
                               subscription, *self._out_of_lists(row)]):
                return row
        raise RuntimeError(f"connection {connection_id} changed under every one of {ATTEMPTS} deletes")

    def subscribe_events(self, connection_id: str, scope: str) -> None:
        """Follow the event log: `scope` is an account id, or "*" for every account. The connection sent this,
        so it is open: a 410 for it is real from now on (see gone)."""
        now = int(time.time())
        self._client.put_item(TableName=self._table, Item=to_item({
            "pk": f"CONN#{connection_id}", "sk": "SUB#EVENTS", "gsi1pk": f"EVENTS#{scope}",
            "gsi1sk": f"CONN#{connection_id}", "connection_id": connection_id, "scope": scope,
            "expires_at": now + CONNECTION_ROW_TTL_SECONDS}))
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._update_row(Key=to_item(row_key(connection_id)), UpdateExpression="SET opened = :t",
                             ConditionExpression="attribute_exists(pk)",
                             ExpressionAttributeValues=to_item({":t": True}))

    def unsubscribe_events(self, connection_id: str) -> None:
        self._client.delete_item(TableName=self._table,
                                 Key=to_item({"pk": f"CONN#{connection_id}", "sk": "SUB#EVENTS"}))

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
            answer = self._update_row(
                Key=to_item(row_key(connection_id)), UpdateExpression=update, ReturnValues="ALL_NEW",
                ConditionExpression="attribute_exists(pk) AND workspace_id = :w",
                ExpressionAttributeValues=to_item(values))
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        row = from_item(answer.get("Attributes", {}))
        if row.get("member_of") != workspace_id:
            self._adopt(row)
        return True

    def _adopt(self, row: dict[str, Any]) -> None:
        """A row moved by an earlier release, which kept no memberships (a connection open across the deploy, or
        moved by a function still on it): listed where it is at its heartbeat, and out of the list its membership
        was written in, unless it moved meanwhile."""
        workspace, had = str(row["workspace_id"]), row.get("member_of")
        condition = "workspace_id = :w AND " + ("member_of = :had" if had else "attribute_not_exists(member_of)")
        self._transact([{"Update": {
            "TableName": self._table, "Key": to_item(row_key(str(row["connection_id"]))),
            "UpdateExpression": "SET member_of = :w", "ConditionExpression": condition,
            "ExpressionAttributeValues": to_item({":w": workspace, **({":had": had} if had else {})})}},
            *self._enter(workspace, str(row["connection_id"]), str(row.get("user_id", ""))),
            *self._out_of_lists(row, but=workspace)])


def _held(row: dict[str, Any]) -> set[str]:
    """The workspaces whose lists may name the row's connection: where it is, and where its membership was
    written (they differ only after an earlier release, which kept no memberships, moved it)."""
    return {str(row.get("workspace_id") or LOBBY), str(row.get("member_of") or LOBBY)} - {LOBBY}


def _membership(workspace: str, connection_id: str) -> dict[str, str]:
    return {"pk": f"WS#{workspace}", "sk": f"CONN#{connection_id}"}
