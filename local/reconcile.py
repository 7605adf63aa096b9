"""Applies the template properties that moto's CloudFormation (5.2.x) silently ignores, through the
service APIs. Each function takes already-resolved CloudFormation properties and maps them to the API's
shape; applying twice is harmless."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from local.template import StackContext


@dataclass(frozen=True)
class Clients:
    s3: Any
    sqs: Any
    dynamodb: Any

    @classmethod
    def create(cls, session: boto3.session.Session, endpoint: str) -> Clients:
        return cls(*(session.client(name, endpoint_url=endpoint) for name in ("s3", "sqs", "dynamodb")))


def _bucket(clients: Clients, ctx: StackContext, logical_id: str, props: dict[str, Any]) -> None:
    s3, bucket = clients.s3, ctx.refs[logical_id]
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={
            "Status": props["VersioningConfiguration"]["Status"]})
    if "BucketEncryption" in props:
        rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]} for r in rules]})
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(Bucket=bucket,
                                   PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=props["OwnershipControls"])
    if "CorsConfiguration" in props:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [_cors_rule(r) for r in
                                                                          props["CorsConfiguration"]["CorsRules"]]})
    if "LifecycleConfiguration" in props:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
            _lifecycle_rule(r) for r in props["LifecycleConfiguration"]["Rules"]]})
    if "NotificationConfiguration" in props:
        queues = props["NotificationConfiguration"].get("QueueConfigurations", [])
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
            "QueueConfigurations": [_queue_notification(q) for q in queues]})


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    names = {"AllowedMethods": "AllowedMethods", "AllowedOrigins": "AllowedOrigins",
             "AllowedHeaders": "AllowedHeaders", "ExposedHeaders": "ExposeHeaders", "MaxAge": "MaxAgeSeconds",
             "Id": "ID"}
    return {names[k]: (int(v) if k == "MaxAge" else v) for k, v in rule.items()}


def _lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"ID": rule.get("Id", ""), "Status": rule["Status"],
                           "Filter": {"Prefix": rule.get("Prefix", "")}}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    if "NoncurrentVersionExpiration" in rule:
        days = int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        out["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}
    if rule.get("ExpiredObjectDeleteMarker"):
        out["Expiration"] = {"ExpiredObjectDeleteMarker": True}
    return out


def _queue_notification(config: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"QueueArn": config["Queue"], "Events": [config["Event"]]}
    rules = config.get("Filter", {}).get("S3Key", {}).get("Rules", [])
    if rules:
        out["Filter"] = {"Key": {"FilterRules": [{"Name": r["Name"], "Value": r["Value"]} for r in rules]}}
    return out


def _table(clients: Clients, ctx: StackContext, logical_id: str, props: dict[str, Any]) -> None:
    table = ctx.refs[logical_id]
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        clients.dynamodb.update_time_to_live(TableName=table, TimeToLiveSpecification={
            "AttributeName": ttl["AttributeName"], "Enabled": bool(ttl["Enabled"])})
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr:
        clients.dynamodb.update_continuous_backups(TableName=table, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": bool(pitr["PointInTimeRecoveryEnabled"])})


def _queue_policy(clients: Clients, ctx: StackContext, logical_id: str, props: dict[str, Any]) -> None:
    policy = json.dumps(props["PolicyDocument"])
    for queue_url in props["Queues"]:
        clients.sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policy})


RECONCILERS: dict[str, Callable[[Clients, StackContext, str, dict[str, Any]], None]] = {
    "AWS::S3::Bucket": _bucket,
    "AWS::DynamoDB::Table": _table,
    "AWS::SQS::QueuePolicy": _queue_policy,
}
