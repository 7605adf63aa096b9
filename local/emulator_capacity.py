"""The capacity units a DynamoDB request would consume on AWS, from the items it touches in the emulator.

moto answers ConsumedCapacity with constants, so the cost benchmarks counted requests and assumed units per
request (1 a write, 6 a transaction). Here each request is measured as DynamoDB's pricing page says it is
billed (on demand, where a unit is a request unit):
- a read: 1 unit per 4 KB of the item (a Query: of all the items it reads, filtered out or not, together),
  half for an eventually consistent read (every read of an index is one); a missing item costs the minimum;
- a write: 1 unit per KB of the larger of the item before and after, at least 1 (a delete: the item before;
  a write whose condition fails costs it too, and `bench.pipeline` counts it whatever the answer's status);
- a transaction: twice that for each of its parts, condition checks included (a cancelled one is counted as
  if applied: an upper bound, since AWS does not say);
- each global secondary index holding the item before or after (all of ours project every attribute): 1 unit
  per KB for a put, a change or a delete in it, from a transaction too; a write that moves the item to
  another key of the index deletes the old entry and puts the new one, each sized on its own; a write that
  changed nothing, none.
Item sizes follow DynamoDB's rules (`_size`). Approximate: a Query or Scan whose items were all filtered out
is billed the minimum here, and one answered with a projection that leaves out the table's keys is sized on
its answer; the app makes neither on a hot path. The access log writes the units on each request's line
(`local/emulator.py`), where `bench.pipeline` adds them up. Measured only with KALEXO_EMULATOR_UNITS=1 (the
benchmark sets it), since it reads every item a request touches once more.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any

HEADER = "x-kalexo-capacity"
_WRITES = ("Put", "Update", "Delete", "ConditionCheck")


@dataclass
class Units:
    read: float = 0.0
    write: float = 0.0

    def header(self) -> str:
        return f"{self.read:g}/{self.write:g}"


class Measure:
    """One request: `before` runs under the emulator's lock before moto applies it, `after` right after."""

    def __init__(self, backend: Any, action: str, body: str) -> None:
        self._backend = backend
        self._action = action
        try:
            self._request: dict[str, Any] = json.loads(body) if body else {}
        except ValueError:
            self._request = {}
        # (table, key, the item before as (size, its key in each index), factor): a snapshot, since moto
        # updates an item in place
        self._old: list[tuple[Any, dict[str, Any], _Snapshot, float]] = []

    def before(self) -> None:
        request, action = self._request, self._action
        if action in ("PutItem", "UpdateItem", "DeleteItem"):
            self._note(request.get("TableName"), request.get("Key") or request.get("Item") or {}, 1.0)
        elif action == "TransactWriteItems":
            for part in request.get("TransactItems", []):
                for kind in _WRITES:
                    if kind in part:
                        spec = part[kind]
                        self._note(spec.get("TableName"), spec.get("Key") or spec.get("Item") or {}, 2.0)
        elif action == "BatchWriteItem":
            for table_name, requests in request.get("RequestItems", {}).items():
                for one in requests:
                    spec = one.get("PutRequest") or one.get("DeleteRequest") or {}
                    self._note(table_name, spec.get("Key") or spec.get("Item") or {}, 1.0)

    def after(self, response_body: Any) -> Units:
        units = Units()
        for table, key, old, factor in self._old:
            new = _snapshot(table, _item(table, key))
            units.write += factor * _blocks(max(old.size, new.size), 1024)
            units.write += _index_writes(old, new)
        if self._action in ("GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"):
            units.read = self._reads(response_body)
        return units

    def annotate(self, result: Any) -> None:
        """Write the units on moto's answer (status, headers, body) as a header, for the access log."""
        headers = result[1] if isinstance(result, tuple) and len(result) == 3 else None
        if isinstance(headers, dict):
            headers[HEADER] = self.after(result[2]).header()

    def _note(self, table_name: Any, key_or_item: dict[str, Any], factor: float) -> None:
        table = self._table(table_name)
        if table is not None:
            key = {k: v for k, v in key_or_item.items() if k in (table.hash_key_attr, table.range_key_attr)}
            self._old.append((table, key, _snapshot(table, _item(table, key)), factor))

    def _table(self, name: Any) -> Any:
        try:
            return self._backend.get_table(str(name))
        except Exception:  # moto answers the request with its own error
            return None

    def _reads(self, response_body: Any) -> float:
        request, action = self._request, self._action
        if action == "GetItem":
            table = self._table(request.get("TableName"))
            size = _size(_item(table, request.get("Key", {}))) if table is not None else 0
            return _blocks(size, 4096) * (1.0 if request.get("ConsistentRead") else 0.5)
        try:
            answer = json.loads(response_body) if response_body else {}
        except (TypeError, ValueError):
            return 0.0
        if action in ("Query", "Scan"):
            table = self._table(request.get("TableName"))
            items = answer.get("Items", [])
            size = sum(_full_size(table, item) for item in items)
            if items and int(answer.get("ScannedCount", 0)) > len(items):  # billed on what was read, filtered or not
                size = size * int(answer["ScannedCount"]) // len(items)
            consistent = request.get("ConsistentRead") and not request.get("IndexName")
            return _blocks(size, 4096) * (1.0 if consistent else 0.5)
        total = 0.0  # BatchGetItem, TransactGetItems: per item (a transaction's reads cost double)
        responses = answer.get("Responses", {})
        pairs = responses.items() if isinstance(responses, dict) else [
            (r.get("TableName", ""), [r.get("Item", {})]) for r in responses]
        for table_name, items in pairs:
            table = self._table(table_name)
            consistent = (request.get("RequestItems", {}).get(table_name) or {}).get("ConsistentRead")
            for item in items:
                factor = 2.0 if action == "TransactGetItems" else 1.0 if consistent else 0.5
                total += _blocks(_full_size(table, item), 4096) * factor
        return total


def _item(table: Any, key: dict[str, Any]) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType

    hash_value = key.get(table.hash_key_attr)
    if hash_value is None:
        return None
    range_value = key.get(table.range_key_attr) if table.range_key_attr else None
    try:
        return table.get_item(DynamoType(hash_value), DynamoType(range_value) if range_value else None)
    except Exception:  # a malformed key: moto answers it
        return None


def _full_size(table: Any, wire_item: dict[str, Any]) -> int:
    """The stored item's size (a projected answer is smaller than what the read is billed on)."""
    stored = _item(table, wire_item) if table is not None else None
    if stored is not None:
        return _size(stored)
    return sum(len(k.encode()) + len(json.dumps(v)) for k, v in wire_item.items())


def _size(item: Any) -> int:
    """An item's size as DynamoDB bills it: each attribute's name and value in UTF-8 (moto's own `size()`
    counts a number by its digits and leaves out a list's or map's overhead)."""
    return sum(len(name.encode()) + _value_size(value.type, value.value)
               for name, value in item.attrs.items()) if item is not None else 0


def _value_size(kind: str, value: Any) -> int:
    if kind == "S":
        return len(value.encode())
    if kind == "N":
        digits = value.lstrip("-").replace(".", "").lstrip("0").rstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1  # a byte per two significant digits, and one
    if kind == "B":
        return len(value) if isinstance(value, bytes) else len(base64.b64decode(value))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size(kind[0], v) for v in value)
    if kind == "L":
        return 3 + sum(1 + _value_size(v.type, v.value) for v in value)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v.type, v.value) for k, v in value.items())
    return len(json.dumps(value, default=str))


def _blocks(size: int, block: int) -> int:
    return max(1, math.ceil(size / block))


@dataclass(frozen=True)
class _Snapshot:
    size: int  # 0: no item
    content: str  # what it holds, to tell a write that changed nothing (its condition failed)
    index_keys: tuple[tuple[str, ...] | None, ...]  # per global index, None where the item is not in it


def _snapshot(table: Any, item: Any) -> _Snapshot:
    content = json.dumps(item.to_json(), sort_keys=True, default=str) if item is not None else ""
    indexes = getattr(table, "global_indexes", [])
    return _Snapshot(_size(item), content, tuple(_index_key(index, item) for index in indexes))


def _index_writes(old: _Snapshot, new: _Snapshot) -> float:
    if old.content == new.content:
        return 0.0  # nothing written, so no index changes
    units = 0.0
    for was, now in zip(old.index_keys, new.index_keys, strict=True):
        if was is None and now is None:
            continue
        if was is not None and now is not None and was != now:  # moved: out at its old size, in at its new
            units += _blocks(old.size, 1024) + _blocks(new.size, 1024)
        else:
            units += _blocks(max(old.size if was else 0, new.size if now else 0), 1024)
    return units


def _index_key(index: Any, item: Any) -> tuple[str, ...] | None:
    if item is None:
        return None
    values = tuple(item.attrs.get(name) for name in index.schema_key_attrs)
    return None if any(v is None for v in values) else tuple(str(v) for v in values)
