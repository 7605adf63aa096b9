"""Lambda's SQS event source mapping, locally: long-poll the queue, hand a batch to the function with
Lambda's event shape, delete the batch on success, leave it to reappear on failure (the queue's redrive
policy moves it to the dead-letter queue after maxReceiveCount, as on AWS).

One deviation, on purpose and configurable: after a failed batch the messages are made visible again after
`retry_delay_s` instead of the queue's full visibility timeout (six minutes and more), so a developer sees
a retry in seconds. Set it to None to wait for the visibility timeout exactly as Lambda does. A worker killed
mid-batch (the supervisor starts it again) fails its batch too: each poller notes the batch it is invoking in
`ledger_dir`, and the next poller of that worker and queue makes what its predecessor left visible again.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalice.app import SQSEventConfig

from chalicelib.adapters.health_probes import EventSourceProbe
from local.lambda_runtime import AppFunctions, Function
from local.log import log

HEARTBEAT_PK = EventSourceProbe.HEARTBEAT_PK


@dataclass(frozen=True)
class PollerOptions:
    retry_delay_s: int | None = 1
    wait_time_s: int = 1
    heartbeat_every_s: float = 5.0
    ledger_dir: Path | None = None  # where each poller notes its batch in flight (kept across a worker's restart)
    worker: int = 0


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    """Lambda's shape: lower camel case, binary values as base64 strings, list fields always present."""
    out: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value.get("DataType")}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return out


def lambda_sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    return {"Records": [{
        "messageId": m["MessageId"],
        "receiptHandle": m["ReceiptHandle"],
        "body": m["Body"],
        "attributes": m.get("Attributes", {}),
        "messageAttributes": {k: _attribute(v) for k, v in m.get("MessageAttributes", {}).items()},
        "md5OfBody": m.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    } for m in messages]}


class SqsPoller(threading.Thread):
    def __init__(self, functions: AppFunctions, source: SQSEventConfig, sqs: Any, dynamodb: Any,
                 heartbeat_table: str, region: str, options: PollerOptions, stop: threading.Event) -> None:
        super().__init__(name=f"poller-{source.name}", daemon=True)
        self._functions = functions
        self._function: Function = functions.function(source.name, source.handler_string)
        self._batch = max(1, min(10, source.batch_size))
        self._sqs, self._dynamodb = sqs, dynamodb
        self._table, self._region, self._options, self._stop_event = heartbeat_table, region, options, stop
        queue = source.queue or (source.queue_arn or "").rsplit(":", 1)[-1]
        self.queue_name = queue
        self._url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        self._arn = sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self._last_heartbeat = 0.0
        self.invocations = self.failures = 0
        self._ledger = options.ledger_dir / f"worker-{options.worker}-{queue}.json" if options.ledger_dir else None
        self._release_predecessors_batch()

    def _release_predecessors_batch(self) -> None:
        """What a killed predecessor was invoking is a failed batch: visible again after the retry delay."""
        if self._ledger is None or not self._ledger.exists():
            return
        entries = json.loads(self._ledger.read_text() or "[]")
        if entries and self._options.retry_delay_s is not None:
            try:
                self._sqs.change_message_visibility_batch(QueueUrl=self._url, Entries=[
                    {**e, "VisibilityTimeout": self._options.retry_delay_s} for e in entries])
            except Exception as exc:  # a stack restarted since: every message was made visible by its restore
                log("sqs", f"{self.queue_name}: the batch a stopped worker left could not be released: {exc!r}")
            log("sqs", f"{self.queue_name}: {len(entries)} message(s) a stopped worker was handling, delivered again")
        self._ledger.unlink(missing_ok=True)

    def _note(self, entries: list[dict[str, str]] | None) -> None:
        if self._ledger is not None:
            if entries:
                self._ledger.write_text(json.dumps(entries))
            else:
                self._ledger.unlink(missing_ok=True)

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self._heartbeat()
                self._poll_once()
            except Exception as exc:  # the emulator restarting or going away must not kill the poller
                if self._stop_event.is_set():
                    break
                log("sqs", f"{self.queue_name}: poll failed: {exc!r}")
                self._stop_event.wait(1.0)

    def _heartbeat(self) -> None:
        now = time.time()
        if now - self._last_heartbeat < self._options.heartbeat_every_s:
            return
        self._dynamodb.put_item(TableName=self._table, Item={
            "pk": {"S": HEARTBEAT_PK}, "sk": {"S": self.queue_name},
            "last_poll_at": {"N": f"{now:.3f}"}, "expires_at": {"N": str(int(now) + 3600)}})
        self._last_heartbeat = now

    def _poll_once(self) -> None:
        response = self._sqs.receive_message(
            QueueUrl=self._url, MaxNumberOfMessages=self._batch, WaitTimeSeconds=self._options.wait_time_s,
            MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"])
        messages = response.get("Messages", [])
        if not messages:
            return
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        self.invocations += 1
        self._note(entries)
        try:
            self._functions.invoke(self._function, lambda_sqs_event(messages, self._arn, self._region))
        except Exception as exc:
            self.failures += 1
            log("sqs", f"{self._function.name} failed on {len(messages)} message(s): {exc!r}")
            if self._options.retry_delay_s is not None:
                self._sqs.change_message_visibility_batch(QueueUrl=self._url, Entries=[
                    {**e, "VisibilityTimeout": self._options.retry_delay_s} for e in entries])
            self._note(None)
            return
        self._sqs.delete_message_batch(QueueUrl=self._url, Entries=entries)
        self._note(None)


def start_pollers(functions: AppFunctions, sqs: Any, dynamodb: Any, heartbeat_table: str, region: str,
                  options: PollerOptions, stop: threading.Event) -> list[SqsPoller]:
    pollers = [SqsPoller(functions, source, sqs, dynamodb, heartbeat_table, region, options, stop)
               for source in functions.app.event_sources if isinstance(source, SQSEventConfig)]
    for poller in pollers:
        poller.start()
    return pollers
