"""JSON as browsers read it, both ways: what a client sends and what the server writes.

Python's `json` accepts and writes `NaN` and `Infinity`, which `JSON.parse` rejects: one such value stored in a
workspace would make every later message about it unreadable in a browser. It also recurses without a limit
of its own (30,000 nested arrays raise RecursionError, not ValueError). So parsing refuses both and bounds
the nesting depth, and writing refuses NaN and Infinity instead of emitting them. Parsing also refuses what
would come back different: numbers a double cannot hold (`1e400`), integers past 2^53 (a browser rounds them),
strings that are not Unicode (a lone surrogate), and an object naming one key twice.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

MAX_DEPTH = 32  # objects and arrays inside one another (the message itself is one): far beyond any need
MAX_SAFE_INTEGER = 2**53 - 1


class JsonRefused(ValueError):
    """The text is not JSON that every client can read back; the message says why."""


def _refuse_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not JSON (use null or a finite number)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonRefused(f"{text} is beyond what a double holds")
    return value


def _safe_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise JsonRefused(f"integers beyond {MAX_SAFE_INTEGER} lose precision in browsers and are refused "
                          "(in free-form data, such as an item's value, send the number as a string)")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise JsonRefused("an object names a key twice")
    return value


def loads(raw: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strictly: no NaN or Infinity, at most `max_depth` levels of nesting (see above)."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite, parse_int=_safe_int,
                           object_pairs_hook=_unique_keys)
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
    """How deeply objects and arrays nest in a parsed value (a scalar is 0), without recursion; JsonRefused
    for a string that is not Unicode (a lone surrogate, which `\\ud800` spells)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
            _unicode(*node)
        elif isinstance(node, list):
            children = node
        else:
            if isinstance(node, str):
                _unicode(node)
            continue
        level += 1
        deepest = max(deepest, level)
        stack.extend((child, level) for child in children)
    return deepest


def _unicode(*texts: str) -> None:
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise JsonRefused("a string is not Unicode text (a lone surrogate)") from exc


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
