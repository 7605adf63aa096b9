"""The capacity units the emulator says a DynamoDB request would consume on AWS (local/emulator_capacity.py),
for each kind of request the cost benchmarks count, against DynamoDB's billing rules worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.responses import DynamoHandler

from local.emulator_capacity import HEADER, Measure


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, list[str]]]:
    """A table with one global index, and the units header of every answer, in order."""
    seen: list[str] = []
    original = DynamoHandler.call_action

    def measured(self: Any) -> Any:
        body = self.body if isinstance(self.body, str) else (self.body or b"").decode()
        measure = Measure(self.dynamodb_backend, self.get_endpoint_name(self.headers) or "", body)
        measure.before()
        result = original(self)
        measure.annotate(result)
        seen.append(result[1].get(HEADER, "-"))
        return result

    monkeypatch.setattr(DynamoHandler, "call_action", measured)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "gpk", "gsk")],
            GlobalSecondaryIndexes=[{"IndexName": "gsi", "Projection": {"ProjectionType": "ALL"}, "KeySchema": [
                {"AttributeName": "gpk", "KeyType": "HASH"}, {"AttributeName": "gsk", "KeyType": "RANGE"}]}])
        seen.clear()
        yield client, seen


def key(sk: str) -> dict[str, Any]:
    return {"pk": {"S": "p"}, "sk": {"S": sk}}


def test_writes_cost_a_unit_a_kilobyte_and_one_more_in_each_index_holding_the_item(db: Any) -> None:
    client, seen = db
    client.put_item(TableName="t", Item={**key("a"), "gpk": {"S": "x"}, "gsk": {"S": "1"}})
    client.put_item(TableName="t", Item={**key("big"), "blob": {"S": "z" * 2500}})  # 2.5 KB, in no index
    client.update_item(TableName="t", Key=key("a"), UpdateExpression="SET gsk = :s",
                       ExpressionAttributeValues={":s": {"S": "2"}})  # moves within the index: out and in
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.update_item(TableName="t", Key=key("a"), UpdateExpression="SET n = :n",
                           ConditionExpression="attribute_not_exists(pk)", ExpressionAttributeValues={":n": {"N": "1"}})
    client.delete_item(TableName="t", Key=key("big"))
    assert seen == ["0/2", "0/3", "0/3", "0/1", "0/3"]


def test_a_transaction_costs_each_part_twice_and_its_index_writes_once(db: Any) -> None:
    client, seen = db
    client.put_item(TableName="t", Item={**key("job"), "gpk": {"S": "x"}, "gsk": {"S": "1"}, "n": {"N": "0"}})
    client.put_item(TableName="t", Item={**key("account"), "gpk": {"S": "y"}, "gsk": {"S": "1"}})
    client.transact_write_items(TransactItems=[
        {"Put": {"TableName": "t", "Item": {**key("page"), "w": {"N": "10"}},
                 "ConditionExpression": "attribute_not_exists(pk)"}},
        {"Update": {"TableName": "t", "Key": key("job"), "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"ConditionCheck": {"TableName": "t", "Key": key("account"), "ConditionExpression": "attribute_exists(pk)"}},
    ])
    # the page 2, the job 2 and its index 1, the check 2 (it writes nothing, so no index write)
    assert seen[2:] == ["0/7"]


def test_reads_cost_a_unit_per_4_kilobytes_half_when_eventually_consistent(db: Any) -> None:
    client, seen = db
    for n in range(3):  # 3 x 3 KB: 9 KB in one partition, all in the index
        client.put_item(TableName="t", Item={**key(f"i{n}"), "gpk": {"S": "x"}, "gsk": {"S": str(n)},
                                             "blob": {"S": "z" * 3000}})
    seen.clear()
    client.get_item(TableName="t", Key=key("i0"), ConsistentRead=True)
    client.get_item(TableName="t", Key=key("i0"))
    client.get_item(TableName="t", Key=key("none"), ConsistentRead=True)  # nothing there: the minimum
    client.query(TableName="t", KeyConditionExpression="pk = :p", ConsistentRead=True,
                 ExpressionAttributeValues={":p": {"S": "p"}})
    client.query(TableName="t", IndexName="gsi", KeyConditionExpression="gpk = :p",
                 ExpressionAttributeValues={":p": {"S": "x"}}, ProjectionExpression="pk, sk")  # billed on the items
    assert seen == ["1/0", "0.5/0", "1/0", "3/0", "1.5/0"]


def test_sizes_follow_dynamodb_not_moto_and_a_move_sizes_each_entry_on_its_own(db: Any) -> None:
    client, seen = db
    # 1,021 bytes as DynamoDB counts them (a 38-digit number is 20), 1,039 as moto's size() does (38)
    client.put_item(TableName="t", Item={**key("n"), "blob": {"S": "z" * 990}, "n": {"N": "1" * 38}})
    client.put_item(TableName="t", Item={**key("m"), "gpk": {"S": "x"}, "gsk": {"S": "1"}, "blob": {"S": "z" * 1500}})
    client.update_item(TableName="t", Key=key("m"), UpdateExpression="SET gsk = :s REMOVE #b",
                       ExpressionAttributeNames={"#b": "blob"},
                       ExpressionAttributeValues={":s": {"S": "2"}})  # moved and shrunk: out 2, in 1
    assert seen == ["0/1", "0/4", "0/5"]
