"""The admin and member REST API through the real local stack: authentication on every route, tenant
isolation, roles, revocation, pagination, quotas, usage and the event log. Its few websocket connections are
hand-written on purpose: they check exact answers at the upgrade and on a revoked connection."""

from __future__ import annotations

import re
import time
import uuid

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.e2e.api_client import Api, assert_error, operations, sample_body

pytestmark = pytest.mark.e2e


def test_every_route_refuses_the_unauthenticated_and_bad_tokens(stack):
    ops = operations(stack)
    assert len(ops) >= 18
    for token in (None, "not-a-token", stack.token("alice", ttl=-300)):
        api = Api(stack, token)
        for method, path, op in ops:
            assert_error(api.call(method, path, sample_body(op)), 401)


def test_another_tenants_admin_gets_no_data_from_any_route(stack):
    olga = Api(stack, stack.token("olga"))  # account admin of acc-other
    probed = 0
    for method, path, op in operations(stack):
        if not any(part in path for part in ("acc-demo", "ws-demo", "/bob")):
            continue
        assert_error(olga.call(method, path, sample_body(op)), 403, 404)
        probed += 1
    assert probed >= 14
    assert_error(olga.call("GET", "/admin/events", account_id="acc-demo"), 403, 404)
    assert_error(olga.call("GET", "/admin/events", workspace_id="ws-demo"), 404)
    assert olga.ok("GET", "/me/workspaces")["items"] == []


def test_roles_inside_a_workspace(stack):
    vera, bob = Api(stack, stack.token("vera")), Api(stack, stack.token("bob"))
    assert vera.ok("GET", "/workspaces/ws-demo")["role"] == "viewer"
    assert assert_error(vera.call("PATCH", "/admin/workspaces/ws-demo", {"name": "Mine"}), 403) == "role_too_low"
    assert_error(vera.call("PUT", "/admin/workspaces/ws-demo/members/vera", {"role": "owner"}), 403)
    assert_error(bob.call("PATCH", "/admin/workspaces/ws-demo", {"name": "Mine"}), 403)
    assert_error(bob.call("GET", "/admin/accounts/acc-demo/users"), 403)
    assert_error(bob.call("GET", "/admin/events"), 403)
    members = bob.ok("GET", "/workspaces/ws-demo/members")["items"]
    assert {m["user_id"]: m["role"] for m in members} == {"alice": "owner", "bob": "editor", "vera": "viewer"}


def test_an_administrator_builds_an_account_with_the_api_alone(stack):
    admin = Api(stack, stack.token("admin"))
    suffix = uuid.uuid4().hex[:6]
    account = admin.ok("POST", "/admin/accounts", {"name": f"Studio {suffix}", "plan": "free"}, status=201)
    acc = account["account_id"]
    assert account["quotas"]["max_workspaces"] == 3
    boss = admin.ok("POST", f"/admin/accounts/{acc}/users",
                    {"email": f"boss-{suffix}@studio.test", "name": "Boss", "role": "account_admin"}, status=201)
    token = admin.ok("POST", f"/admin/users/{boss['user_id']}/tokens", {"ttl_seconds": 3600}, status=201)["token"]
    owner = Api(stack, token)
    assert owner.ok("GET", "/me")["user_id"] == boss["user_id"]
    assert_error(owner.call("POST", f"/admin/accounts/{acc}/users",
                            {"email": f"boss-{suffix}@studio.test", "name": "Again"}), 409)
    assert_error(owner.call("POST", f"/admin/accounts/{acc}/users",
                            {"email": "x@y.test", "name": "Sneaky", "role": "platform_admin"}), 403)
    ids = [owner.ok("POST", f"/admin/accounts/{acc}/users", {"email": f"u{i}-{suffix}@studio.test",
                                                              "name": f"User {i}"}, status=201)["user_id"]
           for i in range(3)]
    first = owner.ok("GET", f"/admin/accounts/{acc}/users", limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = owner.ok("GET", f"/admin/accounts/{acc}/users", limit=2, cursor=first["next_cursor"])
    listed = {u["user_id"] for u in first["items"] + second["items"]}
    assert listed == {boss["user_id"], *ids} and second["next_cursor"] is None
    assert assert_error(owner.call("GET", f"/admin/accounts/{acc}/users", cursor=first["next_cursor"][:-3] + "AAA"),
                        400) == "bad_cursor"
    workspace = owner.ok("POST", f"/admin/accounts/{acc}/workspaces", {"name": "Tower", "owner_id": ids[0]},
                         status=201)
    ws = workspace["workspace_id"]
    owner.ok("PUT", f"/admin/workspaces/{ws}/members/{ids[1]}", {"role": "editor"})
    assert_error(owner.call("PUT", f"/admin/workspaces/{ws}/members/bob", {"role": "editor"}), 404)  # other tenant
    for name in ("Two", "Three"):
        owner.ok("POST", f"/admin/accounts/{acc}/workspaces", {"name": name}, status=201)
    assert assert_error(owner.call("POST", f"/admin/accounts/{acc}/workspaces", {"name": "Four"}), 403) == \
        "quota_exceeded"
    member_token = admin.ok("POST", f"/admin/users/{ids[1]}/tokens", {}, status=201)["token"]
    with connect(f"{stack.ws}/?token={member_token}&workspace={ws}") as ws_client:
        ws_client.send('{"action":"ping"}')
        ws_client.recv(timeout=10)
        online = {m["user_id"]: m["online"] for m in owner.ok("GET", f"/workspaces/{ws}/members")["items"]}
        assert online == {ids[0]: False, ids[1]: True}
    usage = owner.ok("GET", f"/admin/accounts/{acc}/usage")
    assert usage["counts"] == {"users": 4, "workspaces": 3}
    assert usage["quotas"]["max_users"] == 5
    deadline = time.time() + 10
    while time.time() < deadline and not owner.ok("GET", f"/admin/accounts/{acc}/usage")["usage"]["connection_seconds"]:
        time.sleep(0.3)  # the websocket above closed; $disconnect meters its time
    events = owner.ok("GET", "/admin/events", type="membership.")["items"]
    assert {e["type"] for e in events} == {"membership.added"}
    assert {e["user_id"] for e in events} == {ids[0], ids[1]}
    assert all(e["account_id"] == acc for e in owner.ok("GET", "/admin/events", limit=100)["items"])
    by_workspace = owner.ok("GET", "/admin/events", workspace_id=ws)["items"]
    assert {"workspace.created", "membership.added", "ws.connected"} <= {e["type"] for e in by_workspace}
    assert assert_error(owner.call("GET", "/admin/events", type="nonsense"), 400) == "bad_event_type"
    assert_error(owner.call("DELETE", f"/admin/accounts/{acc}"), 403)
    assert assert_error(admin.call("DELETE", f"/admin/accounts/{acc}"), 409) == "account_not_empty"


def test_a_removed_member_is_disconnected_and_refused_at_once(stack):
    alice = Api(stack, stack.token("alice"))
    suffix = uuid.uuid4().hex[:6]
    user = alice.ok("POST", "/admin/accounts/acc-demo/users", {"email": f"temp-{suffix}@demo.test",
                                                                "name": "Temp"}, status=201)["user_id"]
    alice.ok("PUT", f"/admin/workspaces/ws-demo/members/{user}", {"role": "editor"})
    token = stack.token(user)
    temp = Api(stack, token)
    assert temp.ok("GET", "/workspaces/ws-demo")["role"] == "editor"
    with connect(f"{stack.ws}/?token={token}&workspace=ws-demo") as ws:
        ws.send('{"action":"ping"}')
        ws.recv(timeout=10)
        alice.ok("DELETE", f"/admin/workspaces/ws-demo/members/{user}", status=204)
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
    assert_error(temp.call("GET", "/workspaces/ws-demo"), 404)  # no stale grant from the cache
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{stack.ws}/?token={token}&workspace=ws-demo")
    assert refused.value.response.status_code == 404
    # Deleting the user ends everything, including connections outside any workspace.
    with connect(f"{stack.ws}/?token={token}") as lobby:
        lobby.send('{"action":"ping"}')
        lobby.recv(timeout=10)
        alice.ok("DELETE", f"/admin/users/{user}", status=204)
        with pytest.raises(ConnectionClosed):
            lobby.recv(timeout=10)
    assert assert_error(temp.call("GET", "/me"), 401) == "user_unknown"
    failures = Api(stack, stack.token("admin")).ok("GET", "/admin/events", type="auth.failed", limit=100)["items"]
    assert any(e["detail"].get("code") == "user_unknown" for e in failures)


def test_a_workspace_keeps_an_owner(stack):
    alice = Api(stack, stack.token("alice"))  # account admin of acc-demo
    suffix = uuid.uuid4().hex[:6]
    ines = alice.ok("POST", "/admin/accounts/acc-demo/users", {"email": f"ines-{suffix}@demo.test", "name": "Ines"},
                    status=201)["user_id"]
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": f"Owned {suffix}",
                                                                         "owner_id": ines}, status=201)["workspace_id"]
    owner = Api(stack, stack.token(ines))
    members = f"/admin/workspaces/{workspace}/members"
    assert assert_error(owner.call("DELETE", f"{members}/{ines}"), 409) == "last_owner"
    assert assert_error(owner.call("PUT", f"{members}/{ines}", {"role": "editor"}), 409) == "last_owner"
    assert owner.ok("GET", f"/workspaces/{workspace}")["role"] == "owner"  # nothing changed
    owner.ok("PUT", f"{members}/bob", {"role": "owner"})
    owner.ok("PUT", f"{members}/{ines}", {"role": "editor"})  # another owner now: she may step down
    assert Api(stack, stack.token("bob")).ok("GET", f"/workspaces/{workspace}")["role"] == "owner"


def test_errors_keep_one_shape_for_bad_input(stack):
    alice = Api(stack, stack.token("alice"))
    import requests

    raw = requests.post(f"{stack.rest}/admin/accounts/acc-demo/users", data=b"{not json", timeout=10,
                        headers={**alice.headers, "Content-Type": "application/json"})
    assert assert_error(raw, 400) == "bad_json"
    assert assert_error(alice.call("POST", "/admin/accounts/acc-demo/users", {"name": "x"}), 400) == "bad_body"
    assert assert_error(alice.call("POST", "/admin/accounts/acc-demo/users", {"email": "nope", "name": "x"}),
                        400) == "bad_email"
    # A role or plan the API does not have: its own code (docs/errors.md), not bad_body.
    for method, path, body, code in (
            ("POST", "/admin/accounts/acc-demo/users", {"email": "x@example.com", "name": "x", "role": "god"},
             "bad_role"),
            ("PUT", "/admin/workspaces/ws-demo/members/bob", {"role": "superuser"}, "bad_role"),
            ("PATCH", "/admin/accounts/acc-demo", {"plan": "gold"}, "bad_plan")):
        assert assert_error(alice.call(method, path, body), 400) == code, (path, body)
    # Names people read: no control characters, no direction overrides that make one name look like another.
    before = alice.ok("GET", "/admin/accounts/acc-demo")["name"]
    for name in ("Acme\u0000 Ltd", "Acme\n", "\u202eevil", "   ", "\u200b\ufeff", "Acme\u2028Ltd", "\u061c\u00ad"):
        refused = alice.call("PATCH", "/admin/accounts/acc-demo", {"name": name})
        assert assert_error(refused, 400) == "bad_body"
        assert refused.json()["error"]["message"] == ("name must be a name with at least one visible character and "
                                                      "no control characters or direction overrides")
    assert alice.ok("GET", "/admin/accounts/acc-demo")["name"] == before  # nothing changed
    assert assert_error(alice.call("GET", "/me/workspaces", limit=0), 400) == "bad_query"
    assert assert_error(alice.call("GET", "/me/workspaces", surprise=1), 400) == "bad_query"
    big = requests.post(f"{stack.rest}/admin/accounts/acc-demo/users", data=b"x" * (65 * 1024), timeout=10,
                        headers={**alice.headers, "Content-Type": "application/json"})
    assert assert_error(big, 413) == "payload_too_large"
    big_get = requests.get(f"{stack.rest}/me/workspaces", data=b"x" * (100 * 1024), timeout=10, headers=alice.headers)
    assert assert_error(big_get, 413) == "payload_too_large"  # a route that reads no body refuses one too
    weird = requests.post(f"{stack.rest}/admin/accounts/acc-demo/users", data=b"{}", timeout=10,
                          headers={**alice.headers, "Content-Type": "application/xml"})
    assert_error(weird, 400, 415)


def test_openapi_document_and_page(stack):
    import requests

    document = requests.get(f"{stack.rest}/openapi.json", timeout=10).json()
    assert document["openapi"].startswith("3.1")
    assert "/admin/accounts/{account_id}/users" in document["paths"]
    page = requests.get(f"{stack.rest}/docs", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "/admin/workspaces/{workspace_id}/members/{user_id}" in page.text
    # The AGPL's source offer: the page links to the archive of the running version, and it downloads.
    match = re.search(r"<a href='([^']+source\.tar\.gz)'>", page.text)
    assert match and "Affero General Public License" in page.text
    archive = requests.get(match.group(1), timeout=30)
    assert archive.status_code == 200 and archive.content[:2] == b"\x1f\x8b"


def test_administrators_cannot_lock_themselves_out(stack):
    alice = Api(stack, stack.token("alice"))
    assert assert_error(alice.call("PATCH", "/admin/users/alice", {"role": "member"}), 400) == \
        "cannot_change_own_role"
    assert assert_error(alice.call("DELETE", "/admin/users/alice"), 400) == "cannot_delete_self"
    assert alice.ok("PATCH", "/admin/users/alice", {"name": "Alice A. Architect"})["role"] == "account_admin"


def test_an_administrator_follows_the_event_log_live(stack):
    import json

    alice = Api(stack, stack.token("alice"))
    alice.ok("PUT", "/admin/workspaces/ws-demo/members/vera", {"role": "viewer"})  # as seeded (no event if so)
    with connect(f"{stack.ws}/?token={stack.token('alice')}") as follower, \
            connect(f"{stack.ws}/?token={stack.token('olga')}") as outsider:
        follower.send(json.dumps({"action": "events.subscribe", "id": "f1"}))
        assert json.loads(follower.recv(timeout=10)) == {"action": "events.subscribed", "id": "f1",
                                                         "scope": "acc-demo"}
        outsider.send(json.dumps({"action": "events.subscribe", "account_id": "acc-demo"}))
        assert json.loads(outsider.recv(timeout=10))["error"]["code"] == "forbidden"
        outsider.send(json.dumps({"action": "events.subscribe"}))  # her own account is fine
        assert json.loads(outsider.recv(timeout=10))["scope"] == "acc-other"
        alice.ok("PUT", "/admin/workspaces/ws-demo/members/vera", {"role": "editor"})
        alice.ok("PUT", "/admin/workspaces/ws-demo/members/vera", {"role": "viewer"})
        seen: list[tuple[str, str]] = []
        while len(seen) < 2:
            message = json.loads(follower.recv(timeout=10))
            if message["action"] == "event" and message["event"]["type"].startswith("membership."):
                seen.append((message["event"]["type"], message["event"]["detail"]["role"]))
        assert seen == [("membership.changed", "editor"), ("membership.changed", "viewer")]
        outsider.send(json.dumps({"action": "ping"}))  # nothing of acc-demo reached the other tenant
        assert json.loads(outsider.recv(timeout=10))["action"] == "pong"
    with connect(f"{stack.ws}/?token={stack.token('admin')}") as platform:
        for unknown in ("acc-nobody", "ACC-DEMO", "a" * 500, ""):  # as REST answers; "" is not "every account"
            platform.send(json.dumps({"action": "events.subscribe", "account_id": unknown}))
            assert json.loads(platform.recv(timeout=9))["error"]["code"] == ("not_found" if unknown else "bad_envelope")
        platform.send(json.dumps({"action": "events.subscribe", "account_id": "acc-other"}))
        assert json.loads(platform.recv(timeout=10))["scope"] == "acc-other"


def test_an_account_admin_cannot_act_on_a_platform_admin_in_their_account(stack):
    """Found in review: a token minted for a platform admin would outrank the account admin minting it."""
    admin, alice = Api(stack, stack.token("admin")), Api(stack, stack.token("alice"))
    ops = admin.ok("POST", "/admin/accounts/acc-demo/users", {"email": f"ops-{uuid.uuid4().hex[:6]}@demo.test",
                                                               "name": "Ops", "role": "platform_admin"},
                   status=201)["user_id"]
    assert_error(alice.call("POST", f"/admin/users/{ops}/tokens", {}), 403)
    assert_error(alice.call("PATCH", f"/admin/users/{ops}", {"role": "member"}), 403)
    assert_error(alice.call("DELETE", f"/admin/users/{ops}"), 403)
    assert alice.ok("GET", f"/admin/users/{ops}")["role"] == "platform_admin"  # visible, untouchable
    admin.ok("DELETE", f"/admin/users/{ops}", status=204)
