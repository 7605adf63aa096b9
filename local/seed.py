"""The tenants every fresh local stack starts with, created through the app's own services.

Only the operator's account and its platform admin are written directly (someone has to exist first);
everything else goes through DirectoryService and WorkspaceService as that admin, as a real admin would.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from chalicelib.container import Container
from chalicelib.domain.principal import Role
from chalicelib.domain.tenancy import Account, User
from chalicelib.services.access import Actor

OPERATOR_ACCOUNT = "acc-kalexo"
ACCOUNT_ID = "acc-demo"
WORKSPACE_ID = "ws-demo"
OTHER_ACCOUNT = "acc-other"
OTHER_WORKSPACE = "ws-other"


@dataclass(frozen=True)
class DemoUser:
    user_id: str
    name: str
    account_id: str
    role: Role
    workspace_role: str | None


USERS = (
    DemoUser("alice", "Alice Architect", ACCOUNT_ID, Role.ACCOUNT_ADMIN, "owner"),
    DemoUser("bob", "Bob Builder", ACCOUNT_ID, Role.MEMBER, "editor"),
    DemoUser("vera", "Vera Viewer", ACCOUNT_ID, Role.MEMBER, "viewer"),
    DemoUser("olga", "Olga Outsider", OTHER_ACCOUNT, Role.ACCOUNT_ADMIN, None),
    DemoUser("admin", "Ada Admin", OPERATOR_ACCOUNT, Role.PLATFORM_ADMIN, None),
)


def seed(container: Container) -> None:
    store = container.tenancy.store
    now = int(time.time())
    store.create_account(Account(OPERATOR_ACCOUNT, "Kalexo operations", "enterprise", now))
    admin = User("admin", OPERATOR_ACCOUNT, "admin@kalexo.test", "Ada Admin", Role.PLATFORM_ADMIN, now)
    store.create_user(admin, None)
    actor = Actor(admin)
    directory, workspaces = container.directory, container.workspaces
    directory.create_account(actor, "Demo Architects", "team", account_id=ACCOUNT_ID)
    directory.create_account(actor, "Other Engineers", "free", account_id=OTHER_ACCOUNT)
    for user in USERS:
        if user.user_id != "admin":
            directory.create_user(actor, user.account_id, f"{user.user_id}@{user.account_id}.test", user.name,
                                  user.role.value, user_id=user.user_id)
    workspaces.create(actor, ACCOUNT_ID, "Riverside Library", {"units": "mm"}, workspace_id=WORKSPACE_ID)
    workspaces.create(actor, OTHER_ACCOUNT, "Harbour Bridge", {}, workspace_id=OTHER_WORKSPACE)
    for user in USERS:
        if user.workspace_role:
            workspaces.set_member(actor, WORKSPACE_ID, user.user_id, user.workspace_role)


def token_for(container: Container, user_id: str, workspace_id: str = "", ttl_seconds: int = 12 * 3600) -> str:
    """A token for an existing user; LookupError names what is wrong."""
    user = container.tenancy.store.get_user(user_id)
    if user is None:
        raise LookupError(f"no user {user_id!r} in the local stack (seeded: {', '.join(u.user_id for u in USERS)})")
    if workspace_id and container.tenancy.store.get_membership(workspace_id, user_id) is None:
        raise LookupError(f"{user_id!r} is not a member of workspace {workspace_id!r}")
    return container.tokens.issue(user.user_id, user.account_id, [user.role], ttl_seconds, epoch=user.token_epoch)
