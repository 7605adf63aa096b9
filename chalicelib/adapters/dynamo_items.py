"""Converting between Python values and DynamoDB's attribute values, and paging through queries.

The conversion is written here rather than taken from boto3's `TypeSerializer`: importing `boto3.dynamodb.types`
imports all of boto3 and s3transfer (about 25 ms of every cold start, docs/benchmarks.md, "Cold start"), and the
app's clients are botocore's (chalicelib/aws.py). It covers the values this app stores: JSON's (str, int, float,
bool, None, dict, list) plus Decimal, bytes and sets, read back as plain Python values (numbers as int or float,
sets as lists).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.domain.errors import BadRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


_DYNAMODB_NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """An item's attribute values; attributes that are None are left out."""
    return {k: to_attribute(v) for k, v in values.items() if v is not None}


def to_attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):  # before int: bool is an int
        return {"BOOL": value}
    if isinstance(value, (int, Decimal, float)):
        return {"N": _number(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [to_attribute(v) for v in value]}
    if isinstance(value, (bytes, bytearray)):
        return {"B": bytes(value)}
    if isinstance(value, (set, frozenset)) and value:
        return _set(value)
    raise TypeError(f"cannot store {type(value).__name__} in DynamoDB: {value!r}")


def _number(value: int | Decimal | float) -> str:
    """JSON gives floats even for integers (3907.0). DynamoDB keeps 38 significant digits and exponents from
    -130 to +125: a number it would round or refuse raises here (decimal.Inexact and the like), before any
    request, as boto3's serialiser did; its emulator stores such numbers."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"DynamoDB cannot store the number {value!r}")
        value = int(value) if value.is_integer() else Decimal(repr(value))
    if isinstance(value, Decimal) and not value.is_finite():
        raise TypeError(f"DynamoDB cannot store the number {value!r}")
    return str(_DYNAMODB_NUMBERS.create_decimal(value))


def _set(values: set[Any] | frozenset[Any]) -> dict[str, Any]:
    if all(isinstance(v, str) for v in values):
        return {"SS": sorted(values)}
    if all(isinstance(v, (int, Decimal, float)) and not isinstance(v, bool) for v in values):
        return {"NS": sorted(_number(v) for v in values)}
    if all(isinstance(v, (bytes, bytearray)) for v in values):
        return {"BS": sorted(bytes(v) for v in values)}
    raise TypeError(f"a DynamoDB set holds strings, numbers or bytes of one kind: {values!r}")


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: from_attribute(v) for k, v in item.items()}


def from_attribute(value: dict[str, Any]) -> Any:
    (kind, data), = value.items()
    if kind == "S":
        return data
    if kind == "N":
        return _plain_number(data)
    if kind == "BOOL":
        return bool(data)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attribute(v) for k, v in data.items()}
    if kind == "L":
        return [from_attribute(v) for v in data]
    if kind == "B":
        return bytes(data)
    if kind == "SS":
        return list(data)
    if kind == "NS":
        return [_plain_number(v) for v in data]
    if kind == "BS":
        return [bytes(v) for v in data]
    raise TypeError(f"unknown DynamoDB attribute type {kind!r}")


def _plain_number(text: str) -> int | float:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def query_page(client: DynamoDBClient, limit: int, start_key: dict[str, Any] | None,
               **query: Any) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    kwargs: dict[str, Any] = {"Limit": limit, **query}
    if start_key:
        kwargs["ExclusiveStartKey"] = start_key
    try:
        response = client.query(**kwargs)
    except ClientError as exc:
        if start_key and exc.response.get("Error", {}).get("Code") == "ValidationException":
            raise BadRequest("the cursor does not fit this query", code="bad_cursor") from exc
        raise
    return [from_item(i) for i in response.get("Items", [])], response.get("LastEvaluatedKey")


def batch_delete(client: DynamoDBClient, table: str, keys: list[dict[str, Any]], attempts: int = 6) -> None:
    """Delete keys 25 at a time, resending what DynamoDB leaves unprocessed (under throttling it may)."""
    for start in range(0, len(keys), 25):
        requests: list[Any] = [{"DeleteRequest": {"Key": to_item(k)}} for k in keys[start:start + 25]]
        for attempt in range(attempts):
            left = client.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
            requests = list(left.get(table, []))
            if not requests:
                break
            time.sleep(0.05 * 2**attempt)
        else:
            raise RuntimeError(f"{len(requests)} deletes left unprocessed in {table}")
