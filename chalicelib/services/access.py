"""Who is asking and what they may touch. Every REST route and websocket action goes through here.

The token proves identity only; the role comes from the stored user record (cached briefly), so a deleted
user or a demoted admin loses access on their next request, whatever their token still says. Another
tenant's resources answer 404, never 403: their existence is not disclosed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from chalicelib.auth.tokens import AuthError
from chalicelib.domain.errors import Forbidden, NotFound, Unauthorized
from chalicelib.domain.principal import Principal, Role
from chalicelib.domain.tenancy import Membership, User, Workspace, WorkspaceRole, WriteGrant

if TYPE_CHECKING:
    from chalicelib.ports import TenancyReader


@dataclass(frozen=True)
class Actor:
    """An authenticated caller, as their stored user record says now."""
    user: User

    @property
    def user_id(self) -> str:
        return self.user.user_id

    @property
    def account_id(self) -> str:
        return self.user.account_id

    @property
    def is_platform_admin(self) -> bool:
        return self.user.role is Role.PLATFORM_ADMIN

    def administers(self, account_id: str) -> bool:
        return self.is_platform_admin or (self.user.role is Role.ACCOUNT_ADMIN and self.account_id == account_id)


@dataclass(frozen=True)
class WorkspaceAccess:
    """A workspace and the caller's role in it."""
    workspace: Workspace
    role: WorkspaceRole  # account admins act as owners of their account's workspaces


class TokenVerifier(Protocol):
    def verify(self, token: str | None) -> Principal: ...


class AccessService:
    def __init__(self, tokens: TokenVerifier, tenancy: TenancyReader) -> None:
        self._tokens = tokens
        self._tenancy = tenancy

    def authenticate(self, token: str | None) -> Actor:
        try:
            principal = self._tokens.verify(token)
        except AuthError as exc:
            raise Unauthorized(exc.message, code=exc.code) from exc
        user = self._tenancy.user(principal.user_id)
        if user is None:
            raise Unauthorized("the token's user no longer exists", code="user_unknown")
        # A token outlives nothing it was issued for: not a deleted user whose id was reused, not a move.
        if (principal.account_id and principal.account_id != user.account_id) or principal.issued_at < user.created_at \
                or (principal.user_epoch and principal.user_epoch != user.token_epoch):
            raise Unauthorized("the token was issued for another user", code="token_mismatch")
        if principal.trusted_for is not None and user.account_id not in principal.trusted_for:
            raise Unauthorized("the token's issuer is not trusted for this account", code="issuer_not_trusted")
        return Actor(user)

    def require_platform_admin(self, actor: Actor) -> None:
        if not actor.is_platform_admin:
            raise Forbidden("platform administrators only")

    def require_account_admin(self, actor: Actor, account_id: str) -> None:
        if actor.administers(account_id):
            return
        if actor.account_id != account_id:
            raise NotFound("no such account")
        raise Forbidden("account administrators only")

    def require_user_in_scope(self, actor: Actor, user_id: str) -> None:
        """A user id a filter may name: any for platform admins, else a user of the actor's account now (another
        tenant's id, or one no longer there, is 404 alike: the answer confirms nothing about other accounts)."""
        if actor.is_platform_admin:
            return
        user = self._tenancy.user(user_id)
        if user is None or user.account_id != actor.account_id:
            raise NotFound("no such user")

    def workspace(self, actor: Actor, workspace_id: str, need: WorkspaceRole = WorkspaceRole.VIEWER) -> WorkspaceAccess:
        workspace = self._tenancy.workspace(workspace_id)
        if workspace is None or not (actor.is_platform_admin or workspace.account_id == actor.account_id):
            raise NotFound("no such workspace")
        if actor.administers(workspace.account_id):
            return WorkspaceAccess(workspace, WorkspaceRole.OWNER)
        membership = self._tenancy.membership(workspace_id, actor.user_id)
        if membership is None:
            raise NotFound("no such workspace")
        if not _allows(membership, need):
            role = membership.role.value
            raise Forbidden(f"{need.value}s only; you are {'an' if role[0] in 'aeiou' else 'a'} {role}",
                            code="role_too_low")
        return WorkspaceAccess(workspace, membership.role)

    @staticmethod
    def write_grant(actor: Actor, access: WorkspaceAccess, need: WorkspaceRole) -> WriteGrant:
        """What must still hold when the write is stored: where this access comes from, and the roles that
        allow it (checked in the same DynamoDB transaction as the op)."""
        workspace = access.workspace
        if actor.is_platform_admin:
            via = "platform_admin"
        elif actor.administers(workspace.account_id):
            via = "account_admin"
        else:
            via = "member"
        roles = tuple(role for role, rank in _RANK.items() if rank >= _RANK[need])
        return WriteGrant(actor.user_id, workspace.workspace_id, workspace.account_id, via, roles)


_RANK = {WorkspaceRole.VIEWER: 0, WorkspaceRole.EDITOR: 1, WorkspaceRole.OWNER: 2}


def _allows(membership: Membership, need: WorkspaceRole) -> bool:
    return _RANK[membership.role] >= _RANK[need]
