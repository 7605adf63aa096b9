"""The emulator's kept state (local/emulator_durable.py) through the AWS APIs, one process per start as in the
local stack: what a first start writes, a second start on the same directory reads back exactly, including
what moto changes outside the obvious calls (an object's metadata set after it is stored, the move of a
message to its dead-letter queue, a FIFO duplicate that is dropped) and records for a table that one start's
template lacks. In-process moto (mock_aws) with the emulator's patches; the restart is a new process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_START = r'''
import json, os, sys
from pathlib import Path
os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
import boto3
from moto import mock_aws
from local import emulator_dynamodb, emulator_durable

phase, state = sys.argv[1], Path(sys.argv[2])
emulator_dynamodb.install()
store = emulator_durable.install(state)
mock_aws().start()
s3, db, sqs = (boto3.client(n, region_name="us-east-1") for n in ("s3", "dynamodb", "sqs"))
key = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
attrs = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]
db.create_table(TableName="t", KeySchema=key, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST")
if phase != "without-table":
    db.create_table(TableName="sometimes", KeySchema=key, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST")
s3.create_bucket(Bucket="kept-bucket")
s3.put_bucket_versioning(Bucket="kept-bucket", VersioningConfiguration={"Status": "Enabled"})
dlq = sqs.create_queue(QueueName="work-dlq")["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
work = sqs.create_queue(QueueName="work", Attributes={"VisibilityTimeout": "0", "RedrivePolicy": json.dumps(
    {"deadLetterTargetArn": arn, "maxReceiveCount": "1"})})["QueueUrl"]
fifo = sqs.create_queue(QueueName="jobs.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
restored = emulator_durable.restore(store)

def bodies(url):
    return sorted(m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                         VisibilityTimeout=30).get("Messages", []))

if phase == "write":
    first = s3.put_object(Bucket="kept-bucket", Key="plan.pdf", Body=b"%PDF-1", ContentType="application/pdf",
                          Metadata={"owner": "alice"}, CacheControl="max-age=60")["VersionId"]
    s3.put_object(Bucket="kept-bucket", Key="plan.pdf", Body=b"%PDF-2", ContentType="application/pdf")
    s3.put_object(Bucket="kept-bucket", Key="gone.txt", Body=b"x")
    s3.delete_object(Bucket="kept-bucket", Key="gone.txt")
    upload = s3.create_multipart_upload(Bucket="kept-bucket", Key="big.bin")["UploadId"]
    part = s3.upload_part(Bucket="kept-bucket", Key="big.bin", UploadId=upload, PartNumber=1, Body=b"p" * 5 * 1024**2)
    s3.complete_multipart_upload(Bucket="kept-bucket", Key="big.bin", UploadId=upload, MultipartUpload={
        "Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    db.transact_write_items(TransactItems=[{"Put": {"TableName": "t", "Item": {"pk": {"S": "a"}, "sk": {"S": str(i)}}}}
                                           for i in range(3)])
    db.put_item(TableName="sometimes", Item={"pk": {"S": "kept"}, "sk": {"S": "1"}})
    sqs.send_message(QueueUrl=work, MessageBody="poison")
    sqs.send_message(QueueUrl=work, MessageBody="waiting")
    for _ in range(3):  # the first receive counts 1; the next moves what was received to the dead-letter queue
        for m in sqs.receive_message(QueueUrl=work, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", []):
            if m["Body"] == "waiting":
                break
    for _ in range(2):
        sqs.send_message(QueueUrl=fifo, MessageBody="charge 42", MessageGroupId="g", MessageDeduplicationId="d42")
    print(json.dumps({"first": first}))
else:
    head = s3.head_object(Bucket="kept-bucket", Key="plan.pdf")
    versions = s3.list_object_versions(Bucket="kept-bucket")
    first = [v for v in versions["Versions"] if v["Key"] == "plan.pdf" and not v["IsLatest"]][0]
    old = s3.get_object(Bucket="kept-bucket", Key="plan.pdf", VersionId=first["VersionId"])
    print(json.dumps({
        "restored": restored, "latest": s3.get_object(Bucket="kept-bucket", Key="plan.pdf")["Body"].read().decode(),
        "first": first["VersionId"], "first_body": old["Body"].read().decode(), "first_meta": old["Metadata"],
        "first_type": old["ContentType"], "first_cache": old.get("CacheControl"), "type": head["ContentType"],
        "markers": [m["Key"] for m in versions.get("DeleteMarkers", [])],
        "big": s3.head_object(Bucket="kept-bucket", Key="big.bin")["ContentLength"],
        "items": sorted(i["sk"]["S"] for i in db.scan(TableName="t")["Items"]),
        "sometimes": [i["pk"]["S"] for i in db.scan(TableName="sometimes")["Items"]]
                     if phase != "without-table" else None,
        "dlq": bodies(dlq), "work": bodies(work), "fifo": bodies(fifo)}))
'''


def _start(phase: str, state: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", _START, phase, str(state)], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_second_start_reads_back_what_the_first_wrote(tmp_path: Path) -> None:
    state = tmp_path / "aws"
    written = _start("write", state)
    without = _start("without-table", state)  # a start whose template lacks a table keeps its records
    assert without["restored"]["skipped"] == 1
    read = _start("read", state)
    assert read["restored"]["restored"] is True
    assert read["latest"] == "%PDF-2" and read["type"] == "application/pdf"
    assert (read["first"], read["first_body"]) == (written["first"], "%PDF-1")
    assert (read["first_meta"], read["first_type"], read["first_cache"]) == (
        {"owner": "alice"}, "application/pdf", "max-age=60")
    assert read["markers"] == ["gone.txt"]
    assert read["big"] == 5 * 1024**2
    assert read["items"] == ["0", "1", "2"]
    assert read["sometimes"] == ["kept"]
    assert "poison" in read["dlq"] and "poison" not in read["work"]  # the move to the DLQ was kept
    assert read["fifo"] == ["charge 42"]  # the duplicate moto dropped stays dropped
