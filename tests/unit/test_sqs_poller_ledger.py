"""A worker killed mid-batch (the supervisor starts it again, local/supervisor.py) must not leave its batch
invisible for the queue's whole visibility timeout (six minutes and more): the poller notes the batch it is
invoking, and its successor makes that batch visible again after the retry delay, as for a failed batch."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from chalice.app import SQSEventConfig

from local.sqs_pollers import PollerOptions, SqsPoller


class Sqs:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"http://sqs/{QueueName}"}

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:000000000000:tiles"}}

    def receive_message(self, **_: Any) -> dict[str, Any]:
        batch, self.messages = self.messages, []
        return {"Messages": batch}

    def change_message_visibility_batch(self, **request: Any) -> None:
        self.calls.append(("release", request["Entries"]))

    def delete_message_batch(self, **request: Any) -> None:
        self.calls.append(("delete", request["Entries"]))


class Functions:
    def __init__(self, invoke: Any) -> None:
        self.invoke = invoke

    def function(self, name: str, handler: str) -> str:
        return name


def _poller(sqs: Sqs, ledger: Path, invoke: Any) -> SqsPoller:
    source = SQSEventConfig("tile_pages", "app.tile_pages", "tiles", None, 10, 0, None)
    return SqsPoller(Functions(invoke), source, sqs, None, "table", "us-east-1",  # type: ignore[arg-type]
                     PollerOptions(retry_delay_s=1, ledger_dir=ledger, worker=1), threading.Event())


def test_a_killed_workers_batch_is_released_by_the_next_one(tmp_path: Path) -> None:
    message = {"MessageId": "m1", "ReceiptHandle": "h1", "Body": "{}"}
    noted: list[Any] = []

    def dies(function: str, event: dict[str, Any]) -> None:  # the batch is noted while it runs
        noted.append(json.loads((tmp_path / "worker-1-tiles.json").read_text()))
        raise SystemExit  # stands for the process killed mid-invocation: nothing after it runs

    first = Sqs([message])
    with pytest.raises(SystemExit):
        _poller(first, tmp_path, dies)._poll_once()
    assert noted == [[{"Id": "0", "ReceiptHandle": "h1"}]] and first.calls == []
    successor = Sqs([])
    _poller(successor, tmp_path, dies)
    assert successor.calls == [("release", [{"Id": "0", "ReceiptHandle": "h1", "VisibilityTimeout": 1}])]
    assert not (tmp_path / "worker-1-tiles.json").exists()
    third = Sqs([])
    _poller(third, tmp_path, dies)
    assert third.calls == []  # released once


def test_a_batch_that_ends_leaves_nothing_to_release(tmp_path: Path) -> None:
    sqs = Sqs([{"MessageId": "m1", "ReceiptHandle": "h1", "Body": "{}"}])
    _poller(sqs, tmp_path, lambda function, event: None)._poll_once()
    assert [kind for kind, _ in sqs.calls] == ["delete"] and not list(tmp_path.iterdir())
