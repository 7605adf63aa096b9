"""Accounts and users: created, read, changed and deleted by platform and account administrators.

No answer depends on another tenant's data: user ids are chosen by the server (platform administrators, who
see every tenant, may choose one), and emails are unique within an account only, so an address used in
another account is no conflict (services/workspaces.py does the same for workspace ids)."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chalicelib.auth.tokens import TokenService
from chalicelib.domain.email_address import normalise_email
from chalicelib.domain.errors import BadRequest, Forbidden, NotFound
from chalicelib.domain.events import Event
from chalicelib.domain.paging import Page
from chalicelib.domain.principal import Role
from chalicelib.domain.tenancy import PLANS, Account, User, display_name, new_id, web_url
from chalicelib.observability import logger
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.events import EventRecorder

if TYPE_CHECKING:
    from chalicelib.ports import ConnectionNotifier, ConnectionStore, DocumentRecords
    from chalicelib.tenancy_ports import CachedTenancyPort, MonthlyUsage
    from chalicelib.upload_ports import StorageLedger


class DirectoryService:
    def __init__(self, tenancy: CachedTenancyPort, access: AccessService, events: EventRecorder,
                 tokens: TokenService, connections: ConnectionStore, notifier: ConnectionNotifier | None,
                 ledger: StorageLedger | None = None, documents: DocumentRecords | None = None,
                 usage: MonthlyUsage | None = None) -> None:
        self._usage = usage
        self._ledger = ledger
        self._documents = documents
        self._tenancy = tenancy
        self._store = tenancy.store
        self._access = access
        self._events = events
        self._tokens = tokens
        self._connections = connections
        self._notifier = notifier

    # -- accounts ---------------------------------------------------------------------------------------
    def create_account(self, actor: Actor, name: str, plan: str, account_id: str | None = None) -> Account:
        self._access.require_platform_admin(actor)
        _check_plan(plan)
        account = Account(account_id or new_id("acc"), display_name(name), plan, int(time.time()))
        self._store.create_account(account)
        self._events.record(Event("account.created", account.account_id, actor_id=actor.user_id,
                                  detail={"name": account.name, "plan": plan}))
        return account

    def get_account(self, actor: Actor, account_id: str) -> Account:
        self._access.require_account_admin(actor, account_id)
        account = self._store.get_account(account_id)
        if account is None:
            raise NotFound("no such account")
        return account

    def account_counts(self, actor: Actor, account_id: str) -> dict[str, int]:
        self.get_account(actor, account_id)
        return self._store.account_counts(account_id)

    def update_account(self, actor: Actor, account_id: str, changes: dict[str, Any]) -> Account:
        account = self.get_account(actor, account_id)
        if ("plan" in changes or "quota_overrides" in changes) and not actor.is_platform_admin:
            raise Forbidden("only platform administrators change plans and quotas")
        if "plan" in changes:
            _check_plan(changes["plan"])
        if "name" in changes:
            changes = {**changes, "name": display_name(changes["name"])}
        updated = replace(account, **{k: v for k, v in changes.items() if k in ("name", "plan", "quota_overrides")})
        if updated == account:
            return account  # nothing changes, and the event log says only what happened
        self._store.update_account(updated)
        self._tenancy.forget_account(account_id)
        self._events.record(Event("account.updated", account_id, actor_id=actor.user_id, detail={
            k: v for k, v in changes.items() if getattr(updated, k, None) != getattr(account, k, None)}))
        return updated

    def delete_account(self, actor: Actor, account_id: str) -> None:
        self._access.require_platform_admin(actor)
        # Its usage answers 404 once it is gone, so the month it ends in is kept in the log, for its bill (read
        # first: the account's own item must still be there to say it exists).
        period = time.strftime("%Y-%m", time.gmtime())
        final = self._usage.read(account_id, period) if self._usage is not None else None
        self._store.delete_account(account_id)
        self._tenancy.forget_account(account_id)
        self._events.record(Event("account.deleted", account_id, actor_id=actor.user_id,
                                  detail={"period": period, "usage": final} if final is not None else {}))

    def list_accounts(self, actor: Actor, limit: int, start: dict[str, Any] | None) -> Page[Account]:
        self._access.require_platform_admin(actor)
        return self._store.list_accounts(limit, start)

    # -- users ------------------------------------------------------------------------------------------
    def create_user(self, actor: Actor, account_id: str, email: str, name: str, role: str,
                    avatar_url: str = "", user_id: str | None = None) -> User:
        self._access.require_account_admin(actor, account_id)
        require_server_chosen_id(actor, "user_id", user_id)
        account = self.get_account(actor, account_id)
        user_role = self._allowed_role(actor, role)
        user = User(user_id or new_id("usr"), account_id, _email(email), display_name(name), user_role,
                    int(time.time()), _web_url("avatar_url", avatar_url))
        self._store.create_user(user, account.quotas.max_users)
        self._tenancy.forget_user(user.user_id)
        self._events.record(Event("user.created", account_id, user_id=user.user_id, actor_id=actor.user_id,
                                  detail={"role": user_role.value, "email": user.email, "name": user.name}))
        return user

    def get_user(self, actor: Actor, user_id: str) -> User:
        user = self._store.get_user(user_id)
        if user is None or not (actor.administers(user.account_id) or actor.user_id == user_id):
            if user is not None and user.account_id == actor.account_id:
                raise Forbidden("account administrators only")
            raise NotFound("no such user")
        return user

    def _manageable_user(self, actor: Actor, user_id: str) -> User:
        """A user the actor may change, delete or issue tokens for. Only platform admins act on platform
        admins: an account admin must never mint a token that outranks their own."""
        user = self.get_user(actor, user_id)
        self._access.require_account_admin(actor, user.account_id)
        if user.role is Role.PLATFORM_ADMIN and not actor.is_platform_admin:
            raise Forbidden("only platform administrators manage platform administrators")
        return user

    def update_user(self, actor: Actor, user_id: str, changes: dict[str, Any]) -> User:
        user = self._manageable_user(actor, user_id)
        fields: dict[str, Any] = {k: v for k, v in changes.items() if k in ("name", "avatar_url")}
        if "name" in changes:
            fields["name"] = display_name(changes["name"])
        if "avatar_url" in changes:
            fields["avatar_url"] = _web_url("avatar_url", changes["avatar_url"])
        if "email" in changes:
            fields["email"] = _email(changes["email"])
        if "role" in changes:
            fields["role"] = self._allowed_role(actor, changes["role"])
            if user_id == actor.user_id and fields["role"] is not user.role:
                raise BadRequest("administrators cannot change their own role (ask another administrator)",
                                 code="cannot_change_own_role")
        updated = replace(user, **fields)
        if updated == user:
            return user  # nothing changes, and the event log says only what happened
        self._store.update_user(user, updated, by_admin=actor.user_id)
        self._tenancy.forget_user(user_id)
        if updated.role is not user.role:
            self.close_connections(user_id, None)  # they reconnect under the new role's checks
        self._events.record(Event("user.updated", user.account_id, user_id=user_id, actor_id=actor.user_id,
                                  detail={k: str(v) for k, v in fields.items() if getattr(user, k) != v}))
        return updated

    def delete_user(self, actor: Actor, user_id: str) -> None:
        user = self._manageable_user(actor, user_id)
        if user_id == actor.user_id:
            raise BadRequest("administrators cannot delete themselves", code="cannot_delete_self")
        workspaces = self._store.delete_user(user, by_admin=actor.user_id)
        self._tenancy.forget_user(user_id)
        for workspace_id in workspaces:
            self._tenancy.forget_membership(workspace_id, user_id)
        self.close_connections(user_id, None)
        if self._ledger is not None:  # upload grants are bearer URLs: the user's are revoked
            from chalicelib.services.upload_grants import revoke_grants  # the upload services, on this path only

            revoke_grants(self._ledger, self._documents, user.account_id, user_id)
        # Who it was: once deleted, the user's record is gone, and the log is what an auditor has left.
        self._events.record(Event("user.deleted", user.account_id, user_id=user_id, actor_id=actor.user_id,
                                  detail={"email": user.email, "name": user.name, "role": user.role.value}))

    def list_users(self, actor: Actor, account_id: str, limit: int, start: dict[str, Any] | None) -> Page[User]:
        self._access.require_account_admin(actor, account_id)
        return self._store.list_users(account_id, limit, start)

    def issue_token(self, actor: Actor, user_id: str, ttl_seconds: int | None) -> str:
        user = self._manageable_user(actor, user_id)
        self._events.record(Event("user.token_issued", user.account_id, user_id=user_id, actor_id=actor.user_id))
        return self._tokens.issue(user.user_id, user.account_id, [user.role], ttl_seconds, epoch=user.token_epoch)

    def close_connections(self, user_id: str, workspace_id: str | None) -> int:
        """Close the user's open websockets (in one workspace, or all); each $disconnect cleans its row."""
        if self._notifier is None:
            logger.warning("cannot close websockets: KALEXO_WEBSOCKET_ENDPOINT is not set",
                           extra={"user_id": user_id, "workspace_id": workspace_id})
            return 0
        connections = self._connections.of_user(user_id, workspace_id)
        for connection_id in connections:
            self._notifier.close(connection_id)
        return len(connections)

    def _allowed_role(self, actor: Actor, role: str) -> Role:
        try:
            value = Role(role)
        except ValueError as exc:
            raise BadRequest(f"unknown role {role!r}", code="bad_role") from exc
        if value is Role.PLATFORM_ADMIN and not actor.is_platform_admin:
            raise Forbidden("only platform administrators create platform administrators")
        return value


def require_server_chosen_id(actor: Actor, field: str, chosen: str | None) -> None:
    """Refuse an id chosen by anyone but a platform administrator, whatever it is: an answer that depended on
    the id ("taken") would confirm that another tenant has it."""
    if chosen is not None and not actor.is_platform_admin:
        raise Forbidden(f"{field} is chosen by the server (platform administrators only may choose one); "
                        f"leave it out", code="id_chosen_by_server")


def _web_url(field: str, value: str) -> str:
    try:
        return web_url(value)
    except ValueError as exc:
        raise BadRequest(f"{field}: {exc}", code="bad_url") from exc


def _check_plan(plan: str) -> None:
    if plan not in PLANS:
        raise BadRequest(f"unknown plan {plan!r}; plans: {', '.join(PLANS)}", code="bad_plan")


def _email(email: str) -> str:
    try:
        return normalise_email(email)
    except ValueError as exc:
        raise BadRequest(f"{email!r} is not an email address", code="bad_email") from exc
