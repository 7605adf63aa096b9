"""Failures on purpose in the emulator's DynamoDB (6. of local/emulator_dynamodb.py): the rules of the JSON file
named by KALEXO_EMULATOR_FAULTS, re-read when it changes, and the error a failed request answers."""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from typing import Any


@dataclass
class Rule:
    action: str
    contains: str
    when: str
    probability: float
    left: int
    delay_s: float = 0.0

    def matches(self, action: str, body: str) -> bool:
        return self.left > 0 and action == self.action and self.contains in body and \
            random.random() < self.probability  # noqa: S311 (a test harness, not security)


class FaultRules:
    def __init__(self, path: str | None) -> None:
        self._path = path
        self._mtime = 0.0
        self._rules: list[Rule] = []
        self.injected = 0

    def pick(self, action: str, body: str, delays: bool = False) -> Rule | None:
        """A failure rule (or with `delays`, a delay rule) this request matches, counted."""
        self._reload()
        for rule in self._rules:
            if (rule.when == "delay") == delays and rule.matches(action, body):
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
                            float(r.get("probability", 1.0)), int(r.get("count", 1_000_000)),
                            float(r.get("delay_ms", 0)) / 1000) for r in raw]


def injected_error() -> Any:
    body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                       "message": "fault injected by the local emulator"})
    return 500, {"Content-Type": "application/x-amz-json-1.0", "status": 500}, body
