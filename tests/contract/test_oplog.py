"""The op log's guarantees, proved against the DynamoDB adapter on the emulator (not the in-memory twin):
each condition of the append on its own, then many writers racing (each its own "function instance") while
readers page the log, then writes that fail after they happened."""

from __future__ import annotations

import json
import threading
import time

import pytest

from chalicelib.adapters.dynamo_oplog import DynamoOpLog
from chalicelib.adapters.s3_snapshots import S3Snapshots
from chalicelib.domain.ops import Op, OpError
from chalicelib.domain.tenancy import WorkspaceRole, WriteGrant
from chalicelib.log_ports import DuplicateOp, GrantRevoked, LogDiverged, SeqTaken
from chalicelib.services.workspace_log import WorkspaceLog


@pytest.fixture
def oplog(stack, clients) -> DynamoOpLog:
    return DynamoOpLog(clients["dynamodb"], stack.outputs["OpsTableName"], stack.outputs["MainTableName"])


@pytest.fixture
def workspace() -> str:
    return f"ws-{time.time_ns()}"


def chat(seq: int, text: str = "hi", op_id: str | None = None) -> Op:
    return Op(seq, "chat", "bob", 0, {"text": text, "n": 1.5}, op_id)


def test_ops_are_stored_in_order_only_after_their_predecessor_and_only_once(oplog, workspace):
    assert oplog.latest(workspace) == 0
    for seq in range(1, 6):
        oplog.append(workspace, chat(seq, f"m{seq}"), f"c{seq}", None)
    assert oplog.latest(workspace) == 5
    page = oplog.after(workspace, 2, 2)
    assert [o.seq for o in page] == [3, 4] and page[0].data == {"text": "m3", "n": 1.5}
    assert oplog.after(workspace, 5, 10) == [] and oplog.get(workspace, 4).data["text"] == "m4"
    with pytest.raises(SeqTaken):
        oplog.append(workspace, chat(5), "other", None)  # taken
    with pytest.raises(LogDiverged):
        oplog.append(workspace, chat(7), "skip", None)  # 6 is missing: never a hole
    with pytest.raises(DuplicateOp) as duplicate:
        oplog.append(workspace, chat(6), "c3", None)  # the claim of op 3
    assert duplicate.value.seq == 3 and oplog.claimed(workspace, "c3") == 3
    assert oplog.latest(workspace) == 5



def test_an_op_without_an_op_id_writes_no_claim_item_and_keeps_every_other_condition(stack, clients, oplog,
                                                                                      workspace):
    oplog.append(workspace, chat(1), None, None)  # alone in its transaction: the op and nothing else
    oplog.append(workspace, chat(2), None, None)
    oplog.append(workspace, chat(3, op_id="o3"), "bob#o3", None)
    with pytest.raises(SeqTaken):
        oplog.append(workspace, chat(3), None, None)
    with pytest.raises(LogDiverged):
        oplog.append(workspace, chat(5), None, None)
    claims = clients["dynamodb"].scan(TableName=stack.outputs["OpsTableName"], FilterExpression="begins_with(pk, :c)",
                                      ExpressionAttributeValues={":c": {"S": f"CLAIM#{workspace}#"}})["Items"]
    assert [c["pk"]["S"] for c in claims] == [f"CLAIM#{workspace}#bob#o3"]
    assert [o.seq for o in oplog.after(workspace, 0, 10)] == [1, 2, 3]

def test_an_op_written_again_after_its_answer_was_lost_finds_itself_stored_not_a_lost_race(oplog, workspace):
    """A retry the request token does not cover (a new call, or an emulator restarted between attempts) must
    not read the op's own write as another writer's: the caller would store it again at the next number."""
    oplog.append(workspace, chat(1, "mine"), None, None)
    oplog.append(workspace, chat(1, "mine"), None, None)  # sent again: it is there, once
    with pytest.raises(SeqTaken) as lost:
        oplog.append(workspace, chat(1, "someone else's"), None, None)
    assert lost.value.winner == chat(1, "mine")
    assert [o.data["text"] for o in oplog.after(workspace, 0, 10)] == ["mine"]


def test_a_grant_is_checked_in_the_same_write(stack, clients, oplog, workspace):
    main = stack.outputs["MainTableName"]
    ddb = clients["dynamodb"]
    ddb.put_item(TableName=main, Item={"pk": {"S": f"WORKSPACE#{workspace}"}, "sk": {"S": "MEMBER#bob"},
                                       "role": {"S": "editor"}})
    ddb.put_item(TableName=main, Item={"pk": {"S": "USER#ann"}, "sk": {"S": "USER"}, "role": {"S": "account_admin"},
                                       "account_id": {"S": "acc-a"}})
    editor = WriteGrant("bob", workspace, "acc-a", "member", (WorkspaceRole.EDITOR, WorkspaceRole.OWNER))
    oplog.append(workspace, chat(1), "g1", editor)
    oplog.append(workspace, chat(2), "g2", WriteGrant("ann", workspace, "acc-a", "account_admin"))
    with pytest.raises(GrantRevoked):  # ann administers another account
        oplog.append(workspace, chat(3), "g3", WriteGrant("ann", workspace, "acc-b", "account_admin"))
    with pytest.raises(GrantRevoked):  # ann is no platform admin
        oplog.append(workspace, chat(3), "g3", WriteGrant("ann", workspace, "acc-a", "platform_admin"))
    ddb.put_item(TableName=main, Item={"pk": {"S": f"WORKSPACE#{workspace}"}, "sk": {"S": "MEMBER#bob"},
                                       "role": {"S": "viewer"}})
    with pytest.raises(GrantRevoked):  # demoted a moment ago
        oplog.append(workspace, chat(3), "g3", editor)
    ddb.delete_item(TableName=main, Key={"pk": {"S": f"WORKSPACE#{workspace}"}, "sk": {"S": "MEMBER#bob"}})
    with pytest.raises(GrantRevoked):  # removed
        oplog.append(workspace, chat(3), "g3", WriteGrant("bob", workspace, "acc-a", "member",
                                                        (WorkspaceRole.VIEWER,)))
    assert oplog.latest(workspace) == 2 and oplog.claimed(workspace, "g3") is None


class CountingOpLog(DynamoOpLog):
    lost_races = 0

    def append(self, *args, **kwargs):
        try:
            return super().append(*args, **kwargs)
        except SeqTaken:
            CountingOpLog.lost_races += 1
            raise


def instance(stack, clients) -> WorkspaceLog:
    """A WorkspaceLog of its own, as another function instance would have."""
    oplog = CountingOpLog(clients["dynamodb"], stack.outputs["OpsTableName"], stack.outputs["MainTableName"])
    return WorkspaceLog(oplog, S3Snapshots(clients["s3"], stack.outputs["DocumentsBucketName"]))


def test_racing_writers_leave_a_gap_free_log_and_readers_only_ever_see_prefixes(stack, clients, oplog, workspace):
    writers, each = 8, 15
    acked: list[tuple[int, str]] = []
    seen_problems: list[str] = []
    done = threading.Event()

    def write(w: int) -> None:
        try:
            log = instance(stack, clients)
            for i in range(each):
                kind, data = ("item.create", {"item_id": f"w{w}-{i}", "kind": "note", "fields": {"i": i}}) \
                    if i % 3 else ("chat", {"text": f"{w}/{i}"})
                appended = log.append(workspace, kind, f"user{w}", data, op_id=f"op-{i}")
                acked.append((appended.op.seq, f"user{w}#op-{i}"))
        except BaseException as exc:  # reported below: a writer must never fail
            seen_problems.append(f"writer {w}: {exc!r}")

    def read() -> None:
        while not done.is_set():
            latest = oplog.latest(workspace)
            page = oplog.after(workspace, max(0, latest - 5), 50)
            seqs = [o.seq for o in page]
            if seqs and seqs != list(range(seqs[0], seqs[0] + len(seqs))):
                seen_problems.append(f"page with a hole: {seqs}")
            if seqs and seqs[0] != max(0, latest - 5) + 1:
                seen_problems.append(f"page after {latest - 5} starts at {seqs[0]}")

    CountingOpLog.lost_races = 0
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    readers = [threading.Thread(target=read) for _ in range(2)]
    for t in threads + readers:
        t.start()
    for t in threads:
        t.join(timeout=300)
    done.set()
    for t in readers:
        t.join(timeout=60)
    assert not seen_problems, seen_problems[:5]
    assert CountingOpLog.lost_races > 0  # the writers did collide, and each collision was resolved
    stored = oplog.after(workspace, 0, 1000)
    assert [o.seq for o in stored] == list(range(1, writers * each + 1))  # no hole, nothing twice
    assert sorted(seq for seq, _ in acked) == [o.seq for o in stored]  # every ack is its own op
    by_seq = {o.seq: o for o in stored}
    assert all(f"{by_seq[seq].by}#{by_seq[seq].op_id}" == claim for seq, claim in acked)
    fresh = instance(stack, clients).current(workspace)  # every reader rebuilds the same state
    assert len(fresh.items) == writers * sum(1 for i in range(each) if i % 3)


def test_a_write_that_fails_after_it_happened_is_recognised_not_repeated(stack, clients, faults_file, workspace):
    log = instance(stack, clients)
    log.append(workspace, "chat", "bob", {"text": "before"}, op_id="a")
    # Every other op write succeeds at the table but answers 500: boto3 retries it under the same
    # ClientRequestToken, DynamoDB answers the retry without applying it again, and the writer must answer
    # with the op that was stored, once (an op without an op id has no claim: the token is all it has).
    attempts: list[str] = []

    def count(**_: object) -> None:
        attempts.append("sent")
    clients["dynamodb"].meta.events.register("before-send.dynamodb.TransactWriteItems", count)
    faults_file.write_text(json.dumps([{"action": "TransactWriteItems", "contains": workspace, "when": "after",
                                        "probability": 0.5, "count": 20}]))
    try:
        results = [log.append(workspace, "item.create", "bob", {"item_id": f"n{i}", "kind": "note", "fields": {}},
                              op_id=f"n{i}") for i in range(12)]
        unnamed = [log.append(workspace, "chat", "bob", {"text": f"no op id {i}"}) for i in range(6)]
    finally:
        faults_file.unlink()
        clients["dynamodb"].meta.events.unregister("before-send.dynamodb.TransactWriteItems", count)
    stored = log.after(workspace, 0, 100)
    assert [o.seq for o in stored] == list(range(1, 20))
    assert [r.op.seq for r in results + unnamed] == list(range(2, 20))  # each once, in order
    assert len(attempts) > len(results + unnamed)  # the faults did happen: writes were sent again
    again = log.append(workspace, "item.create", "bob", {"item_id": "n3", "kind": "note", "fields": {}},
                       op_id="n3")
    assert again.duplicate and again.op.seq == results[3].op.seq
    with pytest.raises(OpError) as exists:  # the same item without the op id is a new, refused op
        log.append(workspace, "item.create", "bob", {"item_id": "n3", "kind": "note", "fields": {}})
    assert exists.value.code == "item_exists"


def test_reading_past_one_megabyte_of_ops_returns_them_all(stack, clients, workspace):
    """One DynamoDB Query stops at 1 MB; the log's reads continue it, so a replay never mistakes a page cut by
    size for the log's end (a state as of an old sequence, a catch-up after a snapshot)."""
    log = instance(stack, clients)
    for i in range(90):  # 90 ops of ~15 KB: 1.3 MB of log
        log.append(workspace, "item.create", "bob", {"item_id": f"i{i:03d}", "kind": "note",
                                                      "fields": {"p": "x" * 15_000}})
    oplog = DynamoOpLog(clients["dynamodb"], stack.outputs["OpsTableName"], stack.outputs["MainTableName"])
    assert [o.seq for o in oplog.after(workspace, 0, 500)] == list(range(1, 91))
    past = instance(stack, clients).at(workspace, 85)
    assert past.seq == 85 and len(past.items) == 85


def test_a_transaction_sent_again_under_its_token_is_not_applied_again(stack, clients, workspace):
    """As DynamoDB does (and the emulator, local/emulator_tokens.py): what makes boto3's retry of a write whose
    answer was lost safe."""
    from botocore.exceptions import ClientError

    ddb, table = clients["dynamodb"], stack.outputs["OpsTableName"]

    def bump(by: int) -> list[dict]:
        return [{"Update": {"TableName": table, "Key": {"pk": {"S": f"T#{workspace}"}, "seq": {"N": "0"}},
                            "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": str(by)}}}}]
    ddb.transact_write_items(TransactItems=bump(1), ClientRequestToken=f"{workspace}-1")
    ddb.transact_write_items(TransactItems=bump(1), ClientRequestToken=f"{workspace}-1")  # a retry
    ddb.transact_write_items(TransactItems=bump(1))  # a new call: botocore gives it a token of its own
    with pytest.raises(ClientError) as mismatch:
        ddb.transact_write_items(TransactItems=bump(5), ClientRequestToken=f"{workspace}-1")
    assert mismatch.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    item = ddb.get_item(TableName=table, Key={"pk": {"S": f"T#{workspace}"}, "seq": {"N": "0"}})["Item"]
    assert item["n"] == {"N": "2"}
