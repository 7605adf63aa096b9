"""The hot lookups on every request (user, account, membership), read through a cache and invalidated by
the writes that change them. Writes go straight to the store."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.adapters.dynamo_tenancy import DynamoTenancyStore
from chalicelib.adapters.dynamo_tenancy_items import _account, _membership, _user, _workspace
from chalicelib.domain.tenancy import Account, Membership, User, Workspace

if TYPE_CHECKING:
    from chalicelib.ports import Cache

T = TypeVar("T")
_MISSING = b"-"  # cached "does not exist", so probes for absent ids do not reach the table every time


class CachedTenancy:
    def __init__(self, store: DynamoTenancyStore, cache: Cache, ttl_seconds: int) -> None:
        self.store = store
        self._cache = cache
        self._ttl = ttl_seconds

    def _read(self, key: str, load: Callable[[], T | None], encode: Callable[[T], dict[str, Any]],
              decode: Callable[[dict[str, Any]], T]) -> T | None:
        cached = self._cache.get(key)
        if cached == _MISSING:
            return None
        if cached is not None:
            return decode(json.loads(cached))
        value = load()
        self._cache.set(key, _MISSING if value is None else json.dumps(encode(value)).encode(), self._ttl)
        return value

    def user(self, user_id: str) -> User | None:
        def encode(u: User) -> dict[str, Any]:
            return {**u.to_dict(), "token_epoch": u.token_epoch}

        return self._read(f"user:{user_id}", lambda: self.store.get_user(user_id), encode, _user)

    def account(self, account_id: str) -> Account | None:
        def encode(a: Account) -> dict[str, Any]:
            return {**a.to_dict(), "quota_overrides": a.quota_overrides}

        return self._read(f"account:{account_id}", lambda: self.store.get_account(account_id), encode, _account)

    def membership(self, workspace_id: str, user_id: str) -> Membership | None:
        def encode(m: Membership) -> dict[str, Any]:
            return {**m.to_dict(), "account_id": m.account_id}

        return self._read(f"member:{workspace_id}:{user_id}",
                          lambda: self.store.get_membership(workspace_id, user_id), encode, _membership)

    def workspace(self, workspace_id: str) -> Workspace | None:
        return self._read(f"workspace:{workspace_id}", lambda: self.store.get_workspace(workspace_id),
                          Workspace.to_dict, _workspace)

    def forget_workspace(self, workspace_id: str) -> None:
        self._cache.delete(f"workspace:{workspace_id}")

    def forget_user(self, user_id: str) -> None:
        self._cache.delete(f"user:{user_id}")

    def forget_account(self, account_id: str) -> None:
        self._cache.delete(f"account:{account_id}")

    def forget_membership(self, workspace_id: str, user_id: str) -> None:
        self._cache.delete(f"member:{workspace_id}:{user_id}")


class UncachedTenancy:
    """The same lookups straight from the table, with consistent reads: for decisions that must not rest on
    a cached grant (admitting a websocket connection)."""

    def __init__(self, store: DynamoTenancyStore) -> None:
        self.store = store

    def user(self, user_id: str) -> User | None:
        return self.store.get_user(user_id)

    def account(self, account_id: str) -> Account | None:
        return self.store.get_account(account_id)

    def workspace(self, workspace_id: str) -> Workspace | None:
        return self.store.get_workspace(workspace_id)

    def membership(self, workspace_id: str, user_id: str) -> Membership | None:
        return self.store.get_membership(workspace_id, user_id)
