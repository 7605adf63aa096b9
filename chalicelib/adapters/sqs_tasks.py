"""A queue of work items (page tasks) in SQS, sent ten per request (SendMessageBatch's maximum)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsTaskQueue:
    def __init__(self, client: SQSClient, queue_name: str) -> None:
        self._client = client
        self._queue = queue_name

    @cached_property
    def _url(self) -> str:
        return self._client.get_queue_url(QueueName=self._queue)["QueueUrl"]

    def send(self, bodies: list[str]) -> None:
        for start in range(0, len(bodies), 10):
            entries: list[Any] = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start:start + 10])]
            for _attempt in range(5):
                failed = self._client.send_message_batch(QueueUrl=self._url, Entries=entries).get("Failed", [])
                if not failed:
                    break
                ids = {f["Id"] for f in failed if not f.get("SenderFault")}
                if len(ids) < len(failed):
                    raise RuntimeError(f"the queue refused page tasks: {failed}")
                entries = [e for e in entries if e["Id"] in ids]
            else:
                raise RuntimeError(f"{len(entries)} page tasks could not be queued")
