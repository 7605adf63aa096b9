"""`ws.refused`: a valid token connecting to a workspace its user may not join. Recorded collapsed like failed
logins (the 1st, 2nd, 4th, ... per address, user and code in a minute, and the one that reaches the budget,
each with its count), but never answered 429 and never spending the address's budget of failed logins."""

from __future__ import annotations

import pytest

from chalicelib.domain.errors import ApiError
from chalicelib.services.access import AccessService
from chalicelib.services.auth_failures import AuthFailures
from chalicelib.services.connections import ConnectionService
from tests.fakes import InMemoryConnectionStore, InMemoryUsage, RecordingEvents
from tests.unit.test_access import TOKENS, tenancy_with_demo, token
from tests.unit.test_login_limits import MinuteCounter


def service_with(counter: MinuteCounter | None) -> tuple[ConnectionService, InMemoryConnectionStore,
                                                           RecordingEvents]:
    events, store = RecordingEvents(), InMemoryConnectionStore()
    service = ConnectionService(AccessService(TOKENS, tenancy_with_demo()), store, events, InMemoryUsage(),
                                failures=AuthFailures(counter, events))
    return service, store, events


def refused(service: ConnectionService, user: str, address: str, workspace: str = "ws-a") -> int:
    with pytest.raises(ApiError) as refusal:
        service.connect("c1", token(user), address, workspace)
    return refusal.value.status


def test_repeated_refusals_are_recorded_collapsed_with_their_count():
    service, store, events = service_with(MinuteCounter(300))
    assert [refused(service, "carl", "10.0.0.7") for _ in range(40)] == [404] * 40  # same account, not a member
    assert store.rows == {}
    assert [e.detail["count"] for e in events.events] == [1, 2, 4, 8, 16, 32]  # not 40 events
    first = events.events[0]
    assert (first.type, first.workspace_id, first.user_id, first.actor_id) == ("ws.refused", "ws-a", "carl", "carl")
    assert first.account_id == "acc-a"  # the user's account: its admins see their users' refusals
    assert first.detail == {"code": "not_found", "source_ip": "10.0.0.7", "via": "websocket", "count": 1,
                            "window_start": "2027-01-15T08:00:00Z"}


def test_each_user_and_address_has_a_first_refusal_of_its_own():
    service, _, events = service_with(MinuteCounter(300))
    for _ in range(5):
        refused(service, "carl", "10.0.0.7")
    refused(service, "olga", "10.0.0.7")  # another tenant's admin behind the same address
    refused(service, "carl", "10.9.9.9")  # the same user from elsewhere
    seen = [(e.user_id, e.detail["source_ip"], e.detail["count"]) for e in events.events]
    assert seen == [("carl", "10.0.0.7", 1), ("carl", "10.0.0.7", 2), ("carl", "10.0.0.7", 4),
                    ("olga", "10.0.0.7", 1), ("carl", "10.9.9.9", 1)]


def test_past_the_budget_refusals_stay_404_and_the_last_recorded_one_says_how_many():
    service, store, events = service_with(MinuteCounter(5))
    assert [refused(service, "carl", "10.0.0.7") for _ in range(12)] == [404] * 12  # never 429: the user is known
    assert [e.detail["count"] for e in events.events] == [1, 2, 4, 5]
    # The address's budget of failed logins is untouched: a bad token is still a 401, and a member connects.
    with pytest.raises(ApiError) as bad_token:
        service.connect("c2", "not-a-token", "10.0.0.7", None)
    assert bad_token.value.status == 401
    assert [e.type for e in events.events][-1] == "auth.failed"
    service.connect("c3", token("bob"), "10.0.0.7", "ws-a")
    assert set(store.rows) == {"c3"}


def test_without_a_budget_every_refusal_is_recorded():
    service, _, events = service_with(None)
    for _ in range(3):
        refused(service, "carl", "10.0.0.7")
    assert len(events.events) == 3 and "count" not in events.events[0].detail
    assert events.events[0].detail == {"code": "not_found", "source_ip": "10.0.0.7", "via": "websocket"}
