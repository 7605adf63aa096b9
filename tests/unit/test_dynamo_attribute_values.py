"""The app's own DynamoDB attribute conversion (chalicelib/adapters/dynamo_items.py) against boto3's, which it
replaces so that no function imports boto3 at cold start: the same wire values for everything the app stores,
and the same plain values read back as the old conversion (boto3's, then numbers as int or float, sets as lists)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.adapters.dynamo_items import from_attribute, from_item, to_attribute, to_item

VALUES: list[Any] = [
    "", "text", "ünïcødé ✓", 0, 1, -7, 2**62, 10**37, Decimal("3.25"), Decimal("-0.5"), True, False, None,
    3907.0, 0.1, -2.5, 1e-07, 12345.678, {"a": 1, "b": [1, "x", None, True]}, [], {}, [{"k": {"n": 2.5}}],
    b"\x00\xffbytes", {"s1", "s2"}, {1, 2, 3}, (1, "t"),
]


def _boto3(value: Any) -> dict[str, Any]:
    """What the old conversion sent: floats made int or Decimal first (boto3 refuses floats)."""
    def storable(v: Any) -> Any:
        if isinstance(v, float):
            return int(v) if v.is_integer() else Decimal(repr(v))
        if isinstance(v, dict):
            return {k: storable(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [storable(x) for x in v]
        return v

    wire: dict[str, Any] = dict(TypeSerializer().serialize(storable(value)))
    return wire


def _sorted_sets(attribute: dict[str, Any]) -> dict[str, Any]:
    (kind, data), = attribute.items()
    return {kind: sorted(data)} if kind in ("SS", "NS", "BS") else attribute


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_the_wire_value_is_boto3s(value: Any) -> None:
    assert _sorted_sets(to_attribute(value)) == _sorted_sets(_boto3(value))


def _old_plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _old_plain(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_old_plain(v) for v in value]
    if type(value).__name__ == "Binary":
        return bytes(value.value)
    return value


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_reading_back_gives_what_the_old_conversion_gave(value: Any) -> None:
    wire = _boto3(value)
    mine, old = from_attribute(wire), _old_plain(TypeDeserializer().deserialize(wire))  # type: ignore[arg-type]
    if isinstance(old, list) and isinstance(value, (set, frozenset)):
        assert sorted(mine) == sorted(old)
    else:
        assert mine == old
        assert type(mine) is type(old)


def test_an_item_leaves_out_none_and_round_trips() -> None:
    item = to_item({"pk": "USER#u1", "gone": None, "n": 3907.0, "f": 0.25, "m": {"l": [1, 2]}})
    assert item == {"pk": {"S": "USER#u1"}, "n": {"N": "3907"}, "f": {"N": "0.25"},
                    "m": {"M": {"l": {"L": [{"N": "1"}, {"N": "2"}]}}}}
    assert from_item(item) == {"pk": "USER#u1", "n": 3907, "f": 0.25, "m": {"l": [1, 2]}}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"), object(), set(), {1, "mixed"}],
                         ids=repr)
def test_what_dynamodb_cannot_hold_is_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        to_attribute(value)


@pytest.mark.parametrize("value", [2**130, Decimal("1" * 40), 1e300, 1e-200, Decimal("1E+200"), Decimal("1E-200")],
                         ids=repr)
def test_numbers_dynamodb_would_round_or_refuse_fail_before_any_request_as_with_boto3(value: Any) -> None:
    with pytest.raises(ArithmeticError):
        _boto3(value)
    with pytest.raises(ArithmeticError):
        to_attribute(value)
