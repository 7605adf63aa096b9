"""The emulator refuses expression placeholders no expression uses, as DynamoDB does (local/emulator_expressions.py)."""

import json

from local.emulator_expressions import refusal


def _message(action: str, request: dict) -> str | None:
    answer = refusal(action, json.dumps(request))
    if answer is None:
        return None
    status, _, body = answer
    assert status == 400 and json.loads(body)["__type"].endswith("#ValidationException")
    return str(json.loads(body)["message"])


def test_an_unused_value_or_name_is_refused_as_dynamodb_refuses_it():
    query = {"TableName": "t", "KeyConditionExpression": "pk = :p AND begins_with(sk, :c)",
             "ExpressionAttributeValues": {":p": {"S": "a"}, ":c": {"S": "b"}, ":now": {"N": "1"}}}
    assert _message("Query", query) == ("Value provided in ExpressionAttributeValues unused in expressions: "
                                        "keys: {:now}")
    query["FilterExpression"] = "expires_at > :now"
    assert _message("Query", query) is None
    query["ExpressionAttributeNames"] = {"#n": "name"}
    assert _message("Query", query) == "Name provided in ExpressionAttributeNames unused in expressions: keys: {#n}"
    query["ProjectionExpression"] = "#n"
    assert _message("Query", query) is None


def test_each_part_of_a_transaction_has_its_own_placeholders():
    update = {"TableName": "t", "Key": {}, "UpdateExpression": "SET a = :a", "ExpressionAttributeValues": {
        ":a": {"N": "1"}}}
    delete = {"TableName": "t", "Key": {}, "ConditionExpression": "b = :b", "ExpressionAttributeValues": {
        ":b": {"N": "1"}, ":a": {"N": "1"}}}  # :a is used by the other part, not by this one
    assert _message("TransactWriteItems", {"TransactItems": [{"Update": update}]}) is None
    assert "keys: {:a}" in str(_message("TransactWriteItems", {"TransactItems": [{"Update": update},
                                                                                {"Delete": delete}]}))


def test_other_actions_and_bodies_are_left_to_moto():
    assert refusal("ListTables", "{}") is None
    assert refusal("Query", "not json") is None
    assert _message("PutItem", {"TableName": "t", "Item": {}}) is None
