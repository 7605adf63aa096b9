"""Two changes to the emulator's DynamoDB, both about what a real table guarantees and what really fails.

1. One request at a time. moto's server is threaded and its conditional writes read, check and write in
   separate steps: two requests racing for one key could both pass `attribute_not_exists` and one write
   would silently replace the other. DynamoDB applies a conditional write atomically, and the op log's
   correctness rests on that (chalicelib/adapters/dynamo_oplog.py), so DynamoDB requests are serialized here.
2. Failures on purpose, for tests: rules in the JSON file named by KALEXO_EMULATOR_FAULTS (re-read when it
   changes) make matching requests answer 500 InternalServerError, either `before` doing anything or `after`
   doing it (the write happened, the caller cannot know: what a timeout looks like to a client):
   [{"action": "TransactWriteItems", "contains": "kalexo-local-ops", "when": "after", "probability": 0.2,
     "count": 10}]
   `contains` is matched against the request body; `count` bounds how many requests the rule fails.
"""

from __future__ import annotations

import json
import os
import random
import threading
from dataclasses import dataclass
from typing import Any

_lock = threading.Lock()


@dataclass
class Rule:
    action: str
    contains: str
    when: str
    probability: float
    left: int

    def matches(self, action: str, body: str) -> bool:
        return self.left > 0 and action == self.action and self.contains in body and \
            random.random() < self.probability  # noqa: S311 (a test harness, not security)


class FaultRules:
    def __init__(self, path: str | None) -> None:
        self._path = path
        self._mtime = 0.0
        self._rules: list[Rule] = []
        self.injected = 0

    def pick(self, action: str, body: str) -> Rule | None:
        self._reload()
        for rule in self._rules:
            if rule.matches(action, body):
                rule.left -= 1
                self.injected += 1
                return rule
        return None

    def _reload(self) -> None:
        if not self._path:
            return
        try:
            mtime = os.stat(self._path).st_mtime
        except FileNotFoundError:
            self._rules, self._mtime = [], 0.0
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        with open(self._path) as f:
            raw = json.load(f)
        self._rules = [Rule(str(r["action"]), str(r.get("contains", "")), str(r.get("when", "before")),
                            float(r.get("probability", 1.0)), int(r.get("count", 1_000_000))) for r in raw]


def _injected_error() -> Any:
    body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                       "message": "fault injected by the local emulator"})
    return 500, {"Content-Type": "application/x-amz-json-1.0", "status": 500}, body


def install() -> None:
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "kalexo_serialized", False):
        return  # once per process
    rules = FaultRules(os.environ.get("KALEXO_EMULATOR_FAULTS"))
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        action = self.get_endpoint_name(self.headers) or ""
        body = self.body if isinstance(self.body, str) else (self.body or b"").decode("utf-8", "replace")
        with _lock:
            rule = rules.pick(action, body)
            if rule is not None and rule.when == "before":
                return _injected_error()
            result = original(self)
            if rule is not None and rule.when == "after" and int(result[0]) < 300:
                return _injected_error()
            return result

    call_action.kalexo_serialized = True  # type: ignore[attr-defined]
    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
