"""The emulator writes the items of DynamoDB responses with `json` (local/emulator_dynamodb.py, 5.): every
response must read exactly as moto's model-driven serializer writes it, for every attribute type."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoResult

from local.emulator_dynamodb import _items_as_json

ITEM: dict[str, Any] = {
    "pk": {"S": "a"}, "sk": {"N": "1.50"}, "b": {"B": b"\x00\xff"}, "t": {"BOOL": True}, "z": {"NULL": True},
    "m": {"M": {"x": {"L": [{"S": "y"}, {"NULL": True}, {"BOOL": False}, {"B": b"\x01"}]}}},
    "ss": {"SS": ["a", "b"]}, "bs": {"BS": [b"1", b"\xfe"]}, "ns": {"NS": ["1", "2.5"]}, "u": {"S": "é\u2028"}}


def test_items_read_exactly_as_moto_writes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    moto_writes = getattr(DynamoResult.execute_result, "kalexo_original", DynamoResult.execute_result)
    fast = _items_as_json(moto_writes)
    compared: list[str] = []

    def both(self: Any, context: Any) -> Any:
        expected = moto_writes(self, context)
        status, headers, body = fast(self, context)
        assert status == expected[0]
        assert set(headers) == set(expected[1])
        assert json.loads(body) == json.loads(expected[2]), context.operation_model.name
        compared.append(context.operation_model.name)
        return expected

    monkeypatch.setattr(DynamoResult, "execute_result", both)
    with mock_aws():
        db = boto3.client("dynamodb", region_name="us-east-1")
        db.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                   {"AttributeName": "sk", "KeyType": "RANGE"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                              {"AttributeName": "sk", "AttributeType": "N"}])
        db.put_item(TableName="t", Item=ITEM)
        key = {"pk": {"S": "a"}, "sk": {"N": "1.50"}}
        assert db.get_item(TableName="t", Key=key)["Item"]["b"]["B"] == b"\x00\xff"
        assert "Item" not in db.get_item(TableName="t", Key={"pk": {"S": "none"}, "sk": {"N": "1"}})
        page = db.query(TableName="t", KeyConditionExpression="pk = :p AND sk > :s", Limit=1,
                        ExpressionAttributeValues={":p": {"S": "a"}, ":s": {"N": "0"}}, ReturnConsumedCapacity="TOTAL")
        assert page["Items"][0]["bs"]["BS"] == [b"1", b"\xfe"]
        db.scan(TableName="t")
        db.batch_get_item(RequestItems={"t": {"Keys": [key]}})
        db.transact_get_items(TransactItems=[{"Get": {"TableName": "t", "Key": key}}])
        db.update_item(TableName="t", Key=key, UpdateExpression="SET c = :c", ReturnValues="ALL_NEW",
                       ExpressionAttributeValues={":c": {"N": "3"}})
        db.describe_table(TableName="t")
    assert {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems", "UpdateItem",
            "DescribeTable"} <= set(compared)
