"""Six changes to the emulator's DynamoDB, about what a real table guarantees, what it costs, and what
really fails.

1. One request at a time. moto's server is threaded and its conditional writes read, check and write in
   separate steps: two requests racing for one key could both pass `attribute_not_exists` and one write
   would silently replace the other. DynamoDB applies a conditional write atomically, and the op log's
   correctness rests on that (chalicelib/adapters/dynamo_oplog.py), so DynamoDB requests are serialized here.
2. Transactions that cost what they touch. moto 5.2 deep-copies every table a TransactWriteItems names, to
   roll back on failure: with a few thousand ops and pages stored, one transaction took tens of milliseconds,
   and every op is one. Here the conditions are all checked first, against the state before the transaction
   (as DynamoDB does), and the writes applied only if all hold; what is rolled back is the items it wrote.
3. Queries that read one partition. moto 5.2 answers every Query by sorting every item of the table, then
   filtering: each op's catch-up read cost O(all ops of all workspaces), and slowed as the log grew. Here a
   Query on the table reads its partition only, narrowed by its sort key condition first (moto sizes every
   item of the partition before testing that condition: a catch-up read of a 2,000-op log sized 2,000 items
   to return none), and one on an index skips the sort it redoes anyway.
4. Condition expressions parsed once. moto parses each one twice per request (to validate, then to evaluate),
   with a pure-Python lexer: 2.5 ms of a 3.6 ms transaction. The parse of one (expression, names, values) is
   kept and reused: the tree is evaluated against items, never changed.
5. Items written as JSON. moto 5.2 serializes every response by walking the API model: each attribute value
   is a structure of ten members looked up one by one, 0.8 ms an item, so a catch-up read of 300 ops took
   240 ms and stalled every writer behind the lock. The items of a response (the only large part) are written
   with `json` instead, exactly as the model-driven serializer writes them (binary as base64); the rest of the
   response still goes through moto's serializer.
6. Failures on purpose, for tests: rules in the JSON file named by KALEXO_EMULATOR_FAULTS (re-read when it
   changes) make matching requests answer 500 InternalServerError, either `before` doing anything or `after`
   doing it (the write happened, the caller cannot know: what a timeout looks like to a client):
   [{"action": "TransactWriteItems", "contains": "kalexo-local-ops", "when": "after", "probability": 0.2,
     "count": 10}]
   `contains` is matched against the request body; `count` bounds how many requests the rule fails. A rule
   with `"when": "delay"` and `"delay_ms"` fails nothing: the matching request waits that long before it is
   handled, outside the lock (a slow network for that caller only; everyone else goes on).
A seventh, TransactWriteItems' ClientRequestToken, is in local/emulator_tokens.py; an eighth, the capacity
units each request would consume on AWS (for the cost benchmarks), in local/emulator_capacity.py; a ninth,
unused expression placeholders refused as DynamoDB refuses them, in local/emulator_expressions.py.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from local import emulator_capacity, emulator_expressions, emulator_tokens
from local.emulator_faults import FaultRules, injected_error

_lock = threading.Lock()
_rules_lock = threading.Lock()  # delay rules are picked outside _lock
# Entered around each request, inside the lock: durable state makes a request's changes one record with it
# (local/emulator_durable.py).
request_scope: Callable[[], AbstractContextManager[Any]] = nullcontext


def serialized() -> threading.Lock:
    """The lock every DynamoDB request holds: whoever holds it sees no DynamoDB change meanwhile."""
    return _lock


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """moto's DynamoDBBackend.transact_write_items, checking first and writing after (see 2. above)."""
    from moto.dynamodb.exceptions import TooManyTransactionsException, TransactionCanceledException

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    errors, writes = _check_all(self, transact_items)
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)
    before = []
    for _, name, key, _ in writes:
        old = self.get_item(name, key)
        before.append((name, key, copy.deepcopy(old.to_json()["Attributes"]) if old is not None else None))
    try:
        for kind, name, key, op in writes:
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if kind == "Put":
                self.put_item(name, op["Item"], expression_attribute_names=names,
                              expression_attribute_values=values, overwrite=True)
            elif kind == "Delete":
                self.delete_item(name, key)
            else:
                self.update_item(name, key, update_expression=op["UpdateExpression"],
                                 expression_attribute_names=names, expression_attribute_values=values)
    except Exception:
        for name, key, old_item in reversed(before):  # what this transaction wrote goes back to what it was
            if old_item is None:
                self.delete_item(name, key)
            else:
                self.put_item(name, old_item, overwrite=True)
        raise


def _check_all(self: Any, transact_items: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    """Every part's condition against the state before the transaction: (CancellationReasons, the writes)."""
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import MultipleTransactionsException, TransactWriteSingleOpException

    errors: list[Any] = []
    writes: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []  # (kind, table, key, op)
    seen: set[str] = set()
    for item in transact_items:
        if len(item) > 1:
            raise TransactWriteSingleOpException
        kind, op = next(iter(item.items()))
        table = self.get_table(op["TableName"])
        key = op["Key"] if kind != "Put" else {
            name: op["Item"][name] for name in (table.hash_key_attr, table.range_key_attr) if name is not None}
        identity = f"{op['TableName']}|{sorted(key.items())}"
        if identity in seen:
            raise MultipleTransactionsException()
        seen.add(identity)
        current = self.get_item(op["TableName"], key)
        condition = op.get("ConditionExpression")
        if condition is not None and not get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")).expr(current):
            old = current.to_json()["Attributes"] if current is not None and \
                op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" else None
            errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
            continue
        errors.append((None, None, None))
        if kind != "ConditionCheck":
            writes.append((kind, op["TableName"], key, op))
    return errors, writes


def _partition_query(original: Any) -> Any:
    """Table.query with `all_items` narrowed to what the query can match (see 3. above)."""

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        if index_name is None and self.range_key_attr is not None and hash_key is not None:
            partition = self.items.get(hash_key)
            candidates = list(partition.values()) if partition else []
            comparison, values = (args[0], args[1]) if len(args) > 1 else (None, None)
            if comparison and values:
                candidates = [item for item in candidates if item.range_key.compare(comparison, values)]
        elif self.range_key_attr is not None:
            candidates = [item for partition in self.items.values() for item in partition.values()]
        else:
            candidates = list(self.items.values())
        self.all_items = lambda: candidates  # the instance attribute shadows the method for this call only
        try:
            return original(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    return query


def _remember_parses() -> None:
    """ConditionExpressionParser.parse, once per (expression, names, values) (see 4. above)."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser.parse
    known: dict[tuple[Any, str, str], tuple[Any, list[str], list[str]]] = {}

    def parse(self: Any) -> Any:
        key = (self.condition_expression, json.dumps(self.expression_attribute_names, sort_keys=True),
               json.dumps(self.expression_attribute_values, sort_keys=True, default=str))
        hit = known.get(key)
        if hit is None:
            hit = (original(self), list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            if len(known) < 10_000:
                known[key] = hit
        self.expr_attr_names_found, self.expr_attr_values_found = list(hit[1]), list(hit[2])
        return hit[0]

    ConditionExpressionParser.parse = parse  # type: ignore[method-assign]


_ITEM_KEYS = ("Items", "Item", "Responses", "Attributes")  # Query/Scan, GetItem, Batch/TransactGet, writes


def _wire(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} in a DynamoDB item")


def _items_as_json(original: Any) -> Any:
    """DynamoResult.execute_result with the items of the result written by `json` (see 5. above)."""
    from moto.core.responses import ActionResult

    def execute_result(self: Any, context: Any) -> Any:
        result = self.result
        if not isinstance(result, dict) or not any(key in result for key in _ITEM_KEYS):
            return original(self, context)
        rest = {key: value for key, value in result.items() if key not in _ITEM_KEYS}
        status, headers, body = ActionResult(rest).execute_result(context)
        document = json.loads(body)
        document.update({key: result[key] for key in _ITEM_KEYS if result.get(key) is not None})
        return status, headers, json.dumps(document, default=_wire)

    execute_result.kalexo_original = original  # type: ignore[attr-defined]
    return execute_result


def install() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    if getattr(DynamoHandler.call_action, "kalexo_serialized", False):
        return  # once per process
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    Table.query = _partition_query(Table.query)  # type: ignore[method-assign]
    DynamoResult.execute_result = _items_as_json(DynamoResult.execute_result)  # type: ignore[method-assign]
    _remember_parses()
    rules = FaultRules(os.environ.get("KALEXO_EMULATOR_FAULTS"))
    units = os.environ.get("KALEXO_EMULATOR_UNITS") == "1"  # the cost benchmarks' (it reads items again)
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        action = self.get_endpoint_name(self.headers) or ""
        body = self.body if isinstance(self.body, str) else (self.body or b"").decode("utf-8", "replace")
        with _rules_lock:
            slow = rules.pick(action, body, delays=True)
        if slow is not None:
            time.sleep(slow.delay_s)
        with _lock, request_scope():
            with _rules_lock:
                rule = rules.pick(action, body)
            if rule is not None and rule.when == "before":
                return injected_error()
            refused = emulator_expressions.refusal(action, body)  # a placeholder no expression uses
            if refused is not None:
                return refused
            retried = emulator_tokens.answered(action, body)
            if retried is not None:
                return retried  # nothing done, so nothing to fail `after` it
            measure = emulator_capacity.Measure(self.dynamodb_backend, action, body) if units else None
            if measure is not None:
                measure.before()
            result = original(self)
            if measure is not None:
                measure.annotate(result)
            emulator_tokens.completed(action, body, result)
            if rule is not None and rule.when == "after" and int(result[0]) < 300:
                return injected_error()
            return result

    call_action.kalexo_serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
