"""Adapters behind issue 14's limits, against the emulator's DynamoDB (atomic conditional writes, as DynamoDB):
counts per caller and minute, one turn holder at a time under racing threads, emails unique per account."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from chalicelib.adapters.dynamo_rate_limit import DynamoRateLimiter
from chalicelib.adapters.dynamo_tenancy import DynamoTenancyStore
from chalicelib.adapters.dynamo_turns import DynamoTurns
from chalicelib.domain.errors import Conflict
from chalicelib.domain.principal import Role
from chalicelib.domain.tenancy import Account, User


def test_the_counter_says_how_many_this_window_has_seen(clients, stack):
    limiter = DynamoRateLimiter(clients["dynamodb"], stack.outputs["MainTableName"], per_minute=3)
    caller = f"ip:{uuid.uuid4().hex[:8]}"
    at = 1_800_000_010.0
    hits = [limiter.hit(caller, at) for _ in range(4)]
    assert [h.count for h in hits] == [1, 2, 3, 3] and [h.retry_after for h in hits] == [None, None, None, 50]
    assert {h.window_start for h in hits} == {1_800_000_000}
    assert limiter.hit(caller, at + 60).count == 1


def test_a_kind_is_counted_in_the_same_write_as_its_caller_whatever_the_race(clients, stack):
    """40 threads count one kind of request for one caller: each answer's two counts are one snapshot (equal,
    since there is one kind), every count from 1 to 40 is given once, and a second kind counts apart."""
    limiter = DynamoRateLimiter(clients["dynamodb"], stack.outputs["MainTableName"], per_minute=100)
    caller, at = f"ip:{uuid.uuid4().hex[:8]}", 1_800_000_010.0
    answers = []
    lock = threading.Lock()

    def hit() -> None:
        answer = limiter.hit(caller, at, kind="invalid_token")
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=hit) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(a.count for a in answers) == list(range(1, 41))
    assert all(a.of_kind == a.count for a in answers)
    other = limiter.hit(caller, at, kind="user_unknown")
    assert (other.count, other.of_kind) == (41, 1)
    assert limiter.hit(caller, at).of_kind == 0  # no kind: the caller's count alone
    full = DynamoRateLimiter(clients["dynamodb"], stack.outputs["MainTableName"], per_minute=2)
    over = f"ip:{uuid.uuid4().hex[:8]}"
    counted = [full.hit(over, at, kind="invalid_token") for _ in range(3)]
    assert [(c.count, c.of_kind, c.retry_after) for c in counted] == [(1, 1, None), (2, 2, None), (2, 0, 50)]
    assert full.hit(over, at + 60, kind="invalid_token").of_kind == 1  # the next minute starts afresh


def test_one_turn_holder_at_a_time_whatever_the_race(clients, stack):
    turns = DynamoTurns(clients["dynamodb"], stack.outputs["MainTableName"])
    subject = f"doc-{uuid.uuid4().hex[:8]}"
    holding, overlaps, taken = [0], [0], [0]
    lock = threading.Lock()
    start = threading.Barrier(8)

    def contend(n: int) -> None:
        start.wait(timeout=60)
        for i in range(15):
            holder = f"h{n}-{i}"
            if turns.take(subject, holder, hold_s=30) is None:
                continue
            with lock:
                holding[0] += 1
                overlaps[0] += holding[0] > 1
                taken[0] += 1
            time.sleep(0.002)  # act on the turn
            with lock:
                holding[0] -= 1
            turns.give_back(subject, holder)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert overlaps[0] == 0 and taken[0] > 0


def test_a_turn_runs_out_and_only_its_holder_gives_it_back(clients, stack):
    turns = DynamoTurns(clients["dynamodb"], stack.outputs["MainTableName"])
    subject = f"doc-{uuid.uuid4().hex[:8]}"
    assert turns.take(subject, "first", hold_s=-1) is not None  # taken, and already run out
    assert turns.take(subject, "second", hold_s=30) is not None  # so another may take it
    turns.give_back(subject, "first")  # the overstayer cannot give back the second's turn
    assert turns.take(subject, "third", hold_s=30) is None
    turns.give_back(subject, "second")
    assert turns.take(subject, "third", hold_s=30) is not None


def test_emails_are_unique_within_an_account_only(clients, stack):
    store = DynamoTenancyStore(clients["dynamodb"], stack.outputs["MainTableName"])
    accounts = [f"acc-{uuid.uuid4().hex[:8]}" for _ in range(2)]
    for account in accounts:
        store.create_account(Account(account, "T", "free", 0))
    email = f"same-{uuid.uuid4().hex[:6]}@example.test"
    store.create_user(User(f"u-{accounts[0]}", accounts[0], email, "A", Role.MEMBER, 0), None)
    store.create_user(User(f"u-{accounts[1]}", accounts[1], email, "B", Role.MEMBER, 0), None)  # no conflict
    with pytest.raises(Conflict) as taken:
        store.create_user(User(f"u2-{accounts[0]}", accounts[0], email, "A2", Role.MEMBER, 0), None)
    assert taken.value.code == "email_taken" and email not in taken.value.message
    # Deleting one account's user frees the address there only.
    first = store.get_user(f"u-{accounts[0]}")
    assert first is not None
    store.delete_user(first)
    store.create_user(User(f"u2-{accounts[0]}", accounts[0], email, "A2", Role.MEMBER, 0), None)
    with pytest.raises(Conflict):
        store.create_user(User(f"u2-{accounts[1]}", accounts[1], email, "B2", Role.MEMBER, 0), None)
