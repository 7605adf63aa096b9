"""The WebSocket API through the real local stack with a stock client (the `websockets` library).

Hand-written connections on purpose: this is the wire itself (upgrades refused, close codes, frame limits,
malformed messages), which a client library exists to hide."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from chalicelib.domain.principal import Role

pytestmark = pytest.mark.e2e


def ping(ws, request_id: str = "r1") -> dict:
    ws.send(json.dumps({"action": "ping", "id": request_id}))
    return json.loads(ws.recv(timeout=10))


def test_connect_with_token_ping_pong(stack):
    with connect(f"{stack.ws}/?token={stack.token('alice')}") as ws:
        reply = ping(ws, "hello-1")
    assert reply["action"] == "pong"
    assert reply["id"] == "hello-1"


@pytest.mark.parametrize("query", ["", "?token=", "?token=not-a-jwt"])
def test_bad_or_missing_token_is_refused_at_connect(stack, query):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{stack.ws}/{query}")
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body)["error"]["code"] in {"missing_token", "invalid_token"}


def test_expired_token_is_refused(stack):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{stack.ws}/?token={stack.token('alice', ttl=-120)}")
    assert json.loads(refused.value.response.body)["error"]["code"] == "token_expired"


def test_malformed_and_unknown_messages_get_error_replies(stack):
    with connect(f"{stack.ws}/?token={stack.token()}") as ws:
        ws.send("{oops")
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == "bad_json"
        ws.send(json.dumps({"action": "teleport", "id": 5}))
        reply = json.loads(ws.recv(timeout=10))
        assert (reply["error"]["code"], reply["id"]) == ("unknown_action", 5)  # the id comes back as it was sent


def connection_id_of(stack, user: str) -> str:
    """The newest connection row of a user, read from the connections table the app wrote."""
    ddb = stack.client("dynamodb")
    rows = ddb.query(TableName=stack.env["KALEXO_CONNECTIONS_TABLE"], IndexName="gsi2",
                     KeyConditionExpression="gsi2pk = :u", ExpressionAttributeValues={":u": {"S": f"USER#{user}"}})
    newest = max(rows["Items"], key=lambda item: int(item["connected_at"]["N"]))
    return newest["connection_id"]["S"]


def test_post_to_connection_reaches_the_client_then_gone_after_it_leaves(stack):
    client = stack.client("apigatewaymanagementapi", endpoint_url=stack.management_http)
    with connect(f"{stack.ws}/?token={stack.token('bob')}") as ws:
        ping(ws)  # the connection row exists once $connect returned; a round trip proves the socket is up
        connection_id = connection_id_of(stack, "bob")
        client.post_to_connection(ConnectionId=connection_id, Data=b'{"action":"hello","from":"boto3"}')
        assert json.loads(ws.recv(timeout=10)) == {"action": "hello", "from": "boto3"}
        info = client.get_connection(ConnectionId=connection_id)
        assert info["Identity"]["SourceIp"] == "127.0.0.1"
        assert info["ConnectedAt"] <= info["LastActiveAt"]
    deadline = time.time() + 10
    while time.time() < deadline:  # $disconnect is asynchronous, as on AWS
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=b"late")
        except client.exceptions.GoneException:
            break
        time.sleep(0.1)
    else:
        pytest.fail("post_to_connection kept succeeding after the client left")
    ddb = stack.client("dynamodb")
    key = {"pk": {"S": f"CONN#{connection_id}"}, "sk": {"S": "CONN"}}
    deadline = time.time() + 10
    while time.time() < deadline and "Item" in ddb.get_item(TableName=stack.env["KALEXO_CONNECTIONS_TABLE"], Key=key):
        time.sleep(0.1)
    assert "Item" not in ddb.get_item(TableName=stack.env["KALEXO_CONNECTIONS_TABLE"], Key=key), "$disconnect ran"


def test_chalice_websocket_api_sends_over_https_like_execute_api(stack, monkeypatch):
    from chalice.app import WebsocketAPI, WebsocketDisconnectedError

    monkeypatch.setenv("AWS_CA_BUNDLE", stack.ca_bundle)
    api = WebsocketAPI()
    api.session = stack.session()
    host, stage = stack.management_https.removeprefix("https://").split("/")
    api.configure(host, stage)
    with connect(f"{stack.ws}/?token={stack.token('vera')}") as ws:
        ping(ws)
        connection_id = connection_id_of(stack, "vera")
        api.send(connection_id, json.dumps({"action": "progress", "done": 3}))
        assert json.loads(ws.recv(timeout=10)) == {"action": "progress", "done": 3}
        api.close(connection_id)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    with pytest.raises(WebsocketDisconnectedError):
        api.send(connection_id, "after close")


def test_management_api_refuses_unsigned_and_oversized_posts(stack):
    import requests

    response = requests.post(f"{stack.management_http}/@connections/whatever", data=b"x", timeout=10)
    assert response.status_code == 403
    client = stack.client("apigatewaymanagementapi", endpoint_url=stack.management_http)
    with connect(f"{stack.ws}/?token={stack.token()}") as ws:
        ping(ws)
        connection_id = connection_id_of(stack, "alice")
        with pytest.raises(client.exceptions.PayloadTooLargeException):
            client.post_to_connection(ConnectionId=connection_id, Data=b"x" * (128 * 1024 + 1))
        assert ping(ws)["action"] == "pong"


def test_message_over_128_kb_closes_with_1009_and_others_keep_working(stack):
    with connect(f"{stack.ws}/?token={stack.token('bob')}") as bystander, \
            connect(f"{stack.ws}/?token={stack.token('alice')}", max_size=None) as ws:
        exactly = json.dumps({"action": "ping", "id": "max", "pad": ""})
        exactly = exactly.replace('"pad": ""', '"pad": "' + "x" * (128 * 1024 - len(exactly)) + '"')
        assert len(exactly.encode()) == 128 * 1024
        ws.send(exactly)
        assert json.loads(ws.recv(timeout=10))["id"] == "max"  # exactly 128 KB is allowed
        ws.send("x" * (128 * 1024 + 1))
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
        assert ping(bystander)["action"] == "pong"
    with connect(f"{stack.ws}/?token={stack.token('alice')}") as again:
        assert ping(again)["action"] == "pong"


def test_admin_role_is_not_needed_for_ping(stack):
    with connect(f"{stack.ws}/?token={stack.token('admin', (Role.PLATFORM_ADMIN,))}") as ws:
        assert ping(ws)["action"] == "pong"


def test_binary_frames_close_with_1003_like_api_gateway(stack):
    with connect(f"{stack.ws}/?token={stack.token()}") as ws:
        ws.send(b"\x00\x01binary")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003


def test_only_the_stage_path_upgrades(stack):
    with connect(f"{stack.ws}/local?token={stack.token()}") as ws:
        assert ping(ws)["action"] == "pong"
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{stack.ws}/elsewhere?token={stack.token()}")
    assert refused.value.response.status_code == 403


def test_a_message_sent_just_before_the_close_is_still_invoked(stack):
    """An outside client sent a chat and closed at once: the local gateway stored 3 of 6. What API Gateway
    received is invoked; only messages still waiting behind their connection's earlier ones may be dropped."""
    from tests.e2e.api_client import wait_until

    workspace = "ws-demo"
    sent = [f"closed-at-once-{time.time_ns()}-{n}" for n in range(6)]
    for op_id in sent:
        ws = connect(f"{stack.ws}/?token={stack.token('bob')}")
        ws.send(json.dumps({"action": "chat", "workspace": workspace, "text": op_id, "op_id": op_id}))
        ws.close()

    def stored() -> set[str]:
        with connect(f"{stack.ws}/?token={stack.token('alice')}") as reader:
            reader.send(json.dumps({"action": "join", "id": "j", "workspace": workspace}))
            while (welcome := json.loads(reader.recv(timeout=20)))["action"] != "welcome":
                pass
            after = max(0, welcome["latest_seq"] - 200)
            reader.send(json.dumps({"action": "history", "id": "h", "workspace": workspace, "after": after,
                                    "limit": 200}))
            while (page := json.loads(reader.recv(timeout=20)))["action"] != "history":
                pass
            return {op.get("op_id") for op in page["ops"]}

    assert wait_until(lambda: set(sent) <= stored(), "every message sent before its close stored", 60)
