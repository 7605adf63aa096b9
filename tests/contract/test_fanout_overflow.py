"""A large workspace's delivery: the function posts to the first connections itself and queues the rest in
chunks on the real fan-out queue (emulator); the queue's consumer delivers every chunk; nobody is missed or
served twice, and a chunk never overflows again."""

import time

from chalicelib.adapters.sqs_tasks import SqsTaskQueue
from chalicelib.services.fanout import Fanout
from chalicelib.services.fanout_overflow import FanoutChunks, QueuedFanout
from tests.fakes import FakeNotifier, InMemoryConnectionStore


def test_connections_past_the_inline_limit_are_delivered_from_the_queue(stack, clients):
    queue = stack.outputs["FanoutQueueName"]
    sqs = clients["sqs"]
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    connections = InMemoryConnectionStore()
    inline, chunked = FakeNotifier(), FakeNotifier(gone={"c1100"})
    overflow = QueuedFanout(SqsTaskQueue(sqs, queue), "https://api.example/api", chunk=500)
    ids = [f"c{i}" for i in range(1234)]
    delivery = Fanout(inline, connections, overflow=overflow, inline_max=200).send(ids, b'{"action":"op"}')
    assert (delivery.delivered, delivery.queued) == (200, 1034)
    assert [c for c, _ in inline.sent] == ids[:200]

    endpoints: list[str] = []

    def fanout_for(endpoint: str) -> Fanout:
        endpoints.append(endpoint)
        return Fanout(chunked, connections)

    consumer = FanoutChunks(fanout_for)
    deadline = time.time() + 20
    chunks = 0
    while time.time() < deadline and chunks < 3:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            assert consumer.handle(message["Body"]) is not None
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            chunks += 1
    assert chunks == 3  # 1034 ids in chunks of 500
    assert set(endpoints) == {"https://api.example/api"}
    delivered = [c for c, _ in chunked.sent]
    assert sorted([*delivered, "c1100"]) == sorted(ids[200:]) and len(set(delivered)) == len(delivered)
    assert all(data == b'{"action":"op"}' for _, data in chunked.sent)
    assert consumer.handle("not json") is None
