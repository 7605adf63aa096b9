"""The template's properties hold in the emulator, including those moto's CloudFormation ignores and the
provisioner applies afterwards through the service APIs."""

import json

from local.template import load_template

TEMPLATE = load_template()


def props(logical_id: str) -> dict:
    return TEMPLATE["Resources"][logical_id]["Properties"]


def test_outputs_name_every_resource(stack):
    assert stack.outputs["MainTableName"] == "kalexo-contract-main"
    assert stack.outputs["DocumentsBucketName"] == "kalexo-contract-documents-123456789012"
    assert stack.outputs["UploadsQueueName"] == "kalexo-contract-uploads"


def test_documents_bucket_is_versioned_encrypted_private_with_cors_and_notifications(stack, clients):
    s3, bucket = clients["s3"], stack.outputs["DocumentsBucketName"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block[k] for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))
    cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]
    assert set(cors["AllowedMethods"]) == {"GET", "HEAD", "PUT", "POST"}
    assert "ETag" in cors["ExposeHeaders"]
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]["ObjectOwnership"] == \
        "BucketOwnerEnforced"
    lifecycle = {rule["ID"]: rule for rule in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert lifecycle["abort-stale-multipart-uploads"]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7
    # Replaced and deleted documents' versions go after the backup window (the template's NoncurrentSourceDays).
    assert lifecycle["expire-noncurrent-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    assert lifecycle["remove-expired-delete-markers"]["Expiration"]["ExpiredObjectDeleteMarker"] is True
    [notification] = s3.get_bucket_notification_configuration(Bucket=bucket)["QueueConfigurations"]
    assert notification["QueueArn"].endswith(":kalexo-contract-uploads")
    assert notification["Events"] == ["s3:ObjectCreated:*"]
    assert notification["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "workspaces/"}]


def test_tables_have_ttl_pitr_and_indexes(stack, clients):
    ddb = clients["dynamodb"]
    for logical_id, output in (("MainTable", "MainTableName"), ("ConnectionsTable", "ConnectionsTableName"),
                               ("OpsTable", "OpsTableName"), ("EventsTable", "EventsTableName")):
        table = stack.outputs[output]
        expected = props(logical_id)
        ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if "TimeToLiveSpecification" in expected:
            assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at"), table
        pitr = ddb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        if "PointInTimeRecoverySpecification" in expected:
            assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED", table
        described = ddb.describe_table(TableName=table)["Table"]
        indexes = {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])}
        assert indexes == {i["IndexName"] for i in expected.get("GlobalSecondaryIndexes", [])}, table


def test_queues_have_dead_letter_queues_and_the_uploads_policy(stack, clients):
    sqs = clients["sqs"]
    for queue, dlq in (("UploadsQueueName", "UploadsDeadLetterQueueName"),
                       ("TilesQueueName", "TilesDeadLetterQueueName")):
        url = sqs.get_queue_url(QueueName=stack.outputs[queue])["QueueUrl"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        redrive = json.loads(attrs["RedrivePolicy"])
        assert redrive["deadLetterTargetArn"].endswith(":" + stack.outputs[dlq])
        assert int(redrive["maxReceiveCount"]) == 5
    url = sqs.get_queue_url(QueueName=stack.outputs["UploadsQueueName"])["QueueUrl"]
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    [statement] = policy["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"] == \
        f"arn:aws:s3:::{stack.outputs['DocumentsBucketName']}"
