"""Converting between Python values and DynamoDB's attribute values, and paging through queries."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.domain.errors import BadRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_storable(v)) for k, v in values.items() if v is not None}


def _storable(value: Any) -> Any:
    """boto3 refuses Python floats; JSON gives them even for integers (3907.0)."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, set)):
        return [_plain(v) for v in value]
    return value


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
