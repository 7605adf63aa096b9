"""The events the local runtime hands to the app have the shape AWS documents (API Gateway websocket
proxy events, Lambda's SQS event, EventBridge scheduled events)."""

import base64

from multidict import CIMultiDict, MultiDict

from local.scheduler import scheduled_event
from local.sqs_pollers import lambda_sqs_event
from local.ws_events import ApiInfo, ConnectionInfo, connect_event, disconnect_event, message_event

API = ApiInfo(api_id="abc123", stage="local", domain_name="127.0.0.1:8002")
CONN = ConnectionInfo("L0SM9cOFvHcCIhw=", "10.1.2.3", "test-agent")
CONTEXT_FIELDS = {"routeKey", "eventType", "extendedRequestId", "requestTime", "messageDirection", "stage",
                  "connectedAt", "requestTimeEpoch", "identity", "requestId", "domainName", "connectionId", "apiId"}


def test_connect_event_carries_headers_query_and_request_context():
    event = connect_event(API, CONN, CIMultiDict([("Host", "x"), ("Sec-WebSocket-Key", "k")]),
                          MultiDict([("token", "t"), ("workspace", "w"), ("token", "t2")]))
    context = event["requestContext"]
    assert set(context) >= CONTEXT_FIELDS
    assert (context["routeKey"], context["eventType"], context["apiId"], context["stage"]) == \
        ("$connect", "CONNECT", "abc123", "local")
    assert context["identity"]["sourceIp"] == "10.1.2.3"
    assert event["queryStringParameters"] == {"token": "t2", "workspace": "w"}  # the last value wins, as on AWS
    assert event["multiValueQueryStringParameters"]["token"] == ["t", "t2"]
    assert event["headers"]["Sec-WebSocket-Key"] == "k"
    assert event["isBase64Encoded"] is False


def test_message_and_disconnect_events():
    message = message_event(API, CONN, "$default", '{"action":"ping"}')
    assert message["body"] == '{"action":"ping"}' and message["isBase64Encoded"] is False
    assert message["requestContext"]["eventType"] == "MESSAGE" and "messageId" in message["requestContext"]
    gone = disconnect_event(API, CONN, 1001, "Going away")
    assert gone["requestContext"]["disconnectStatusCode"] == 1001
    assert gone["requestContext"]["eventType"] == "DISCONNECT"
    assert set(gone["headers"]) == {"Host", "x-api-key", "X-Forwarded-For", "x-restapi"}


def test_sqs_event_matches_lambdas_shape():
    event = lambda_sqs_event([{
        "MessageId": "m1", "ReceiptHandle": "r1", "Body": "hello", "MD5OfBody": "5d4",
        "Attributes": {"ApproximateReceiveCount": "2"},
        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "x"},
                              "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}},
    }], "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
    [record] = event["Records"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":q")
    assert record["attributes"]["ApproximateReceiveCount"] == "2"
    assert record["messageAttributes"]["kind"] == {"stringValue": "x", "stringListValues": [],
                                                   "binaryListValues": [], "dataType": "String"}
    assert base64.b64decode(record["messageAttributes"]["blob"]["binaryValue"]) == b"\x00\x01"


def test_scheduled_event_shape():
    event = scheduled_event("purge", "us-east-1")
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["resources"][0].endswith(":rule/purge")
