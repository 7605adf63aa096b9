"""HealthProbe implementations: one per table, queue, bucket and event source, each a single cheap call."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.health import ComponentHealth

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient


def _guarded(name: str, kind: str, check: Callable[[], ComponentHealth]) -> ComponentHealth:
    started = time.perf_counter()
    try:
        result = check()
    except (BotoCoreError, ClientError) as exc:
        result = ComponentHealth(name=name, kind=kind, ok=False, error=str(exc))
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return ComponentHealth(result.name, result.kind, result.ok, {**result.detail, "latency_ms": latency_ms},
                           result.error)


class EndpointProbe:
    """Is the AWS endpoint (the emulator locally) answering at all? STS GetCallerIdentity needs no IAM
    permission, so the probe works under a least-privilege role."""

    def __init__(self, client: Any, endpoint: str | None) -> None:
        self.name = endpoint or "aws"
        self._client = client

    def check(self) -> ComponentHealth:
        def run() -> ComponentHealth:
            self._client.get_caller_identity()
            return ComponentHealth(self.name, "endpoint", True)

        return _guarded(self.name, "endpoint", run)


class TableProbe:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self.name = table
        self._client = client

    def check(self) -> ComponentHealth:
        def run() -> ComponentHealth:
            status = self._client.describe_table(TableName=self.name)["Table"].get("TableStatus", "")
            return ComponentHealth(self.name, "table", status == "ACTIVE", {"table_status": status})

        return _guarded(self.name, "table", run)


class QueueProbe:
    """A queue and its dead-letter queue: reachable, backlog, and nothing dead-lettered."""

    def __init__(self, client: SQSClient, queue: str, dead_letter_queue: str) -> None:
        self.name = queue
        self._client = client
        self._dlq = dead_letter_queue

    def _depth(self, queue: str) -> dict[str, int]:
        url = self._client.get_queue_url(QueueName=queue)["QueueUrl"]
        attrs = self._client.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return {
            "visible": int(attrs.get("ApproximateNumberOfMessages", "0")),
            "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", "0")),
        }

    def check(self) -> ComponentHealth:
        def run() -> ComponentHealth:
            depth = self._depth(self.name)
            dead = self._depth(self._dlq)["visible"]
            # A dead-lettered message needs a person, but the queue itself still works: report, stay ok.
            return ComponentHealth(self.name, "queue", True, {**depth, "dead_letters": dead})

        return _guarded(self.name, "queue", run)


class BucketProbe:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self.name = bucket
        self._client = client

    def check(self) -> ComponentHealth:
        def run() -> ComponentHealth:
            self._client.head_bucket(Bucket=self.name)
            return ComponentHealth(self.name, "bucket", True)

        return _guarded(self.name, "bucket", run)


class EventSourceProbe:
    """The consumers of the app's queues, judged by the heartbeats they write to the main table.

    The local runtime's pollers write heartbeats; on AWS, Lambda's own pollers do not, so there the probe
    is built with `required=False` and reports the event sources as managed by Lambda.
    """

    HEARTBEAT_PK = "RUNTIME#event-sources"

    def __init__(self, client: DynamoDBClient, table: str, queues: list[str], required: bool,
                 max_age_seconds: int = 60) -> None:
        self.name = "event-sources"
        self._client = client
        self._table = table
        self._queues = queues
        self._required = required
        self._max_age = max_age_seconds

    def check(self) -> ComponentHealth:
        if not self._required:
            return ComponentHealth(self.name, "pollers", True, {"managed_by": "aws-lambda"})

        def run() -> ComponentHealth:
            rows = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": self.HEARTBEAT_PK}},
            )["Items"]
            now = time.time()
            seen: dict[str, Any] = {row["sk"]["S"]: float(row["last_poll_at"]["N"]) for row in rows}
            pollers = {q: {"seconds_since_poll": round(now - seen[q], 1)} if q in seen else {"missing": True}
                       for q in self._queues}
            ok = all(q in seen and now - seen[q] <= self._max_age for q in self._queues)
            return ComponentHealth(self.name, "pollers", ok, {"pollers": pollers})

        return _guarded(self.name, "pollers", run)
