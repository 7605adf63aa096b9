"""TenancyStore in the main table (single-table design; docs/data-model.md lists every access pattern).

Creates and deletes run as transactions with the account's counters, so plan quotas and unique emails hold
even under concurrent requests: a user is created only if the account exists and is below its user quota.
Emails are unique within an account (the claim is `EMAIL#<account>#<email>`): whether an address is in use in
another account is never asked, so no answer can disclose it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from chalicelib.adapters.dynamo_grants import grant_check
from chalicelib.adapters.dynamo_items import from_item, query_page, to_item
from chalicelib.adapters.dynamo_tenancy_items import (
    _EXISTS,
    _NEW,
    ADMIN_ROLES,
    _account,
    _account_key,
    _admin_still,
    _counter_update,
    _email_claim,
    _email_taken,
    _membership,
    _tombstone_key,
    _user,
    _workspace,
    _workspace_fields,
    role_changed,
)
from chalicelib.domain.errors import Conflict, NotFound, QuotaExceeded
from chalicelib.domain.paging import Page
from chalicelib.domain.tenancy import Account, Membership, User, Workspace, WriteGrant

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class DynamoTenancyStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    # -- accounts ---------------------------------------------------------------------------------------
    def create_account(self, account: Account) -> None:
        item = {"pk": f"ACCOUNT#{account.account_id}", "sk": "ACCOUNT", "gsi1pk": "ACCOUNTS",
                "gsi1sk": f"{account.created_at:012d}#{account.account_id}", "user_count": 0,
                "workspace_count": 0, **self._account_fields(account)}
        # An id is never given to a second account: the first's events and usage stay keyed by it (tombstone).
        self._transact([
            {"Put": {"TableName": self._table, "Item": to_item(item), "ConditionExpression": _NEW}},
            {"ConditionCheck": {"TableName": self._table, "Key": _tombstone_key(account.account_id),
                                "ConditionExpression": _NEW}},
        ], [Conflict(f"account {account.account_id} exists", code="id_taken"),
            Conflict(f"account id {account.account_id} belonged to a deleted account; ids are not given again",
                     code="id_taken")], None)

    @staticmethod
    def _account_fields(account: Account) -> dict[str, Any]:
        return {"account_id": account.account_id, "name": account.name, "plan": account.plan,
                "created_at": account.created_at, "quota_overrides": account.quota_overrides}

    def get_account(self, account_id: str) -> Account | None:
        item = self._get(f"ACCOUNT#{account_id}", "ACCOUNT")
        return None if item is None else _account(item)

    def account_counts(self, account_id: str) -> dict[str, int]:
        item = self._get(f"ACCOUNT#{account_id}", "ACCOUNT") or {}
        return {"users": int(item.get("user_count", 0)), "workspaces": int(item.get("workspace_count", 0))}

    def update_account(self, account: Account) -> None:
        fields = {"name": account.name, "plan": account.plan, "quota_overrides": account.quota_overrides}
        self._update(f"ACCOUNT#{account.account_id}", "ACCOUNT", fields)

    def delete_account(self, account_id: str) -> None:
        try:
            self._client.transact_write_items(TransactItems=[
                {"Delete": {"TableName": self._table, "Key": _account_key(account_id),
                            "ConditionExpression": "attribute_exists(pk) AND user_count = :zero AND "
                                                   "workspace_count = :zero",
                            "ExpressionAttributeValues": to_item({":zero": 0})}},
                {"Put": {"TableName": self._table, "Item": {**_tombstone_key(account_id),
                                                            **to_item({"deleted_at": int(time.time())})}}}])
        except self._client.exceptions.TransactionCanceledException as exc:
            if self.get_account(account_id) is None:
                raise NotFound("no such account") from exc
            raise Conflict("the account still has users or workspaces; delete them first",
                           code="account_not_empty") from exc

    def list_accounts(self, limit: int, start: dict[str, Any] | None) -> Page[Account]:
        rows, nxt = query_page(self._client, limit, start, TableName=self._table, IndexName="gsi1",
                               KeyConditionExpression="gsi1pk = :p", ExpressionAttributeValues=to_item(
                                   {":p": "ACCOUNTS"}))
        return Page([_account(r) for r in rows], nxt)

    # -- users ------------------------------------------------------------------------------------------
    def create_user(self, user: User, max_users: int | None) -> None:
        item = {"pk": f"USER#{user.user_id}", "sk": "USER", "gsi1pk": f"ACCOUNT#{user.account_id}#USERS",
                "gsi1sk": user.email, **user.to_dict(), "token_epoch": user.token_epoch}
        email = {**_email_claim(user.account_id, user.email), "user_id": user.user_id}
        self._transact([
            {"Put": {"TableName": self._table, "Item": to_item(item), "ConditionExpression": _NEW}},
            {"Put": {"TableName": self._table, "Item": to_item(email),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            _counter_update(self._table, user.account_id, "user_count", 1, max_users),
        ], [Conflict("user id taken", code="id_taken"), _email_taken(),
            QuotaExceeded("the account's plan allows no more users")], user.account_id)

    def get_user(self, user_id: str) -> User | None:
        item = self._get(f"USER#{user_id}", "USER")
        return None if item is None else _user(item)

    def update_user(self, before: User, after: User, by_admin: str | None = None) -> None:
        fields = {"name": after.name, "role": after.role.value, "avatar_url": after.avatar_url}
        if by_admin == after.user_id:
            by_admin = None  # their own name or address (the service refuses their own role): nothing to race
        if before.email == after.email and by_admin is None:
            self._update(f"USER#{after.user_id}", "USER", fields)
            return
        # `by_admin` must still be an administrator when this lands: two admins demoting (or deleting) each
        # other at once each passed the service's check, and without this both would win, leaving none.
        admin, refused = _admin_still(self._table, by_admin)
        if before.email == after.email:
            self._transact([{"Update": self._update_request(f"USER#{after.user_id}", "USER", fields)}, *admin],
                           [NotFound("no such user"), *refused], None)
            return
        self._transact([
            {"Update": self._update_request(f"USER#{after.user_id}", "USER",
                                            {**fields, "email": after.email, "gsi1sk": after.email})},
            {"Put": {"TableName": self._table, "Item": to_item({**_email_claim(after.account_id, after.email),
                                                                "user_id": after.user_id}),
                     "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Delete": {"TableName": self._table, "Key": to_item(_email_claim(before.account_id, before.email))}},
            *admin,
        ], [NotFound("no such user"), _email_taken(), Conflict("concurrent change"), *refused], None)

    def delete_user(self, user: User, by_admin: str | None = None) -> list[str]:
        """Delete the user, their email claim and memberships; return the workspaces they belonged to."""
        admin, refused = _admin_still(self._table, by_admin)
        if admin and not self._is_admin(by_admin):  # before any membership goes
            raise refused[0]
        workspaces = [m.workspace_id for m in self._all(lambda s: self.list_user_workspaces(user.user_id, 100, s))]
        for workspace_id in workspaces:
            self.delete_membership(workspace_id, user.user_id)
        self._transact([
            {"Delete": {"TableName": self._table, "Key": to_item({"pk": f"USER#{user.user_id}", "sk": "USER"}),
                        "ConditionExpression": "attribute_exists(pk)"}},
            {"Delete": {"TableName": self._table, "Key": to_item(_email_claim(user.account_id, user.email))}},
            _counter_update(self._table, user.account_id, "user_count", -1, None),
            *admin,
        ], [NotFound("no such user"), Conflict("concurrent change"), Conflict("concurrent change"), *refused], None)
        return workspaces

    def _is_admin(self, user_id: str | None) -> bool:
        row = self._get(f"USER#{user_id}", "USER") if user_id else None
        return row is not None and row.get("role") in ADMIN_ROLES

    def list_users(self, account_id: str, limit: int, start: dict[str, Any] | None) -> Page[User]:
        rows, nxt = query_page(self._client, limit, start, TableName=self._table, IndexName="gsi1",
                               KeyConditionExpression="gsi1pk = :p",
                               ExpressionAttributeValues=to_item({":p": f"ACCOUNT#{account_id}#USERS"}))
        return Page([_user(r) for r in rows], nxt)

    # -- workspaces -------------------------------------------------------------------------------------
    def create_workspace(self, workspace: Workspace, max_workspaces: int | None) -> None:
        item = {"pk": f"WORKSPACE#{workspace.workspace_id}", "sk": "WORKSPACE",
                "gsi1pk": f"ACCOUNT#{workspace.account_id}#WORKSPACES",
                "gsi1sk": f"{workspace.created_at:012d}#{workspace.workspace_id}",
                **_workspace_fields(workspace)}
        self._transact([
            {"Put": {"TableName": self._table, "Item": to_item(item), "ConditionExpression": _NEW}},
            _counter_update(self._table, workspace.account_id, "workspace_count", 1, max_workspaces),
        ], [Conflict("workspace id taken", code="id_taken"),
            QuotaExceeded("the account's plan allows no more workspaces")],
            workspace.account_id)

    def get_workspace(self, workspace_id: str) -> Workspace | None:
        item = self._get(f"WORKSPACE#{workspace_id}", "WORKSPACE")
        return None if item is None else _workspace(item)

    def update_workspace(self, workspace: Workspace) -> None:
        fields = _workspace_fields(workspace)
        self._update(f"WORKSPACE#{workspace.workspace_id}", "WORKSPACE",
                     {"name": fields["name"], "settings_json": fields["settings_json"]})

    def delete_workspace(self, workspace: Workspace) -> list[str]:
        """Delete the workspace and its memberships; return the members it had."""
        members = [m.user_id for m in self._all(lambda s: self.list_members(workspace.workspace_id, 100, s))]
        for user_id in members:
            self.delete_membership(workspace.workspace_id, user_id)
        self._transact([
            {"Delete": {"TableName": self._table,
                        "Key": to_item({"pk": f"WORKSPACE#{workspace.workspace_id}", "sk": "WORKSPACE"}),
                        "ConditionExpression": "attribute_exists(pk)"}},
            _counter_update(self._table, workspace.account_id, "workspace_count", -1, None),
        ], [NotFound("no such workspace"), Conflict("concurrent change")], None)
        return members

    def list_workspaces(self, account_id: str, limit: int, start: dict[str, Any] | None) -> Page[Workspace]:
        rows, nxt = query_page(self._client, limit, start, TableName=self._table, IndexName="gsi1",
                               KeyConditionExpression="gsi1pk = :p",
                               ExpressionAttributeValues=to_item({":p": f"ACCOUNT#{account_id}#WORKSPACES"}))
        return Page([_workspace(r) for r in rows], nxt)

    # -- memberships ------------------------------------------------------------------------------------
    def put_membership(self, membership: Membership, grant: WriteGrant | None = None) -> None:
        item = {"pk": f"WORKSPACE#{membership.workspace_id}", "sk": f"MEMBER#{membership.user_id}",
                "gsi1pk": f"USER#{membership.user_id}#WORKSPACES", "gsi1sk": f"WORKSPACE#{membership.workspace_id}",
                "account_id": membership.account_id, **membership.to_dict()}
        checks = _still_granted(self._table, grant, membership.user_id)
        if not checks:
            self._client.put_item(TableName=self._table, Item=to_item(item))
            return
        self._transact([{"Put": {"TableName": self._table, "Item": to_item(item)}}, *checks],
                       [Conflict("concurrent change"), role_changed()], None)

    def get_membership(self, workspace_id: str, user_id: str) -> Membership | None:
        item = self._get(f"WORKSPACE#{workspace_id}", f"MEMBER#{user_id}")
        return None if item is None else _membership(item)

    def delete_membership(self, workspace_id: str, user_id: str, grant: WriteGrant | None = None) -> bool:
        key = to_item({"pk": f"WORKSPACE#{workspace_id}", "sk": f"MEMBER#{user_id}"})
        checks = _still_granted(self._table, grant, user_id)
        if not checks:
            response = self._client.delete_item(TableName=self._table, ReturnValues="ALL_OLD", Key=key)
            return "Attributes" in response
        try:
            self._transact([{"Delete": {"TableName": self._table, "Key": key, "ConditionExpression": _EXISTS}},
                            *checks], [NotFound("no such member"), role_changed()], None)
        except NotFound:
            return False
        return True

    def list_members(self, workspace_id: str, limit: int, start: dict[str, Any] | None) -> Page[Membership]:
        rows, nxt = query_page(self._client, limit, start, TableName=self._table,
                               KeyConditionExpression="pk = :p AND begins_with(sk, :m)",
                               ExpressionAttributeValues=to_item({":p": f"WORKSPACE#{workspace_id}",
                                                                  ":m": "MEMBER#"}))
        return Page([_membership(r) for r in rows], nxt)

    def list_user_workspaces(self, user_id: str, limit: int, start: dict[str, Any] | None) -> Page[Membership]:
        rows, nxt = query_page(self._client, limit, start, TableName=self._table, IndexName="gsi1",
                               KeyConditionExpression="gsi1pk = :p",
                               ExpressionAttributeValues=to_item({":p": f"USER#{user_id}#WORKSPACES"}))
        return Page([_membership(r) for r in rows], nxt)

    # -- helpers ----------------------------------------------------------------------------------------
    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self._client.get_item(TableName=self._table, Key=to_item({"pk": pk, "sk": sk}),
                                     ConsistentRead=True).get("Item")
        return None if item is None else from_item(item)

    def _update_request(self, pk: str, sk: str, fields: dict[str, Any]) -> dict[str, Any]:
        names = {f"#f{i}": name for i, name in enumerate(fields)}
        values = {f":v{i}": value for i, value in enumerate(fields.values())}
        return {"TableName": self._table, "Key": to_item({"pk": pk, "sk": sk}),
                "UpdateExpression": "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields))),
                "ConditionExpression": "attribute_exists(pk)", "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": to_item(values)}

    def _update(self, pk: str, sk: str, fields: dict[str, Any]) -> None:
        try:
            self._client.update_item(**self._update_request(pk, sk, fields))
        except self._client.exceptions.ConditionalCheckFailedException as exc:
            raise NotFound(f"no such {sk.lower()}") from exc

    def _transact(self, items: list[dict[str, Any]], failures: list[Exception], account_id: str | None) -> None:
        try:
            self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except self._client.exceptions.TransactionCanceledException as exc:
            reasons = exc.response.get("CancellationReasons", [])
            for index, reason in enumerate(reasons):
                if reason.get("Code") == "ConditionalCheckFailed":
                    if account_id and index == len(items) - 1 and self.get_account(account_id) is None:
                        raise NotFound("no such account") from exc
                    raise failures[index] from exc
            raise Conflict("the change conflicted with another one; try again") from exc

    @staticmethod
    def _all(fetch: Any) -> list[Any]:
        page = fetch(None)
        items: list[Any] = list(page.items)
        while page.next_key:
            page = fetch(page.next_key)
            items.extend(page.items)
        return items


def _still_granted(table: str, grant: WriteGrant | None, changed_user: str) -> list[dict[str, Any]]:
    """The grant's check, for a transaction with the change; none for no grant, and none for a member changing
    their own membership (one item cannot be both written and checked in a transaction; the last owner's own
    demotion is refused apart)."""
    if grant is None or (grant.via == "member" and grant.user_id == changed_user):
        return []
    return [grant_check(table, grant)]
