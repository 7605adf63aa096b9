"""The workspace op log in the ops table: pk `WS#<workspace>`, seq N (N >= 1) for op N.

An op is stored with one TransactWriteItems that commits only if every part holds: the op's sequence is free,
the op before it is stored (so the log never has a hole and no reader sees N+1 without N), the author's op id
was never used (pk `CLAIM#<workspace>#<claim>`, seq 0: a resend is recognised, not applied twice; an op without
an op id, such as the system's, which are idempotent by content, claims nothing), and the
author's access still allows it (a ConditionCheck on the main table, dynamo_grants.py). There is no counter:
the latest sequence is the last item of the partition. The item at seq 0 of `WS#<workspace>` points at the
newest snapshot and counts the changes to who is in the workspace (`joins`, dynamo_audience.py: the audience
version a writer's fan-out list is checked against, in the same write as its op). Ops are never updated or
deleted: the log is the workspace's recovery log.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo_audience import DynamoAudienceCounter
from chalicelib.adapters.dynamo_grants import grant_check
from chalicelib.adapters.dynamo_items import to_item
from chalicelib.domain.ops import Op
from chalicelib.domain.tenancy import WriteGrant
from chalicelib.log_ports import AudienceChanged, DuplicateOp, GrantRevoked, LogDiverged, SeqTaken

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoOpLog:
    def __init__(self, client: DynamoDBClient, table: str, grants_table: str) -> None:
        self._client = client
        self._table = table
        self._grants_table = grants_table  # the main table, where memberships and users live
        self._audience = DynamoAudienceCounter(client, table)

    def append(self, workspace_id: str, op: Op, claim: str | None, grant: WriteGrant | None,
               audience: int | None = None) -> None:
        pk = f"WS#{workspace_id}"
        parts: list[tuple[str, dict[str, Any]]] = [
            ("op", {"Put": {"TableName": self._table, "ConditionExpression": "attribute_not_exists(seq)",
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD", "Item": to_item(_op_item(pk, op))}})]
        if claim is not None:  # an op without an op id has nothing to claim (two write units fewer)
            parts.append(("claim", {"Put": {"TableName": self._table, "ConditionExpression": "attribute_not_exists(pk)",
                                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                                            "Item": to_item({"pk": f"CLAIM#{workspace_id}#{claim}", "seq": 0,
                                                             "claimed_seq": op.seq})}}))
        if op.seq > 1:
            parts.append(("previous", {"ConditionCheck": {
                "TableName": self._table, "Key": to_item({"pk": pk, "seq": op.seq - 1}),
                "ConditionExpression": "attribute_exists(seq)"}}))
        if grant is not None:
            parts.append(("grant", grant_check(self._grants_table, grant)))
        if audience is not None:
            parts.append(("audience", {"ConditionCheck": {
                "TableName": self._table, "Key": to_item({"pk": pk, "seq": 0}),
                **({"ConditionExpression": "attribute_not_exists(joins)"} if audience == 0 else
                   {"ConditionExpression": "joins = :k", "ExpressionAttributeValues": to_item({":k": audience})})}}))
        try:
            self._client.transact_write_items(TransactItems=[part for _, part in parts])  # type: ignore[misc]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            cancelled: list[dict[str, Any]] = exc.response.get("CancellationReasons", [])  # type: ignore[assignment]
            reasons = {name: r for (name, _), r in zip(parts, cancelled, strict=False)}
            if _already_ours(reasons, op):
                return
            raise _refusal(workspace_id, reasons, self.claimed, claim) from exc

    def claimed(self, workspace_id: str, claim: str) -> int | None:
        item = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                     Key=to_item({"pk": f"CLAIM#{workspace_id}#{claim}", "seq": 0})).get("Item")
        return None if item is None else int(item["claimed_seq"]["N"])

    def get(self, workspace_id: str, seq: int) -> Op | None:
        item = self._client.get_item(TableName=self._table, ConsistentRead=True,
                                     Key=to_item({"pk": f"WS#{workspace_id}", "seq": seq})).get("Item")
        return None if item is None or seq < 1 else _op(item)

    def latest(self, workspace_id: str) -> int:
        items = self._client.query(
            TableName=self._table, ConsistentRead=True, Limit=1, ScanIndexForward=False,
            KeyConditionExpression="pk = :p AND seq > :zero",
            ExpressionAttributeValues=to_item({":p": f"WS#{workspace_id}", ":zero": 0})).get("Items", [])
        return int(items[0]["seq"]["N"]) if items else 0

    def audience(self, workspace_id: str) -> int:
        return int(self._head(workspace_id).get("joins", {}).get("N", 0))

    def note_audience_change(self, workspace_id: str) -> None:
        self._audience.note_audience_change(workspace_id)

    def _head(self, workspace_id: str) -> dict[str, Any]:
        return self._client.get_item(TableName=self._table, ConsistentRead=True,
                                     Key=to_item({"pk": f"WS#{workspace_id}", "seq": 0})).get("Item") or {}

    def snapshot_seq(self, workspace_id: str) -> int:
        return int(self._head(workspace_id).get("snapshot_seq", {}).get("N", 0))

    def mark_snapshot(self, workspace_id: str, seq: int) -> None:
        """Point at a newer snapshot (never back at an older one, whatever order writers finish in)."""
        with contextlib.suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.update_item(
                TableName=self._table, Key=to_item({"pk": f"WS#{workspace_id}", "seq": 0}),
                UpdateExpression="SET snapshot_seq = :s",
                ConditionExpression="attribute_not_exists(snapshot_seq) OR snapshot_seq < :s",
                ExpressionAttributeValues=to_item({":s": seq}))

    def after(self, workspace_id: str, after_seq: int, limit: int) -> list[Op]:
        """Ops with a sequence above `after_seq`, in order, at most `limit`: fewer only at the log's end. (One
        Query stops at 1 MB: it is continued until `limit` or the end, else a reader would take a page cut by
        size for the log's end.)"""
        ops: list[Op] = []
        start: dict[str, Any] | None = None
        while len(ops) < limit:
            query: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
            response = self._client.query(
                TableName=self._table, ConsistentRead=True, Limit=limit - len(ops),
                KeyConditionExpression="pk = :p AND seq > :s",
                ExpressionAttributeValues=to_item({":p": f"WS#{workspace_id}", ":s": max(0, after_seq)}), **query)
            ops += [_op(i) for i in response.get("Items", [])]
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        return ops


def _op_item(pk: str, op: Op) -> dict[str, Any]:
    item = {"pk": pk, "seq": op.seq, "kind": op.kind, "by": op.by, "at_ms": op.at_ms,
            "data": json.dumps(op.data, separators=(",", ":"), allow_nan=False)}
    if op.op_id is not None:
        item["op_id"] = op.op_id
    return item


def _op(item: dict[str, Any]) -> Op:
    return Op(int(item["seq"]["N"]), item["kind"]["S"], item["by"]["S"], int(item["at_ms"]["N"]),
              json.loads(item["data"]["S"]), item["op_id"]["S"] if "op_id" in item else None)


def _already_ours(reasons: dict[str, dict[str, Any]], op: Op) -> bool:
    """True when the op's sequence number holds this very op: a write whose answer was lost, sent again (by
    botocore's retry, which DynamoDB recognises by its request token, or by a caller) found itself stored. Not a
    lost race: the op is stored, once. (An op with an op id is recognised by its claim instead.)"""
    failed = {name for name, r in reasons.items() if r.get("Code") == "ConditionalCheckFailed"}
    stored = reasons.get("op", {}).get("Item")
    return failed == {"op"} and stored is not None and _op(stored) == op


def _refusal(workspace_id: str, reasons: dict[str, dict[str, Any]], claimed: Any, claim: str | None) -> Exception:
    """Which condition cancelled the write, most telling first: a resend, lost access, a lost race."""
    failed = {name for name, r in reasons.items() if r.get("Code") == "ConditionalCheckFailed"}
    if "claim" in failed:
        old = reasons["claim"].get("Item", {}).get("claimed_seq", {}).get("N")
        seq = int(old) if old is not None else claimed(workspace_id, claim)
        return DuplicateOp(int(seq))
    if "grant" in failed:
        return GrantRevoked()
    if "audience" in failed:
        return AudienceChanged()
    if "previous" in failed and "op" not in failed:
        return LogDiverged()
    winner = reasons.get("op", {}).get("Item") if "op" in failed else None
    # The sequence was taken (by the op returned, when the table says), or the write collided with another
    # (TransactionConflict).
    return SeqTaken(_op(winner) if winner else None)
