import json

from chalicelib.domain.token_bucket import TokenBuckets
from chalicelib.services.router import MessageRouter
from tests.fakes import FakeNotifier, InMemoryConnectionStore


def test_bursts_then_the_refill_rate():
    buckets = TokenBuckets(rate_per_s=10, burst=3)
    assert [buckets.take("c", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert round(buckets.take("c", now=0.0), 3) == 0.1  # empty: one token comes back in 0.1 s
    assert buckets.take("c", now=0.2) == 0.0
    assert buckets.take("other", now=0.0) == 0.0  # budgets are per connection


def test_the_router_answers_over_budget_messages_with_an_error_not_silence():
    notifier = FakeNotifier()
    router = MessageRouter(notifier, InMemoryConnectionStore(), lambda _: None, budgets=TokenBuckets(1, 2))
    for i in range(4):
        router.handle("c1", json.dumps({"action": "ping", "id": str(i)}))
    replies = [json.loads(d) for _, d in notifier.sent]
    assert [r["action"] for r in replies] == ["pong", "pong", "error", "error"]
    assert replies[2]["error"]["code"] == "rate_limited" and replies[2]["id"] == "2"


def test_a_rate_limited_answer_carries_its_delay_as_a_number():
    notifier = FakeNotifier()
    router = MessageRouter(notifier, InMemoryConnectionStore(), lambda _: None, budgets=TokenBuckets(4, 1))
    for i in range(2):
        router.handle("c1", json.dumps({"action": "ping", "id": i}))
    error = json.loads(notifier.sent[1][1])["error"]
    assert error["code"] == "rate_limited" and 1 <= error["retry_after_ms"] <= 251  # a token comes back in 250 ms
    assert f"retry in {error['retry_after_ms']} ms" in error["message"]  # the text says the same, for people
