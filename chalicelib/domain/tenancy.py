"""Accounts (organisations), users, workspaces (projects) and memberships, and the plans that bound them."""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from chalicelib.domain.errors import BadRequest
from chalicelib.domain.principal import Role
from chalicelib.domain.visible import has_visible, hides_anything, trim


class WorkspaceRole(StrEnum):
    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"

    @property
    def can_write(self) -> bool:
        return self in (WorkspaceRole.OWNER, WorkspaceRole.EDITOR)

    @property
    def can_manage_members(self) -> bool:
        return self is WorkspaceRole.OWNER


@dataclass(frozen=True)
class Quotas:
    """Plan limits; None means unlimited."""

    max_users: int | None
    max_workspaces: int | None
    max_storage_bytes: int | None
    max_pages_per_month: int | None

    def to_dict(self) -> dict[str, int | None]:
        return {"max_users": self.max_users, "max_workspaces": self.max_workspaces,
                "max_storage_bytes": self.max_storage_bytes, "max_pages_per_month": self.max_pages_per_month}


GIB = 1024**3
PLANS: dict[str, Quotas] = {
    "free": Quotas(max_users=5, max_workspaces=3, max_storage_bytes=2 * GIB, max_pages_per_month=500),
    "team": Quotas(max_users=50, max_workspaces=50, max_storage_bytes=100 * GIB, max_pages_per_month=20_000),
    "enterprise": Quotas(max_users=None, max_workspaces=None, max_storage_bytes=None, max_pages_per_month=None),
}


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def display_name(name: str) -> str:
    """An account's, user's or workspace's name as stored: NFC, so a name typed with a decomposed é (macOS
    file names, some keyboards) equals one typed composed, and without what shows nothing at either end, on
    creation and rename alike. 400 `bad_body` if nothing in it shows by itself (chalicelib/domain/visible.py):
    the API's schema has refused control characters and direction overrides already."""
    value = trim(unicodedata.normalize("NFC", name))
    if not has_visible(value):
        raise BadRequest(NAME_RULE, code="bad_body")
    if len(value) > MAX_NAME:  # NFC lengthens a few characters (U+1D160 is three): the stored name is judged
        raise BadRequest(f"name must be at most {MAX_NAME} characters once normalised", code="bad_body")
    return value


MAX_NAME = 200  # the API schema's maxLength for names
NAME_RULE = "name must be a name with at least one visible character and no control characters or direction overrides"


def web_url(value: str) -> str:
    """A link people's browsers may follow or load: http or https with a host, or "" for none. Anything else
    (`javascript:`, `data:`, relative or protocol-relative URLs, whitespace or control characters inside)
    raises ValueError."""
    if value == "":
        return value
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value) or hides_anything(value):
        raise ValueError("a URL has no spaces, control, invisible or direction characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError as exc:
        raise ValueError("not a URL") from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValueError("only http and https URLs with a host")
    return value


@dataclass(frozen=True)
class Account:
    """A customer account: its plan and quota overrides."""
    account_id: str
    name: str
    plan: str
    created_at: int
    quota_overrides: dict[str, int | None] = field(default_factory=dict)

    @property
    def quotas(self) -> Quotas:
        return replace(PLANS[self.plan], **self.quota_overrides)

    def to_dict(self) -> dict[str, Any]:
        # The overrides too, not only the quotas they make: a change replaces them whole, so a client must be
        # able to read them back to change one and keep the others.
        return {"account_id": self.account_id, "name": self.name, "plan": self.plan,
                "quotas": self.quotas.to_dict(), "quota_overrides": dict(self.quota_overrides),
                "created_at": self.created_at}


@dataclass(frozen=True)
class User:
    """A user of one account, with their platform role."""
    user_id: str
    account_id: str
    email: str
    name: str
    role: Role  # platform admins are users of the operator's own account
    created_at: int
    avatar_url: str = ""
    # Which user of this id a token was issued to: new for every user created, so a deleted user's tokens do
    # not pass for a new user given the same id, even within the same second (created_at is in seconds).
    # Stored, never shown; "" for users stored before it existed.
    token_epoch: str = field(default_factory=lambda: secrets.token_hex(8), compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "account_id": self.account_id, "email": self.email, "name": self.name,
                "role": self.role.value, "avatar_url": self.avatar_url, "created_at": self.created_at}


@dataclass(frozen=True)
class Workspace:
    """A workspace of one account, with its free-form settings."""
    workspace_id: str
    account_id: str
    name: str
    created_at: int
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"workspace_id": self.workspace_id, "account_id": self.account_id, "name": self.name,
                "settings": self.settings, "created_at": self.created_at}


@dataclass(frozen=True)
class Membership:
    """A user's role in one workspace."""
    workspace_id: str
    user_id: str
    account_id: str
    role: WorkspaceRole
    added_at: int

    def to_dict(self) -> dict[str, Any]:
        return {"workspace_id": self.workspace_id, "user_id": self.user_id, "role": self.role.value,
                "added_at": self.added_at}


@dataclass(frozen=True)
class WriteGrant:
    """What must still be true when an op is stored: the author's access, checked in the same write as the op,
    so a member removed or demoted a moment ago is refused on every connection, whatever a cache says."""

    user_id: str
    workspace_id: str
    account_id: str  # the workspace's
    via: str  # "member", "account_admin" or "platform_admin": where the access comes from
    roles: tuple[WorkspaceRole, ...] = ()  # for members: the roles that may write this op
