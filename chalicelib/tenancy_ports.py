"""The ports the tenancy services (directory, workspaces) depend on: the stored accounts, users, workspaces and
memberships, and the cache in front of them that must forget what a change made stale.

Adapters: `adapters/dynamo_tenancy.DynamoTenancyStore` (the store) and `adapters/cached_tenancy.CachedTenancy`
(the cache, holding the store). Every change below keeps a rule in one DynamoDB transaction (quotas, unique
emails, counters), so the services never read-then-write what must hold under concurrency."""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.domain.paging import Page
from chalicelib.domain.tenancy import Account, Membership, User, Workspace, WriteGrant
from chalicelib.ports import TenancyReader


class TenancyStore(Protocol):
    # accounts
    def create_account(self, account: Account) -> None:
        """Conflict `id_taken` if the id is, or ever was, an account's."""

    def get_account(self, account_id: str) -> Account | None: ...

    def account_counts(self, account_id: str) -> dict[str, int]: ...

    def update_account(self, account: Account) -> None: ...

    def delete_account(self, account_id: str) -> None:
        """Conflict `account_not_empty` while it has users or workspaces."""

    def list_accounts(self, limit: int, start: dict[str, Any] | None) -> Page[Account]: ...

    # users
    def create_user(self, user: User, max_users: int | None) -> None:
        """With its email claim and the account's user count, within `max_users`."""

    def get_user(self, user_id: str) -> User | None: ...

    def update_user(self, before: User, after: User, by_admin: str | None = None) -> None:
        """`by_admin`, if given, must still be an administrator when the change lands (else Forbidden
        `role_changed`, nothing changed)."""

    def delete_user(self, user: User, by_admin: str | None = None) -> list[str]:
        """The user, their email claim and memberships; the workspaces they belonged to. `by_admin` as for
        `update_user`."""

    def list_users(self, account_id: str, limit: int, start: dict[str, Any] | None) -> Page[User]: ...

    # workspaces and memberships
    def create_workspace(self, workspace: Workspace, max_workspaces: int | None) -> None: ...

    def update_workspace(self, workspace: Workspace) -> None: ...

    def delete_workspace(self, workspace: Workspace) -> list[str]:
        """The workspace and its memberships; the members it had."""

    def list_workspaces(self, account_id: str, limit: int, start: dict[str, Any] | None) -> Page[Workspace]: ...

    def get_membership(self, workspace_id: str, user_id: str) -> Membership | None: ...

    def put_membership(self, membership: Membership, grant: WriteGrant | None = None) -> None:
        """`grant`, if given, must still hold when the change lands: its holder still an owner (or an
        administrator), else Forbidden `role_changed` and nothing changed."""

    def delete_membership(self, workspace_id: str, user_id: str, grant: WriteGrant | None = None) -> bool:
        """False when there was no such membership; `grant` as for `put_membership`."""

    def list_members(self, workspace_id: str, limit: int, start: dict[str, Any] | None) -> Page[Membership]: ...

    def list_user_workspaces(self, user_id: str, limit: int, start: dict[str, Any] | None) -> Page[Membership]: ...


class CachedTenancyPort(TenancyReader, Protocol):
    """Reads through the cache; after a change through `store`, the caller makes the cache forget it."""

    @property
    def store(self) -> TenancyStore: ...

    def forget_account(self, account_id: str) -> None: ...

    def forget_user(self, user_id: str) -> None: ...

    def forget_workspace(self, workspace_id: str) -> None: ...

    def forget_membership(self, workspace_id: str, user_id: str) -> None: ...


class MonthlyUsage(Protocol):
    """What an account used in a month (`YYYY-MM`), by counter."""

    def read(self, account_id: str, period: str) -> dict[str, int]: ...
