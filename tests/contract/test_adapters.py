"""Each AWS adapter against the emulator, with the same expectations as its in-memory twin."""

import json
import time

import pytest

from chalicelib.adapters.dynamo_connections import DynamoConnectionStore
from chalicelib.adapters.dynamo_storage import DynamoStorageLedger
from chalicelib.adapters.dynamo_uploads import DynamoUploadLog
from chalicelib.adapters.health_probes import BucketProbe, EventSourceProbe, QueueProbe, TableProbe
from chalicelib.upload_ports import Receipt
from tests.fake_uploads import InMemoryUploadLog
from tests.fakes import InMemoryConnectionStore


@pytest.fixture(params=["dynamodb", "memory"])
def uploads(request, stack, clients):
    """(upload log, storage ledger): in memory one object; on DynamoDB two adapters on the same items."""
    if request.param == "memory":
        both = InMemoryUploadLog()
        return both, both
    table = stack.outputs["MainTableName"]
    return DynamoUploadLog(clients["dynamodb"], table), DynamoStorageLedger(clients["dynamodb"], table, "b")


def test_upload_log_records_each_version_once_and_meters_it_in_the_same_write(uploads, stack, clients):
    upload_log, ledger = uploads
    key, account = f"workspaces/w/{time.time_ns()}.pdf", f"acc-{time.time_ns()}"
    assert upload_log.record("b", key, "v1", 10, "e", account) is Receipt.RECORDED
    assert upload_log.record("b", key, "v1", 10, "e", account) is Receipt.DUPLICATE  # neither recorded nor metered
    assert upload_log.record("b", key, "v2", 11, "f", account) is Receipt.RECORDED
    assert ledger.totals(account) == {"bytes_stored": 21, "bytes_reserved": 0, "bytes_committed": 21}
    if not isinstance(upload_log, InMemoryUploadLog):
        from chalicelib.adapters.dynamo_usage import DynamoUsageMeter, period_of

        meter = DynamoUsageMeter(clients["dynamodb"], stack.outputs["MainTableName"])
        assert meter.read(account, period_of(time.time()))["bytes_uploaded"] == 21


def test_reservations_hold_the_plan_and_each_settles_one_upload(uploads):
    upload_log, ledger = uploads
    key, account = f"workspaces/w/documents/{time.time_ns()}/source", f"acc-{time.time_ns()}"
    later = int(time.time()) + 600
    assert ledger.reserve(account, key, "g1", 40, 100, later, granted_to="u-bob") is True
    assert ledger.reserve(account, key, "g2", 50, 100, later) is True
    assert ledger.reserve(account, key, "g3", 11, 100, later) is False  # 101 > 100
    assert ledger.totals(account) == {"bytes_stored": 0, "bytes_reserved": 90, "bytes_committed": 90}
    # A version settles the closest reservation that fits; a second PUT of the same size finds none left.
    assert upload_log.record("b", key, "v1", 40, "e", account, reserved=True) is Receipt.RECORDED
    assert ledger.holds(account, key, "g1") is False and ledger.holds(account, key, "g2") is True
    assert upload_log.record("b", key, "v2", 45, "e", account, reserved=True) is Receipt.RECORDED  # g2, 5 back
    assert upload_log.record("b", key, "v3", 45, "e", account, reserved=True) is Receipt.REFUSED
    assert upload_log.record("b", key, "v3", 45, "e", account, reserved=True) is Receipt.REFUSED_BEFORE
    assert (upload_log.accepted("b", key, "v2"), upload_log.accepted("b", key, "v3")) == (True, False)
    # Who uploaded: the holder of the grant a version settled (g2 named nobody; v3 settled none).
    assert [upload_log.uploader("b", key, v) for v in ("v1", "v2", "v3", "v9")] == ["u-bob", None, None, None]
    assert ledger.totals(account) == {"bytes_stored": 85, "bytes_reserved": 0, "bytes_committed": 85}
    # Released once, by abort or by expiry; extending keeps a reservation past its first expiry.
    assert ledger.reserve(account, key, "g4", 10, 100, later) is True
    assert ledger.release(account, key, "g4", 10) is True and ledger.release(account, key, "g4", 10) is False
    assert ledger.reserve(account, key, "g5", 5, 100, int(time.time()) - 1) is True
    assert ledger.reserve(account, key, "g6", 5, 100, int(time.time()) - 1) is True
    assert ledger.extend(account, key, "g6", later) is True
    assert ledger.release_expired(account) == 1
    assert (ledger.holds(account, key, "g5"), ledger.holds(account, key, "g6")) == (False, True)
    assert ledger.totals(account) == {"bytes_stored": 85, "bytes_reserved": 5, "bytes_committed": 90}
    # A removed document's versions give their bytes back, once, and its open reservations go.
    assert ledger.give_back(account, key) == 85 and ledger.give_back(account, key) == 0
    assert ledger.totals(account) == {"bytes_stored": 0, "bytes_reserved": 0, "bytes_committed": 0}
    assert upload_log.record("b", key, "v4", 5, "e", account, reserved=True) is Receipt.REFUSED


def test_a_reservation_is_not_left_to_the_tables_ttl_which_would_skip_its_release(stack, clients):
    table, dynamodb = stack.outputs["MainTableName"], clients["dynamodb"]
    ledger = DynamoStorageLedger(dynamodb, table, "b")
    key, account = f"workspaces/w/documents/{time.time_ns()}/source", f"acc-{time.time_ns()}"
    assert ledger.reserve(account, key, "g1", 10, None, int(time.time()) - 1) is True
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"ACCOUNT#{account}"},
                                                   "sk": {"S": f"RESERVED#{key}#g1"}})["Item"]
    assert "expires_at" not in item and int(item["reserved_until"]["N"]) < time.time()
    # One written before the change (its expiry in the TTL attribute) is still released when expired.
    dynamodb.put_item(TableName=table, Item={**item, "sk": {"S": f"RESERVED#{key}#g0"},
                                             "upload_id": {"S": "g0"}, "expires_at": item["reserved_until"]})
    dynamodb.update_item(TableName=table, Key={"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": "USAGE#TOTAL"}},
                         UpdateExpression="ADD bytes_reserved :s, bytes_committed :s",
                         ExpressionAttributeValues={":s": {"N": "10"}})
    dynamodb.update_item(TableName=table, Key={"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": f"RESERVED#{key}#g0"}},
                         UpdateExpression="REMOVE reserved_until")
    assert ledger.totals(account)["bytes_reserved"] == 20
    assert ledger.release_expired(account) == 2
    assert ledger.totals(account) == {"bytes_stored": 0, "bytes_reserved": 0, "bytes_committed": 0}


def test_bytes_reserved_that_no_reservation_holds_are_given_back_unless_reservations_change_meanwhile(
        stack, clients):
    table, dynamodb = stack.outputs["MainTableName"], clients["dynamodb"]
    ledger = DynamoStorageLedger(dynamodb, table, "b")
    key, account = f"workspaces/w/documents/{time.time_ns()}/source", f"acc-{time.time_ns()}"
    later = int(time.time()) + 600
    assert ledger.reserve(account, key, "g1", 10, 100, later) and ledger.reserve(account, key, "g2", 7, 100, later)
    # g2 deleted as the table's TTL did to reservations that kept their expiry in `expires_at`: never released.
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": f"RESERVED#{key}#g2"}})
    assert ledger.totals(account)["bytes_reserved"] == 17

    # While the reservations are listed, g1 (10) is released before the listing and g3 (10) granted after it:
    # the total is back where it was read, but the listing holds neither. Giving back "17 - 0" would take
    # g3's bytes too; the count of changes tells, and nothing is repaired.
    listed = ledger._query

    def meanwhile(pk: str, prefix: str) -> list:
        ledger._query = listed  # type: ignore[method-assign]
        assert ledger.release(account, key, "g1", 10)
        found = list(listed(pk, prefix))
        assert ledger.reserve(account, key, "g3", 10, 100, later)
        return found

    ledger._query = meanwhile  # type: ignore[method-assign,assignment]
    assert ledger.release_expired(account) == 0
    assert ledger.totals(account)["bytes_reserved"] == 17  # not repaired
    assert ledger.release_expired(account) == 0  # the next call: g3 is all there is
    assert ledger.totals(account) == {"bytes_stored": 0, "bytes_reserved": 10, "bytes_committed": 10}
    assert ledger.release_expired(account) == 0  # nothing more to repair
    assert ledger.totals(account) == {"bytes_stored": 0, "bytes_reserved": 10, "bytes_committed": 10}
    assert ledger.release(account, key, "g3", 10)
    assert ledger.totals(account) == {"bytes_stored": 0, "bytes_reserved": 0, "bytes_committed": 0}


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
