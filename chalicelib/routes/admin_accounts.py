"""Admin REST API: accounts, users, tokens, usage (platform and account administrators)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.container import get_container
from chalicelib.routes import schemas as s
from chalicelib.routes.api import PAGING, ApiCall, Param, api

bp = Blueprint(__name__)
TAG = "admin: accounts and users"


@api(bp, "POST", "/admin/accounts", "Create an account (platform admins)", TAG, status=201,
     body=s.NEW_ACCOUNT, response=s.ACCOUNT)
def create_account(call: ApiCall) -> Any:
    return get_container().directory.create_account(call.actor, call.body["name"], call.body.get("plan", "free"),
                                                    call.body.get("account_id")).to_dict()


@api(bp, "GET", "/admin/accounts", "List accounts (platform admins)", TAG, query=PAGING, response=s.page_of(s.ACCOUNT))
def list_accounts(call: ApiCall) -> Any:
    page = get_container().directory.list_accounts(call.actor, call.limit, call.start())
    return call.page([a.to_dict() for a in page.items], page.next_key)


@api(bp, "GET", "/admin/accounts/{account_id}", "Read an account", TAG, response=s.ACCOUNT)
def get_account(call: ApiCall) -> Any:
    return get_container().directory.get_account(call.actor, call.path["account_id"]).to_dict()


@api(bp, "PATCH", "/admin/accounts/{account_id}", "Change an account (plans and quotas: platform admins)", TAG,
     body=s.ACCOUNT_CHANGES, response=s.ACCOUNT)
def update_account(call: ApiCall) -> Any:
    return get_container().directory.update_account(call.actor, call.path["account_id"], call.body).to_dict()


@api(bp, "DELETE", "/admin/accounts/{account_id}", "Delete an empty account (platform admins)", TAG, status=204)
def delete_account(call: ApiCall) -> Any:
    get_container().directory.delete_account(call.actor, call.path["account_id"])


@api(bp, "GET", "/admin/accounts/{account_id}/usage", "An account's usage for a month, with its quotas", TAG,
     query=(Param("period", "month, YYYY-MM (default: this month)", max_length=7),), response=s.USAGE)
def account_usage(call: ApiCall) -> Any:
    return get_container().usage.report(call.actor, call.path["account_id"], call.query.get("period"))


@api(bp, "POST", "/admin/accounts/{account_id}/users", "Create a user in an account", TAG, status=201,
     body=s.NEW_USER, response=s.USER)
def create_user(call: ApiCall) -> Any:
    b = call.body
    return get_container().directory.create_user(call.actor, call.path["account_id"], b["email"], b["name"],
                                                 b.get("role", "member"), b.get("avatar_url", ""),
                                                 b.get("user_id")).to_dict()


@api(bp, "GET", "/admin/accounts/{account_id}/users", "List an account's users", TAG, query=PAGING,
     response=s.page_of(s.USER))
def list_users(call: ApiCall) -> Any:
    page = get_container().directory.list_users(call.actor, call.path["account_id"], call.limit, call.start())
    return call.page([u.to_dict() for u in page.items], page.next_key)


@api(bp, "GET", "/admin/users/{user_id}", "Read a user", TAG, response=s.USER)
def get_user(call: ApiCall) -> Any:
    return get_container().directory.get_user(call.actor, call.path["user_id"]).to_dict()


@api(bp, "PATCH", "/admin/users/{user_id}", "Change a user", TAG, body=s.USER_CHANGES, response=s.USER)
def update_user(call: ApiCall) -> Any:
    return get_container().directory.update_user(call.actor, call.path["user_id"], call.body).to_dict()


@api(bp, "DELETE", "/admin/users/{user_id}", "Delete a user: access ends at once, open websockets close", TAG,
     status=204)
def delete_user(call: ApiCall) -> Any:
    get_container().directory.delete_user(call.actor, call.path["user_id"])


@api(bp, "POST", "/admin/users/{user_id}/tokens", "Issue a bearer token for a user", TAG, status=201,
     body=s.TOKEN_REQUEST, response=s.TOKEN)
def issue_token(call: ApiCall) -> Any:
    ttl = call.body.get("ttl_seconds")
    token = get_container().directory.issue_token(call.actor, call.path["user_id"], ttl)
    return {"token": token, "expires_in": ttl or get_container().settings.token_ttl_seconds}
