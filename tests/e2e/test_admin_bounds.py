"""Bounds of the REST API through the real local stack: a caller past its rate limit gets 429 with Retry-After
and others keep theirs; failed authentication is throttled per address; a cursor continues only the query and
the caller it came from."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.api_client import Api, assert_error

pytestmark = pytest.mark.e2e


def test_a_caller_past_the_rate_limit_gets_429_with_retry_after(stack):
    from tests.e2e.conftest import RATE_LIMIT

    alice = Api(stack, stack.token("alice"))
    user = alice.ok("POST", "/admin/accounts/acc-demo/users", {"email": f"busy-{uuid.uuid4().hex[:6]}@demo.test",
                                                                "name": "Busy"}, status=201)["user_id"]
    busy = Api(stack, stack.token(user))
    passed = 0
    refused = busy.call("GET", "/me")
    while refused.status_code == 200 and passed <= 2 * RATE_LIMIT:  # a burst may straddle one minute boundary
        passed += 1
        refused = busy.call("GET", "/me")
    assert RATE_LIMIT <= passed <= 2 * RATE_LIMIT
    assert assert_error(refused, 429) == "too_many_requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert Api(stack, stack.token("bob")).call("GET", "/me").status_code == 200  # others keep their budget
    alice.ok("DELETE", f"/admin/users/{user}", status=204)


def test_repeated_failed_authentication_is_throttled_per_address(tmp_path):
    """A stack of its own with a small budget: past it, 429 and no more auth.failed events written."""
    from tests.e2e.stack import start_stack, stop_stack

    small = start_stack(tmp_path / "throttle", "--workers", "1", settings={"KALEXO_AUTH_FAILURES_PER_MINUTE": "5"})
    try:
        anonymous = Api(small, "forged-token")
        statuses = [anonymous.call("GET", "/me").status_code for _ in range(12)]  # one minute boundary at most
        assert statuses[:5] == [401] * 5 and 429 in statuses[5:], statuses
        assert assert_error(anonymous.call("GET", "/me"), 429, 401) in ("too_many_requests", "invalid_token")
        recorded = Api(small, small.token("admin")).ok("GET", "/admin/events", type="auth.failed", limit=100)
        assert len(recorded["items"]) <= 10  # the budget (twice, across a minute boundary), not every attempt
    finally:
        stop_stack(small)


def test_a_cursor_only_continues_the_query_and_caller_it_came_from(stack):
    alice, admin = Api(stack, stack.token("alice")), Api(stack, stack.token("admin"))
    cursor = alice.ok("GET", "/admin/accounts/acc-demo/users", limit=1)["next_cursor"]
    assert cursor
    assert alice.ok("GET", "/admin/accounts/acc-demo/users", limit=1, cursor=cursor)["items"]
    replays = [alice.call("GET", "/admin/accounts/acc-demo/workspaces", cursor=cursor),  # another route
               alice.call("GET", "/admin/events", cursor=cursor, user_id="bob"),         # another query shape
               admin.call("GET", "/admin/accounts/acc-demo/users", cursor=cursor)]       # another caller
    assert [assert_error(r, 400) for r in replays] == ["bad_cursor"] * 3
