"""Each AWS adapter against the emulator, with the same expectations as its in-memory twin: the connection store,
the health probes, S3 notifications, snapshots (the upload log's: test_upload_adapters.py)."""

import json
import time

import pytest

from chalicelib.adapters.dynamo_connections import DynamoConnectionStore
from chalicelib.adapters.health_probes import BucketProbe, EventSourceProbe, QueueProbe, TableProbe
from tests.fakes import InMemoryConnectionStore


@pytest.fixture(params=["dynamodb", "memory"])
def store(request, stack, clients):
    if request.param == "memory":
        return InMemoryConnectionStore()
    return DynamoConnectionStore(clients["dynamodb"], stack.outputs["ConnectionsTableName"])


def test_connection_store_contract(store, stack, clients):
    """The same expectations for the DynamoDB store and its in-memory twin."""
    suffix = str(time.time_ns())
    ws, other = f"ws-{suffix}", f"ws2-{suffix}"
    store.put(f"c1-{suffix}", "alice", ws, {"account_id": "acc"})
    store.put(f"c2-{suffix}", "alice", other, {"account_id": "acc"})
    store.put(f"c3-{suffix}", "bob", ws, {"account_id": "acc"})
    store.put(f"c4-{suffix}", "bob", None, {"account_id": "acc"})
    row = store.get(f"c1-{suffix}")
    assert (row["user_id"], row["workspace_id"], row["account_id"]) == ("alice", ws, "acc")
    assert store.get("no-such-connection") is None
    assert sorted(store.of_user("alice", ws)) == [f"c1-{suffix}"]
    assert sorted(store.of_user("alice")) == sorted([f"c1-{suffix}", f"c2-{suffix}"])
    assert store.online_users(ws) == {"alice", "bob"}
    store.delete(f"c1-{suffix}")
    store.delete(f"c1-{suffix}")  # deleting twice is not an error ($disconnect may repeat a TTL reap)
    assert store.get(f"c1-{suffix}") is None
    assert store.online_users(ws) == {"bob"}
    assert store.of_user("alice", ws) == []
    store.subscribe_events(f"c3-{suffix}", f"acc-{suffix}")
    store.subscribe_events(f"c4-{suffix}", "*")
    assert store.event_subscribers(f"acc-{suffix}") == [f"c3-{suffix}"]
    assert f"c4-{suffix}" in store.event_subscribers("*")
    store.unsubscribe_events(f"c4-{suffix}")
    assert f"c4-{suffix}" not in store.event_subscribers("*")
    store.delete(f"c3-{suffix}")  # a disconnect ends the subscription with the connection
    assert store.event_subscribers(f"acc-{suffix}") == []
    store.put(f"c3-{suffix}", "bob", ws, {"account_id": "acc"})
    if isinstance(store, DynamoConnectionStore):
        item = clients["dynamodb"].get_item(TableName=stack.outputs["ConnectionsTableName"],
                                            Key={"pk": {"S": f"CONN#c3-{suffix}"}, "sk": {"S": "CONN"}})["Item"]
        assert int(item["expires_at"]["N"]) > time.time() + 7200  # reaped by TTL if $disconnect never comes


def test_a_workspaces_connections_follow_every_way_in_and_out(store):
    """The list ops and presence go to: every way a connection enters or leaves a workspace changes it."""
    suffix = str(time.time_ns())
    ws, other = f"ws-{suffix}", f"ws2-{suffix}"
    a, b, c = (f"{name}-{suffix}" for name in "abc")
    store.put(a, "ann", ws, {})  # a $connect that names the workspace
    store.put(b, "bob", None, {})
    store.put(c, "cat", None, {})
    assert store.in_workspace(ws) == [a]
    assert store.bind(b, "bob", ws) == "-"
    assert store.bind(c, "cat", other) == "-"
    assert sorted(store.in_workspace(ws)) == [a, b] and store.in_workspace(other) == [c]
    assert store.bind(c, "cat", ws) == other  # moved: out of the one it was in
    assert sorted(store.in_workspace(ws)) == [a, b, c] and store.in_workspace(other) == []
    assert store.bind(c, "cat", ws) == ws  # joined twice: still once in the list
    assert sorted(store.in_workspace(ws)) == [a, b, c]
    assert store.unbind(b, ws) is not None  # a leave
    assert store.unbind(b, ws) is None
    assert sorted(store.in_workspace(ws)) == [a, c]
    assert store.gone(c) is not None  # a 410 (the connection had sent something: it is open)
    assert store.in_workspace(ws) == [a]
    store.delete(a)  # $disconnect
    assert store.in_workspace(ws) == []
    assert store.bind(a, "ann", ws) is None  # a join arriving after $disconnect: not listed
    assert store.in_workspace(ws) == []
    assert store.bind(b, "bob", None) == "-"
    assert store.in_workspace(ws) == []
    assert store.bind(b, "bob", ws) == "-"
    assert store.unbind(b, ws, stale_before=int(time.time()) + 1) is not None  # swept out
    assert store.in_workspace(ws) == []


@pytest.fixture
def dynamo_store(stack, clients):
    return DynamoConnectionStore(clients["dynamodb"], stack.outputs["ConnectionsTableName"])


def test_the_list_does_not_wait_for_the_index(dynamo_store, stack, clients):
    """On AWS a global index may not show a bind for a moment; the list an op goes to must. The rows' index
    keys are put back as a lagging index would still show them."""
    ddb, table = clients["dynamodb"], stack.outputs["ConnectionsTableName"]
    suffix = str(time.time_ns())
    ws, joiner, leaver = f"ws-{suffix}", f"j-{suffix}", f"l-{suffix}"

    def index_shows(connection_id: str, workspace: str) -> None:
        ddb.update_item(TableName=table, Key={"pk": {"S": f"CONN#{connection_id}"}, "sk": {"S": "CONN"}},
                        UpdateExpression="SET gsi1pk = :p", ExpressionAttributeValues={":p": {"S": f"WS#{workspace}"}})

    dynamo_store.put(joiner, "ann", None, {})
    dynamo_store.put(leaver, "bob", ws, {})
    dynamo_store.bind(joiner, "ann", ws)
    index_shows(joiner, "-")
    dynamo_store.unbind(leaver, ws)
    index_shows(leaver, ws)
    assert dynamo_store.in_workspace(ws) == [joiner]
    # Who is online, too: a member joining a moment after another missed the other's announcement, and would not
    # see the other online until the other's presence moved.
    assert dynamo_store.online_users(ws) == {"ann"}
    assert [(r["connection_id"], r["user_id"]) for r in dynamo_store.present(ws)] == [(joiner, "ann")]
    sent: list[dict] = []

    def record(params: dict, **_: object) -> None:
        sent.append(dict(params))

    ddb.meta.events.register("provide-client-params.dynamodb.Query", record)
    try:
        dynamo_store.in_workspace(ws)
    finally:
        ddb.meta.events.unregister("provide-client-params.dynamodb.Query", record)
    assert sent and sent[-1].get("ConsistentRead") is True and "IndexName" not in sent[-1]


def test_a_connection_bound_before_memberships_were_kept_is_listed_from_its_next_heartbeat(
        dynamo_store, stack, clients):
    ddb, table = clients["dynamodb"], stack.outputs["ConnectionsTableName"]
    suffix = str(time.time_ns())
    ws, old, gone_meanwhile = f"ws-{suffix}", f"o-{suffix}", f"g-{suffix}"
    for connection_id in (old, gone_meanwhile):  # rows as the previous release wrote them: no membership
        ddb.put_item(TableName=table, Item={
            "pk": {"S": f"CONN#{connection_id}"}, "sk": {"S": "CONN"}, "gsi1pk": {"S": f"WS#{ws}"},
            "gsi1sk": {"S": f"USER#ann#CONN#{connection_id}"}, "connection_id": {"S": connection_id},
            "user_id": {"S": "ann"}, "workspace_id": {"S": ws}, "connected_at": {"N": str(int(time.time()))},
            "last_seen": {"N": str(int(time.time()))}, "expires_at": {"N": str(int(time.time()) + 3600)}})
    assert dynamo_store.in_workspace(ws) == []
    assert dynamo_store.online_users(ws) == {"ann"}  # in no list yet, but online: the index says so
    assert dynamo_store.touch(old, ws)
    assert dynamo_store.in_workspace(ws) == [old]
    assert dynamo_store.touch(old, ws)  # once adopted, a heartbeat writes nothing more
    assert dynamo_store.in_workspace(ws) == [old]
    assert dynamo_store.unbind(gone_meanwhile, ws) is not None  # left before any heartbeat: nothing to adopt
    assert not dynamo_store.touch(gone_meanwhile, ws)
    assert dynamo_store.in_workspace(ws) == [old]
    dynamo_store.delete(old)
    assert dynamo_store.in_workspace(ws) == []


def test_probes_report_present_and_missing_components(stack, clients):
    ddb, sqs, s3 = clients["dynamodb"], clients["sqs"], clients["s3"]
    assert TableProbe(ddb, stack.outputs["MainTableName"]).check().ok
    missing = TableProbe(ddb, "no-such-table").check()
    assert not missing.ok and missing.error
    queue = QueueProbe(sqs, stack.outputs["TilesQueueName"], stack.outputs["TilesDeadLetterQueueName"]).check()
    assert queue.ok and queue.detail["dead_letters"] == 0 and "latency_ms" in queue.detail
    assert not QueueProbe(sqs, "nope", "nope-dlq").check().ok
    assert BucketProbe(s3, stack.outputs["TilesBucketName"]).check().ok
    assert not BucketProbe(s3, "no-such-bucket-kalexo").check().ok


def test_event_source_probe_needs_fresh_heartbeats(stack, clients):
    ddb, table = clients["dynamodb"], stack.outputs["MainTableName"]
    probe = EventSourceProbe(ddb, table, ["q-fresh", "q-stale"], required=True, max_age_seconds=30)
    assert not probe.check().ok  # no heartbeat at all
    for queue, age in (("q-fresh", 1), ("q-stale", 120)):
        ddb.put_item(TableName=table, Item={"pk": {"S": EventSourceProbe.HEARTBEAT_PK}, "sk": {"S": queue},
                                            "last_poll_at": {"N": str(time.time() - age)}})
    result = probe.check()
    assert not result.ok
    assert result.detail["pollers"]["q-fresh"]["seconds_since_poll"] < 30
    assert EventSourceProbe(ddb, table, ["q-fresh"], required=True, max_age_seconds=30).check().ok
    assert EventSourceProbe(ddb, table, ["x"], required=False).check().detail == {"managed_by": "aws-lambda"}


def test_s3_notification_reaches_the_uploads_queue_with_an_encoded_key(stack, clients):
    s3, sqs = clients["s3"], clients["sqs"]
    url = sqs.get_queue_url(QueueName=stack.outputs["UploadsQueueName"])["QueueUrl"]
    folder = f"w{time.time_ns()}"  # other tests' uploads may share the queue: this test looks at its own keys
    s3.put_object(Bucket=stack.outputs["DocumentsBucketName"], Key=f"workspaces/{folder}/plan A.pdf", Body=b"%PDF")
    s3.put_object(Bucket=stack.outputs["DocumentsBucketName"], Key=f"elsewhere/{folder}/x.pdf", Body=b"%PDF")
    bodies: list[str] = []
    deadline = time.time() + 4  # drain for a fixed window: a wrongly delivered notification must be seen too
    while time.time() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    keys = [key for b in bodies for r in json.loads(b).get("Records", [])
            if folder in (key := r["s3"]["object"]["key"])]
    assert len(keys) == 1  # the prefix filter keeps other folders out
    from chalicelib.domain.s3_notifications import parse_notification
    ours = next(b for b in bodies if folder in b)
    assert parse_notification(ours)[0].key == f"workspaces/{folder}/plan A.pdf"


def test_snapshots_round_trip_and_are_found_by_sequence(stack, clients):
    from chalicelib.adapters.s3_snapshots import S3Snapshots

    snapshots = S3Snapshots(clients["s3"], stack.outputs["DocumentsBucketName"])
    workspace = f"ws-{time.time_ns()}"
    assert snapshots.at_or_before(workspace, 1000) == 0
    for seq in (200, 400, 600):
        snapshots.put(workspace, seq, {"seq": seq, "items": {"n": {"kind": "note", "created_seq": 1,
                                                                  "fields": {"a": [seq, 1.5]}, "deleted_seq": None}}})
    assert snapshots.at_or_before(workspace, 599) == 400
    assert snapshots.at_or_before(workspace, 600) == 600
    assert snapshots.get(workspace, 400)["items"]["n"]["fields"]["a"] == [400, 1.5]


def test_the_emulator_refuses_an_expression_value_no_expression_uses(stack, clients):
    """As DynamoDB does: a store that passes locally must not fail its first call on AWS for this."""
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        clients["dynamodb"].query(TableName=stack.outputs["ConnectionsTableName"], KeyConditionExpression="pk = :p",
                                  ExpressionAttributeValues={":p": {"S": "WS#x"}, ":now": {"N": "1"}})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "unused in expressions: keys: {:now}" in refused.value.response["Error"]["Message"]
