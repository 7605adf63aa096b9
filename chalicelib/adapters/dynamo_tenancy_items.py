"""The tenancy store's items in the main table: their keys, the account counters' conditional updates, and rows
read back as domain objects (dynamo_tenancy.py writes them)."""

from __future__ import annotations

import json
import time
from typing import Any

from chalicelib.adapters.dynamo_items import to_item
from chalicelib.domain.errors import Conflict, Forbidden
from chalicelib.domain.principal import Role
from chalicelib.domain.tenancy import Account, Membership, User, Workspace, WorkspaceRole

_NEW = "attribute_not_exists(pk)"


def _account_key(account_id: str) -> dict[str, Any]:
    return to_item({"pk": f"ACCOUNT#{account_id}", "sk": "ACCOUNT"})


def _tombstone_key(account_id: str) -> dict[str, Any]:
    return to_item({"pk": f"ACCOUNT#{account_id}", "sk": "DELETED"})


def _email_claim(account_id: str, email: str) -> dict[str, Any]:
    return {"pk": f"EMAIL#{account_id}#{email}", "sk": "EMAIL"}


def _email_taken() -> Conflict:
    # Not echoed: the caller knows the address they sent.
    return Conflict("another user of this account has this email address", code="email_taken")


ADMIN_ROLES = (Role.ACCOUNT_ADMIN.value, Role.PLATFORM_ADMIN.value)


_EXISTS = "attribute_exists(pk)"


def role_changed() -> Forbidden:
    """The caller's role changed between the check of it and the write (a transaction's condition failed)."""
    return Forbidden("your role changed while this was asked; nothing was changed", code="role_changed")


def _admin_still(table: str, user_id: str | None) -> tuple[list[dict[str, Any]], list[Exception]]:
    """A transaction's check that `user_id` still holds an administrator's role (none for None), and the
    refusal to raise when it does not."""
    if user_id is None:
        return [], []
    check = {"ConditionCheck": {"TableName": table, "Key": to_item({"pk": f"USER#{user_id}", "sk": "USER"}),
                                "ConditionExpression": "#r IN (:a, :p)", "ExpressionAttributeNames": {"#r": "role"},
                                "ExpressionAttributeValues": to_item({":a": ADMIN_ROLES[0], ":p": ADMIN_ROLES[1]})}}
    return [check], [role_changed()]


def _counter_update(table: str, account_id: str, counter: str, delta: int, limit: int | None) -> dict[str, Any]:
    condition = "attribute_exists(pk)"
    values: dict[str, Any] = {":d": delta, ":zero": 0}
    if delta > 0 and limit is not None:
        condition += f" AND (attribute_not_exists({counter}) OR {counter} < :max)"
        values[":max"] = limit
    return {"Update": {"TableName": table, "Key": _account_key(account_id),
                       "UpdateExpression": f"SET {counter} = if_not_exists({counter}, :zero) + :d",
                       "ConditionExpression": condition, "ExpressionAttributeValues": to_item(values)}}


def _account(row: dict[str, Any]) -> Account:
    return Account(row["account_id"], row["name"], row["plan"], int(row["created_at"]),
                   dict(row.get("quota_overrides") or {}))


def _user(row: dict[str, Any]) -> User:
    return User(row["user_id"], row["account_id"], row["email"], row["name"], Role(row["role"]),
                int(row["created_at"]), row.get("avatar_url", ""), row.get("token_epoch", ""))


def _workspace_fields(workspace: Workspace) -> dict[str, Any]:
    # Settings are the client's free-form JSON: kept as one string, so any key and any number survive
    # (a map would turn floats into Decimals and is at the mercy of key names).
    data = workspace.to_dict()
    data["settings_json"] = json.dumps(data.pop("settings"), separators=(",", ":"))
    return data


def _workspace(row: dict[str, Any]) -> Workspace:
    settings = json.loads(row["settings_json"]) if "settings_json" in row else dict(row.get("settings") or {})
    return Workspace(row["workspace_id"], row["account_id"], row["name"], int(row["created_at"]), settings)


def _membership(row: dict[str, Any]) -> Membership:
    return Membership(row["workspace_id"], row["user_id"], row.get("account_id", ""), WorkspaceRole(row["role"]),
                      int(row.get("added_at", time.time())))
