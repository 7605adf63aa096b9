"""Issue 14's findings on logins, tenants and methods, tried through the real local stack as the reviewer did:
bad-token websocket connects past the address's budget, a valid token knocking on another tenant's workspace
again and again, ids and emails of another tenant, `javascript:`
avatars, and methods a path does not have. The websocket connects are hand-written on purpose: hostile
input, and the exact status of each refused upgrade."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.e2e.api_client import Api, assert_error, operations

pytestmark = pytest.mark.e2e

BUDGET = 20  # failed logins per address and minute in the throttling test's own stack


def refused_connect(stack, token: str, workspace: str = "") -> int:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{stack.ws}/?token={token}" + (f"&workspace={workspace}" if workspace else ""), open_timeout=30)
    return int(refused.value.response.status_code)


def test_failed_websocket_logins_are_throttled_per_address_and_their_events_collapsed(tmp_path):
    from tests.e2e.stack import start_stack, stop_stack

    small = start_stack(tmp_path / "throttle", "--workers", "1",
                        settings={"KALEXO_AUTH_FAILURES_PER_MINUTE": str(BUDGET)})
    try:
        admin = Api(small, small.token("admin"))
        with connect(f"{small.ws}/?token={small.token('admin')}") as follower:
            follower.send(json.dumps({"action": "events.subscribe", "id": "f"}))
            assert json.loads(follower.recv(timeout=30))["action"] == "events.subscribed"
            statuses: list[int] = []
            while 429 not in statuses and len(statuses) < 3 * BUDGET:  # a minute boundary restarts the count
                statuses.append(refused_connect(small, "forged-token"))
            assert set(statuses[:BUDGET]) == {401} and statuses[-1] == 429, statuses
            statuses += [refused_connect(small, "forged-token") for _ in range(10)]
            with pytest.raises(InvalidStatus) as throttled:  # when to come back, as the REST API says it
                connect(f"{small.ws}/?token=forged-token", open_timeout=30)
            answer = throttled.value.response
            if answer.status_code == 429:  # (401 if a new minute began)
                retry_after = int(answer.headers["Retry-After"])
                assert 1 <= retry_after <= 60 and f"retry in {retry_after} s" in answer.body.decode()
            # The REST API shares the address's budget: it is spent for this window (or a new one began).
            rest = Api(small, "forged-token").call("GET", "/me")
            assert assert_error(rest, 429, 401) in ("too_many_requests", "invalid_token")
            # A valid token at another tenant's workspace, past the budget too: always 404 (the address's spent
            # budget is for failed logins, and this user is known), recorded collapsed as ws.refused.
            knocks = [refused_connect(small, small.token("bob"), "ws-other") for _ in range(BUDGET + 5)]
            assert set(knocks) == {404}, knocks
            # A sentinel event, recorded after every failure above: the follower reads up to it.
            admin.ok("POST", "/admin/users/admin/tokens", {}, status=201)
            pushed = []
            while True:
                event = json.loads(follower.recv(timeout=60))["event"]
                if event["type"] == "user.token_issued":
                    break
                pushed.append(event)
        failed = [e for e in pushed if e["type"] == "auth.failed" and e["detail"]["via"] == "websocket"]
        windows = {e["detail"]["window_start"] for e in failed}
        # Collapsed: the 1st, 2nd, 4th, 8th, 16th and the budget's last of each window, each with its count.
        assert len(failed) <= 6 * len(windows) and len(windows) <= 2, [e["detail"] for e in failed]
        assert statuses.count(401) > len(failed)
        for window in windows:
            counts = [e["detail"]["count"] for e in failed if e["detail"]["window_start"] == window]
            assert counts == sorted(counts) and set(counts) <= {1, 2, 4, 8, 16, BUDGET}
        logged = admin.ok("GET", "/admin/events", type="auth.failed", limit=100)["items"]
        assert len(logged) <= 7 * len(windows)  # nothing recorded past the budget
        knocked = [e for e in pushed if e["type"] == "ws.refused"]
        assert knocked and all((e["user_id"], e["workspace_id"], e["detail"]["code"], e["detail"]["via"]) ==
                               ("bob", "ws-other", "not_found", "websocket") for e in knocked), knocked
        by_window: dict[str, list[int]] = {}
        for e in knocked:
            by_window.setdefault(e["detail"]["window_start"], []).append(e["detail"]["count"])
        assert len(by_window) <= 2 and sum(len(c) for c in by_window.values()) <= 6 * len(by_window), by_window
        assert all(c[0] == 1 and c == sorted(c) and set(c) <= {1, 2, 4, 8, 16, BUDGET} for c in by_window.values())
        assert len(admin.ok("GET", "/admin/events", type="ws.refused", limit=100)["items"]) == len(knocked)
    finally:
        stop_stack(small)


def test_another_tenants_emails_and_ids_are_neither_named_nor_confirmed(stack):
    alice = Api(stack, stack.token("alice"))  # account admin of acc-demo; olga and ws-other are acc-other's
    suffix = uuid.uuid4().hex[:6]
    # An address registered in another account is no conflict here, and no answer mentions it.
    twin = alice.ok("POST", "/admin/accounts/acc-demo/users", {"email": "olga@acc-other.test", "name": "Olga twin"},
                    status=201)
    assert twin["account_id"] == "acc-demo" and twin["user_id"] != "olga"
    again = alice.call("POST", "/admin/accounts/acc-demo/users", {"email": "OLGA@acc-other.test", "name": "Again"})
    assert assert_error(again, 409) == "email_taken" and "olga" not in again.text.lower()  # twin has it here
    mine = alice.ok("POST", "/admin/accounts/acc-demo/users", {"email": f"m-{suffix}@demo.test", "name": "M"},
                    status=201)
    moved = alice.call("PATCH", f"/admin/users/{mine['user_id']}", {"email": "olga@acc-other.test"})
    assert assert_error(moved, 409) == "email_taken" and "olga" not in moved.text.lower()
    alice.ok("DELETE", f"/admin/users/{twin['user_id']}", status=204)
    assert alice.ok("PATCH", f"/admin/users/{mine['user_id']}", {"email": "olga@acc-other.test"})["email"] == \
        "olga@acc-other.test"
    # Chosen ids: the same refusal whether another tenant has the id or nobody does.
    for path, field, taken in (("users", "user_id", "olga"), ("workspaces", "workspace_id", "ws-other")):
        body = {"email": f"x-{suffix}@demo.test", "name": "X"} if path == "users" else {"name": "X"}
        answers = [alice.call("POST", f"/admin/accounts/acc-demo/{path}", {**body, field: chosen})
                   for chosen in (taken, f"never-{suffix}")]
        assert [assert_error(a, 403) for a in answers] == ["id_chosen_by_server"] * 2
        assert answers[0].json() == answers[1].json() and taken not in answers[0].text
    alice.ok("DELETE", f"/admin/users/{mine['user_id']}", status=204)
    # Platform administrators see every tenant: they may choose ids, and hear when one is taken.
    admin = Api(stack, stack.token("admin"))
    assert assert_error(admin.call("POST", "/admin/accounts/acc-demo/users",
                                   {"email": f"y-{suffix}@demo.test", "name": "Y", "user_id": "olga"}), 409) == \
        "id_taken"
    olga = Api(stack, stack.token("olga")).ok("GET", "/me")
    assert olga["account_id"] == "acc-other" and olga["email"] == "olga@acc-other.test"


def test_the_event_log_filtered_by_another_tenants_user_confirms_nothing(stack):
    olga = Api(stack, stack.token("olga"))  # account admin of acc-other; bob is acc-demo's
    Api(stack, stack.token("bob")).ok("GET", "/me")  # bob has events (tokens issued, at least)
    answers = [olga.call("GET", "/admin/events", user_id=user, limit="1") for user in ("bob", "nobody-at-all")]
    assert [assert_error(a, 404) for a in answers] == ["not_found"] * 2
    assert answers[0].json() == answers[1].json() and "cursor" not in answers[0].text
    alice = Api(stack, stack.token("alice"))  # acc-demo's own admin, and the platform's, still may
    assert alice.ok("GET", "/admin/events", user_id="bob")["items"]
    assert Api(stack, stack.token("admin")).ok("GET", "/admin/events", user_id="bob")["items"]
    assert assert_error(alice.call("GET", "/admin/events", user_id="olga"), 404) == "not_found"


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "JAVASCRIPT:alert(1)",
                                 "data:text/html,<script>alert(1)</script>", "//evil.test/a.png", "vbscript:x"])
def test_avatar_urls_are_http_or_https_only(stack, url):
    alice = Api(stack, stack.token("alice"))
    created = alice.call("POST", "/admin/accounts/acc-demo/users",
                         {"email": f"a-{uuid.uuid4().hex[:6]}@demo.test", "name": "A", "avatar_url": url})
    assert assert_error(created, 400) in ("bad_url", "bad_body")
    assert assert_error(alice.call("PATCH", "/admin/users/bob", {"avatar_url": url}), 400) in ("bad_url", "bad_body")
    assert "avatar_url" in created.json()["error"]["message"]
    assert alice.ok("GET", "/admin/users/bob")["avatar_url"] != url


def test_avatar_urls_that_are_links_are_kept(stack):
    alice = Api(stack, stack.token("alice"))
    for url in ("https://cdn.example.test/bob.png", "http://example.test/b.png", ""):
        assert alice.ok("PATCH", "/admin/users/bob", {"avatar_url": url})["avatar_url"] == url


def test_a_method_a_path_does_not_have_answers_405_with_allow(stack):
    declared: dict[str, set[str]] = {}
    for method, path, _ in operations(stack):
        declared.setdefault(path, set()).add(method)
    token = stack.token("alice")
    checked = 0
    for path, methods in declared.items():
        answered = methods | ({"HEAD"} if "GET" in methods else set())
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"} - answered):
            answer = requests.request(method, stack.rest + path, headers={"Authorization": f"Bearer {token}"},
                                      data=b"{}", timeout=15)
            assert answer.status_code == 405, (method, path, answer.status_code, answer.text)
            allow = {m.strip() for m in answer.headers.get("Allow", "").split(",")}
            assert allow == answered | {"OPTIONS"}, (method, path, answer.headers)
            if method != "HEAD":
                assert assert_error(answer, 405) == "method_not_allowed"
            checked += 1
    assert checked >= 100
    health = requests.delete(f"{stack.rest}/health", timeout=15)  # routes outside the OpenAPI document too
    assert health.status_code == 405 and "GET" in health.headers["Allow"]


@pytest.mark.parametrize("method,path", [("GET", "/admin/no-such-thing"), ("POST", "/workspaces/ws/nope/deeper"),
                                         ("DELETE", "/"), ("TRACE", "/health"), ("GET", "/%E2%80%AE")])
def test_a_path_the_api_does_not_have_is_404_in_the_error_shape_and_never_echoes_the_token(stack, method, path):
    token = stack.token("alice")
    for headers in ({}, {"Authorization": f"Bearer {token}"}, {"Authorization": "Bearer é-not-ascii"}):
        answer = requests.request(method, stack.rest + path, headers=headers, timeout=15)
        assert assert_error(answer, 404) == "not_found", (method, path, headers)
        assert "/openapi.json" in answer.json()["error"]["message"]
        assert token not in answer.text and "Authorization" not in answer.text
        assert answer.headers["Access-Control-Allow-Origin"] == "*"  # a web page can read it, as on AWS
    head = requests.head(stack.rest + "/admin/no-such-thing", timeout=15)
    assert head.status_code == 404 and head.content == b""


def _polite(method: str, url: str, headers: dict[str, str]) -> requests.Response:
    """One request, again after the Retry-After of a 429 (the stack's rate limits are shared by its tests)."""
    for _ in range(60):
        answer = requests.request(method, url, headers=headers, timeout=15)
        if answer.status_code != 429:
            return answer
        time.sleep(max(1, int(answer.headers.get("Retry-After", "1"))))
    raise AssertionError(f"{method} {url} stayed 429")


def test_head_answers_wherever_get_does_with_the_same_status_and_checks_and_no_body(stack):
    """RFC 9110: a server that answers GET answers HEAD. Each GET path of the API, asked as alice (an account
    administrator) and as another tenant's administrator, and a few without a token: HEAD's status and content
    type are GET's, and it has no body."""
    callers = {"alice": {"Authorization": f"Bearer {stack.token('alice')}"},
               "olga": {"Authorization": f"Bearer {stack.token('olga')}"}, "nobody": {}}
    paths = [path for method, path, _ in operations(stack) if method == "GET"]
    checked = set()
    for who, headers in callers.items():
        for path in paths if who != "nobody" else paths[:4]:  # failed logins are budgeted per address
            got = _polite("GET", stack.rest + path, headers)
            head = _polite("HEAD", stack.rest + path, headers)
            assert head.status_code == got.status_code, (who, path, head.status_code, got.status_code)
            assert head.content == b"", (who, path)
            for header in ("Content-Type", "Access-Control-Allow-Origin", "Cache-Control", "ETag"):
                assert head.headers.get(header) == got.headers.get(header), (who, path, header)
            checked.add(got.status_code)
    assert len(paths) > 15 and {200, 401} <= checked and checked & {403, 404}
    health = requests.head(stack.rest + "/health", timeout=15)
    assert health.status_code == 200 and health.content == b""
