"""Who a name, an address or a token stands for, through the real local stack: names and email addresses
stored in one spelling, none that can pass for another user's (chalicelib/domain/visible.py,
email_address.py), and a deleted user's token never acting as a new user given the same id."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.e2e.api_client import Api, assert_error

pytestmark = pytest.mark.e2e


def test_names_are_stored_nfc_and_trimmed_and_lookalike_emails_are_refused(stack):
    """A name typed with a decomposed é (macOS, some keyboards) is the name typed with a composed one, on
    creation and rename; an email with a zero-width or direction character would look like another user's."""
    alice = Api(stack, stack.token("alice"))
    decomposed, composed = "Cafe\u0301 Su\u0308d", "Caf\u00e9 S\u00fcd"
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": f"  {decomposed}  "}, status=201)
    assert workspace["name"] == composed
    renamed = alice.ok("PATCH", f"/admin/workspaces/{workspace['workspace_id']}", {"name": f" {decomposed}x "})
    assert renamed["name"] == composed + "x"
    bobs_name = alice.ok("GET", "/admin/users/bob")["name"]
    assert alice.ok("PATCH", "/admin/users/bob", {"name": f"  {decomposed} "})["name"] == composed
    alice.ok("PATCH", "/admin/users/bob", {"name": bobs_name})
    tag = uuid.uuid4().hex[:6]
    user = alice.ok("POST", "/admin/accounts/acc-demo/users", {"email": f"Rene\u0301-{tag}@Demo.test", "name": "R"},
                    status=201)
    assert user["email"] == f"ren\u00e9-{tag}@demo.test"
    again = alice.call("POST", "/admin/accounts/acc-demo/users", {"email": f"ren\u00e9-{tag}@demo.test", "name": "R"})
    assert assert_error(again, 409) == "email_taken"
    for lookalike in (f"al\u200bice-{tag}@demo.test", f"alice-{tag}@demo\u202e.test", f"a\u00a0b-{tag}@demo.test",
                      f"a\u2028b-{tag}@demo.test", f"a\u0007b-{tag}@demo.test", f"in\u3164es-{tag}@demo.test",
                      f"in\u034fes-{tag}@demo.test", f"ines\ufe0f-{tag}@demo.test", f"a..b-{tag}@demo.test",
                      f"in\u180bes-{tag}@demo.test", f"in\u17b4es-{tag}@demo.test", f"\u0430lice-{tag}@demo.test"):
        refused = alice.call("POST", "/admin/accounts/acc-demo/users", {"email": lookalike, "name": "L"})
        assert assert_error(refused, 400) == "bad_email", lookalike
    # An internationalised domain is one address whichever way it is typed.
    idn = alice.ok("POST", "/admin/accounts/acc-demo/users", {"email": f"k-{tag}@xn--bcher-kva.test", "name": "K"},
                   status=201)
    assert idn["email"] == f"k-{tag}@b\u00fccher.test"
    for twin in (f"k-{tag}@b\u00fccher.test", f"k-{tag}@\uff42\u00fccher.test", f"K-{tag}@\U0001d41b\u00fccher.TEST"):
        again = alice.call("POST", "/admin/accounts/acc-demo/users", {"email": twin, "name": "K"})
        assert assert_error(again, 409) == "email_taken", twin
    too_long = alice.call("POST", "/admin/accounts/acc-demo/workspaces", {"name": "\U0001d160" * 200})
    assert assert_error(too_long, 400) == "bad_body"  # 600 characters once normalised
    # Nothing in the name shows by itself (a tag, a variation selector, a combining accent, a Hangul filler):
    # refused on creation and rename; what shows nothing at a name's ends is trimmed.
    for blank in ("\U000e0041", "\ufe0f", "\u0301", "\u3164", "\u200b\u200e"):
        refused = alice.call("POST", "/admin/accounts/acc-demo/workspaces", {"name": blank})
        assert assert_error(refused, 400) == "bad_body", ascii(blank)
        assert "visible character" in refused.json()["error"]["message"]
        assert assert_error(alice.call("PATCH", "/admin/users/bob", {"name": blank}), 400) == "bad_body"
    trimmed = alice.ok("PATCH", f"/admin/workspaces/{workspace['workspace_id']}", {"name": "\ufeffTower\u200b"})
    assert trimmed["name"] == "Tower"
    alice.ok("DELETE", f"/admin/users/{idn['user_id']}", status=204)
    alice.ok("DELETE", f"/admin/users/{user['user_id']}", status=204)
    alice.ok("DELETE", f"/admin/workspaces/{workspace['workspace_id']}", status=204)


def test_a_deleted_users_token_never_passes_for_a_new_user_given_the_same_id(stack):
    """A platform administrator may choose ids: deleting a user and creating one with the same id at once
    (within the same second as often as not) must not let the first user's token act as the second."""
    admin = Api(stack, stack.token("admin"))
    for attempt in range(3):
        user_id = f"reused-{uuid.uuid4().hex[:6]}"
        body = {"email": f"{user_id}@demo.test", "name": "First", "user_id": user_id}
        admin.ok("POST", "/admin/accounts/acc-demo/users", body, status=201)
        old = admin.ok("POST", f"/admin/users/{user_id}/tokens", {"ttl_seconds": 600}, status=201)["token"]
        assert Api(stack, old).ok("GET", "/me")["name"] == "First"
        admin.ok("DELETE", f"/admin/users/{user_id}", status=204)
        admin.ok("POST", "/admin/accounts/acc-demo/users", {**body, "name": "Second"}, status=201)
        refused = Api(stack, old).call("GET", "/me")
        assert assert_error(refused, 401) == "token_mismatch", attempt
        new = admin.ok("POST", f"/admin/users/{user_id}/tokens", {"ttl_seconds": 600}, status=201)["token"]
        assert Api(stack, new).ok("GET", "/me")["name"] == "Second"
        admin.ok("DELETE", f"/admin/users/{user_id}", status=204)


def test_a_deleted_accounts_id_is_never_given_to_another_account(stack):
    admin = Api(stack, stack.token("admin"))
    chosen = f"acc-once-{uuid.uuid4().hex[:6]}"
    admin.ok("POST", "/admin/accounts", {"name": "First holder", "plan": "free", "account_id": chosen}, status=201)
    assert assert_error(admin.call("POST", "/admin/accounts", {"name": "Twin", "plan": "free",
                                                                "account_id": chosen}), 409) == "id_taken"
    workspace = admin.ok("POST", f"/admin/accounts/{chosen}/workspaces", {"name": "Secret project"}, status=201)
    admin.ok("DELETE", f"/admin/workspaces/{workspace['workspace_id']}", status=204)
    admin.ok("DELETE", f"/admin/accounts/{chosen}", status=204)
    assert admin.call("GET", f"/admin/accounts/{chosen}").status_code == 404
    # Its events (and usage) are keyed by the id: a second account under it would read them as its own.
    again = admin.call("POST", "/admin/accounts", {"name": "Second holder", "plan": "free", "account_id": chosen})
    assert assert_error(again, 409) == "id_taken" and "deleted" in again.json()["error"]["message"]
    assert admin.call("GET", f"/admin/accounts/{chosen}").status_code == 404
    fresh = admin.ok("POST", "/admin/accounts", {"name": "Second holder", "plan": "free"}, status=201)
    assert fresh["account_id"] != chosen


def test_the_event_log_records_what_changed_and_nothing_for_a_change_that_changes_nothing(stack):
    alice = Api(stack, stack.token("alice"))
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": "Before"}, status=201)
    ws = workspace["workspace_id"]

    def events(kind: str) -> list[dict]:
        return list(alice.ok("GET", "/admin/events", workspace_id=ws, type=kind)["items"])
    alice.ok("PATCH", f"/admin/workspaces/{ws}", {"name": "After"})
    alice.ok("PATCH", f"/admin/workspaces/{ws}", {"settings": {"grid": 10}})
    alice.ok("PATCH", f"/admin/workspaces/{ws}", {})
    alice.ok("PATCH", f"/admin/workspaces/{ws}", {"name": "After", "settings": {"grid": 10}})
    assert [e["detail"] for e in events("workspace.updated")] == [{"settings_changed": True}, {"name": "After"}]
    alice.ok("PUT", f"/admin/workspaces/{ws}/members/bob", {"role": "editor"})
    alice.ok("PUT", f"/admin/workspaces/{ws}/members/bob", {"role": "editor"})
    assert len(events("membership.")) == 1
    user_events = len(alice.ok("GET", "/admin/events", user_id="bob", type="user.updated")["items"])
    bob = alice.ok("GET", "/admin/users/bob")
    alice.ok("PATCH", "/admin/users/bob", {})
    alice.ok("PATCH", "/admin/users/bob", {"name": bob["name"], "role": bob["role"]})
    assert len(alice.ok("GET", "/admin/events", user_id="bob", type="user.updated")["items"]) == user_events
    name = alice.ok("GET", "/admin/accounts/acc-demo")["name"]
    before = len(alice.ok("GET", "/admin/events", type="account.updated")["items"])
    alice.ok("PATCH", "/admin/accounts/acc-demo", {"name": name})
    assert len(alice.ok("GET", "/admin/events", type="account.updated")["items"]) == before


def test_two_administrators_demoting_each_other_at_once_leave_one(stack):
    """Each request passes the role check before either writes; the write itself requires the caller to be an
    administrator still, so of two admins demoting (or deleting) each other at once, exactly one wins."""
    from concurrent.futures import ThreadPoolExecutor

    admin = Api(stack, stack.token("admin"))
    account = admin.ok("POST", "/admin/accounts", {"name": "Two admins", "plan": "team"}, status=201)["account_id"]
    for attempt, (method, body) in enumerate([("PATCH", {"role": "member"})] * 3 + [("DELETE", None)] * 2):
        ids = []
        for name in ("ines", "marc"):
            made = admin.ok("POST", f"/admin/accounts/{account}/users",
                            {"email": f"{name}-{attempt}@two-admins.test", "name": name, "role": "account_admin"},
                            status=201)
            ids.append(made["user_id"])
        tokens = [admin.ok("POST", f"/admin/users/{i}/tokens", {"ttl_seconds": 600}, status=201)["token"] for i in ids]
        with ThreadPoolExecutor(2) as pool:
            calls = [(method, tokens[0], ids[1], body), (method, tokens[1], ids[0], body)]
            answers = list(pool.map(lambda c: Api(stack, c[1]).call(c[0], f"/admin/users/{c[2]}", c[3]), calls))
        codes = sorted(a.status_code for a in answers)
        # A deletion that lands before the other's request is authenticated leaves that token's user gone: 401.
        refused = (401, 403, 409) if method == "DELETE" else (403, 409)
        assert codes[0] in (200, 204) and codes[1] in refused, (attempt, [a.text for a in answers])
        loser = next(a for a in answers if a.status_code >= 400)
        assert loser.json()["error"]["code"] in ("role_changed", "forbidden", "conflict", "user_unknown"), loser.text
        admins = [u for u in admin.ok("GET", f"/admin/accounts/{account}/users", limit=100)["items"]
                  if u["role"] == "account_admin"]
        assert len(admins) == 1, (attempt, admins)
        for user in admin.ok("GET", f"/admin/accounts/{account}/users", limit=100)["items"]:
            admin.ok("DELETE", f"/admin/users/{user['user_id']}", status=204)
    # Deleted users' records are gone; the log still says who each was.
    for kind in ("user.created", "user.deleted"):
        events = admin.ok("GET", "/admin/events", account_id=account, type=kind, limit=100)["items"]
        assert {e["detail"]["email"] for e in events} == {f"{n}-{a}@two-admins.test" for n in ("ines", "marc")
                                                           for a in range(5)}, kind
    admin.ok("DELETE", f"/admin/accounts/{account}", status=204)


def test_two_owners_demoting_each_other_at_once_leave_one(stack):
    """As for administrators: each owner passes the last-owner check before either writes; the write requires
    its caller to be an owner still, so one wins and the workspace keeps an owner, whichever order they land in."""
    from concurrent.futures import ThreadPoolExecutor

    alice = Api(stack, stack.token("alice"))  # acc-demo's administrator
    tag = uuid.uuid4().hex[:6]
    workspace = alice.ok("POST", "/admin/accounts/acc-demo/workspaces", {"name": f"Two owners {tag}"}, status=201)
    ws = workspace["workspace_id"]
    made = [alice.ok("POST", "/admin/accounts/acc-demo/users", {"email": f"{n}-{tag}@demo.test", "name": n},
                     status=201)["user_id"] for n in ("owner-a", "owner-b")]
    tokens = [alice.ok("POST", f"/admin/users/{u}/tokens", {"ttl_seconds": 600}, status=201)["token"] for u in made]
    for attempt, (method, body) in enumerate([("PUT", {"role": "editor"})] * 3 + [("DELETE", None)] * 2):
        for user_id in made:
            alice.ok("PUT", f"/admin/workspaces/{ws}/members/{user_id}", {"role": "owner"})
        calls = [(method, tokens[0], made[1], body), (method, tokens[1], made[0], body)]
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda c: Api(stack, c[1]).call(c[0], f"/admin/workspaces/{ws}/members/{c[2]}",
                                                                    c[3]), calls))
        codes = sorted(a.status_code for a in answers)
        # A removal that lands before the other owner's request is read leaves that owner outside the workspace,
        # and to a non-member a workspace answers 404 as if it did not exist (other tenants learn nothing).
        refused = (403, 404, 409) if method == "DELETE" else (403, 409)
        assert codes[0] in (200, 204) and codes[1] in refused, (attempt, [a.text for a in answers])
        owners = [m for m in alice.ok("GET", f"/workspaces/{ws}/members", limit=100)["items"]
                  if m["role"] == "owner"]
        assert len(owners) == 1, (attempt, owners)
    for user_id in made:
        alice.ok("DELETE", f"/admin/users/{user_id}", status=204)
    alice.ok("DELETE", f"/admin/workspaces/{ws}", status=204)


def test_a_deleted_accounts_last_month_stays_in_the_event_log(stack):
    """Its usage answers 404 once the account is gone: account.deleted carries the month it ended in."""
    from tests.e2e.api_client import wait_until
    from tests.e2e.documents_samples import letter_pdf

    admin = Api(stack, stack.token("admin"))
    tag = uuid.uuid4().hex[:6]
    account = admin.ok("POST", "/admin/accounts", {"name": f"Leaving {tag}", "plan": "free"}, status=201)["account_id"]
    owner = admin.ok("POST", f"/admin/accounts/{account}/users", {"email": f"owner@leaving-{tag}.test", "name": "O",
                                                                  "role": "account_admin"}, status=201)["user_id"]
    as_owner = Api(stack, admin.ok("POST", f"/admin/users/{owner}/tokens", {"ttl_seconds": 600}, status=201)["token"])
    ws = as_owner.ok("POST", f"/admin/accounts/{account}/workspaces", {"name": "W", "owner_id": owner},
                     status=201)["workspace_id"]
    body = letter_pdf(pages=2)
    grant = as_owner.ok("POST", f"/workspaces/{ws}/uploads", {"filename": "a.pdf", "size": len(body),
                                                             "content_type": "application/pdf"}, status=201)
    assert requests.put(grant["url"], data=body, headers=grant["headers"], timeout=30).status_code == 200
    document = f"/workspaces/{ws}/documents/{grant['document_id']}"
    wait_until(lambda: as_owner.ok("GET", document)["status"] == "ready", "the document ready", timeout=120)
    month = admin.ok("GET", f"/admin/accounts/{account}/usage")
    assert month["usage"]["pages_processed"] == 2
    as_owner.ok("DELETE", document, status=204)
    admin.ok("DELETE", f"/admin/workspaces/{ws}", status=204)
    admin.ok("DELETE", f"/admin/users/{owner}", status=204)
    admin.ok("DELETE", f"/admin/accounts/{account}", status=204)
    assert admin.call("GET", f"/admin/accounts/{account}/usage").status_code == 404
    deleted = [e for e in admin.ok("GET", "/admin/events", type="account.deleted", limit=100)["items"]
               if e["account_id"] == account]
    assert [e["detail"] for e in deleted] == [{"period": month["period"], "usage": month["usage"]}]


def test_a_quota_written_with_a_fraction_or_exponent_is_refused(stack):
    admin = Api(stack, stack.token("admin"))
    before = admin.ok("GET", "/admin/accounts/acc-demo")["quota_overrides"]
    for written in ("1e3", "1000.0", "-0.0"):
        refused = requests.patch(f"{stack.rest}/admin/accounts/acc-demo", headers=admin.headers, timeout=15,
                                 data=f'{{"quota_overrides": {{"max_users": {written}}}}}')
        assert assert_error(refused, 400) == "bad_body", written
        assert "quota_overrides.max_users must be an integer" in refused.json()["error"]["message"]
    assert admin.ok("GET", "/admin/accounts/acc-demo")["quota_overrides"] == before  # nothing stored
