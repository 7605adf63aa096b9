"""JSON as browsers read it, both ways: what a client sends and what the server writes.

Python's `json` accepts and writes `NaN` and `Infinity`, which `JSON.parse` rejects: one such value stored in a
workspace would make every later message about it unreadable in a browser. It also recurses without a limit
of its own (30,000 nested arrays raise RecursionError, not ValueError). So parsing refuses both and bounds
the nesting depth, and writing refuses NaN and Infinity instead of emitting them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

MAX_DEPTH = 32  # objects and arrays inside one another: far beyond any message of the protocol or the API


class JsonRefused(ValueError):
    """The text is not JSON that every client can read back; the message says why."""


def _refuse_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not JSON (use null or a finite number)")


def loads(raw: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strictly: no NaN or Infinity, at most `max_depth` levels of nesting."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except JsonRefused:
        raise
    except RecursionError as exc:
        raise JsonRefused(f"nested deeper than {max_depth} levels") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonRefused(str(exc)) from exc
    if depth(value) > max_depth:
        raise JsonRefused(f"nested deeper than {max_depth} levels")
    return value


def depth(value: Any) -> int:
    """How deeply objects and arrays nest in a parsed value (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        level += 1
        deepest = max(deepest, level)
        stack.extend((child, level) for child in children)
    return deepest


def dumps(value: Any) -> str:
    """Compact JSON; a NaN or Infinity raises ValueError rather than reaching a client. Values JSON has no
    type for (a Decimal from DynamoDB, a set) are written as numbers, lists or text."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False, default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def size(value: Any) -> int:
    """Bytes of `value` as the server would send it (UTF-8, compact)."""
    return len(dumps(value).encode("utf-8"))
