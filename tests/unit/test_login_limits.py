"""Failed logins, at REST routes and websocket connects alike: one budget per source address and minute, 429
past it with nothing recorded, and `auth.failed` events collapsed to a handful per address and window."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ApiError, Unauthorized
from chalicelib.ports import WindowCount
from chalicelib.services.access import AccessService
from chalicelib.services.auth_failures import AuthFailures
from chalicelib.services.connections import ConnectionService
from tests.fakes import InMemoryConnectionStore, InMemoryUsage, RecordingEvents
from tests.unit.test_access import TOKENS, tenancy_with_demo, token


class MinuteCounter:
    """The WindowCounter port's twin: one count per caller, one window (the contract test covers minutes)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.counts: dict[str, int] = {}

    def hit(self, caller: str, now: float | None = None, kind: str | None = None) -> WindowCount:
        if self.counts.get(caller, 0) >= self.limit:
            return WindowCount(self.limit, 1_800_000_000, 42)
        self.counts[caller] = self.counts.get(caller, 0) + 1
        of_kind = 0
        if kind is not None:
            of_kind = self.counts[f"{caller}#{kind}"] = self.counts.get(f"{caller}#{kind}", 0) + 1
        return WindowCount(self.counts[caller], 1_800_000_000, None, of_kind)


def test_failures_are_recorded_collapsed_and_refused_past_the_budget():
    events = RecordingEvents()
    failures = AuthFailures(MinuteCounter(300), events)
    answers = [failures.refuse(Unauthorized("bad token", code="invalid_token"), "10.0.0.9", "rest", path="/me")
               for _ in range(400)]
    assert [a.status for a in answers] == [401] * 300 + [429] * 100
    assert answers[-1].code == "too_many_requests" and answers[-1].retry_after == 42
    counts = [e.detail["count"] for e in events.events]
    assert counts == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]  # not 300 events, let alone 400
    assert {e.type for e in events.events} == {"auth.failed"}
    first = events.events[0].detail
    assert first == {"code": "invalid_token", "source_ip": "10.0.0.9", "via": "rest", "path": "/me", "count": 1,
                     "address_count": 1, "window_start": "2027-01-15T08:00:00Z"}


def test_the_first_failure_of_each_kind_is_recorded_among_a_flood_of_another():
    events = RecordingEvents()
    failures = AuthFailures(MinuteCounter(300), events)
    for _ in range(100):
        failures.refuse(Unauthorized("bad token", code="invalid_token"), "10.0.0.9", "websocket")
    failures.refuse(Unauthorized("deleted", code="user_unknown"), "10.0.0.9", "rest", path="/me")
    last = events.events[-1].detail
    assert (last["code"], last["count"], last["address_count"]) == ("user_unknown", 1, 101)
    assert len(events.events) == 8  # 1, 2, 4, ..., 64 forged tokens, then the deleted user's


def test_addresses_have_budgets_of_their_own():
    events = RecordingEvents()
    failures = AuthFailures(MinuteCounter(2), events)
    refusals = [failures.refuse(Unauthorized("no"), ip, "websocket").status for ip in ("a", "a", "a", "b")]
    assert refusals == [401, 401, 429, 401]
    assert [(e.detail["source_ip"], e.detail["count"]) for e in events.events] == [("a", 1), ("a", 2), ("b", 1)]


def test_without_a_budget_every_failure_is_recorded():
    events = RecordingEvents()
    failures = AuthFailures(None, events)
    for _ in range(3):
        assert failures.refuse(Unauthorized("no"), "a", "rest").status == 401
    assert len(events.events) == 3 and "count" not in events.events[0].detail


def test_websocket_connects_past_the_budget_are_refused_with_429_and_leave_no_trace():
    events, store = RecordingEvents(), InMemoryConnectionStore()
    service = ConnectionService(AccessService(TOKENS, tenancy_with_demo()), store, events, InMemoryUsage(),
                                failures=AuthFailures(MinuteCounter(5), events))
    statuses = []
    for _ in range(40):
        with pytest.raises(ApiError) as refused:
            service.connect("c1", "not-a-token", "10.1.1.1", None)
        statuses.append(refused.value.status)
    assert statuses == [401] * 5 + [429] * 35
    assert [e.detail["count"] for e in events.events] == [1, 2, 4, 5]
    assert all(e.detail["via"] == "websocket" for e in events.events)
    # A valid token still connects from that address (the budget is for failures only), and is not counted.
    service.connect("c2", token("bob"), "10.1.1.1", None)
    assert set(store.rows) == {"c2"}


def test_the_two_counts_of_an_event_come_from_one_write():
    """A doc-only review saw (count, address_count) = (2, 4) from one kind of failure sent on 16 threads: the two
    counts were two writes, taken in any order. Now one `hit` counts both, and the event carries its snapshot."""

    class OneWrite(MinuteCounter):
        calls: list[tuple[str, str | None]] = []

        def hit(self, caller: str, now: float | None = None, kind: str | None = None) -> WindowCount:
            self.calls.append((caller, kind))
            return super().hit(caller, now, kind)

    events, counter = RecordingEvents(), OneWrite(300)
    failures = AuthFailures(counter, events)
    for _ in range(8):
        failures.refuse(Unauthorized("bad token", code="invalid_token"), "10.0.0.9", "websocket")
    assert counter.calls == [("ip:10.0.0.9", "invalid_token")] * 8  # one write a failure
    assert [(e.detail["count"], e.detail["address_count"]) for e in events.events] == [(1, 1), (2, 2), (4, 4),
                                                                                      (8, 8)]
