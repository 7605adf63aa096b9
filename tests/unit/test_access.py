"""Who may touch what: the access rules every route and websocket action goes through."""

import pytest

from chalicelib.auth.tokens import TokenService
from chalicelib.domain.errors import Forbidden, NotFound, Unauthorized
from chalicelib.domain.principal import Role
from chalicelib.domain.tenancy import Account, Membership, User, Workspace, WorkspaceRole
from chalicelib.services.access import AccessService, Actor
from tests.fakes import InMemoryTenancy

TOKENS = TokenService(secret="a" * 48, ttl_seconds=60)


def tenancy_with_demo() -> InMemoryTenancy:
    t = InMemoryTenancy()
    for account in ("acc-a", "acc-b"):
        t.accounts[account] = Account(account, account, "team", 0)
    for user_id, account, role in (("root", "acc-ops", Role.PLATFORM_ADMIN), ("ann", "acc-a", Role.ACCOUNT_ADMIN),
                                   ("bob", "acc-a", Role.MEMBER), ("vic", "acc-a", Role.MEMBER),
                                   ("carl", "acc-a", Role.MEMBER), ("olga", "acc-b", Role.ACCOUNT_ADMIN)):
        t.users[user_id] = User(user_id, account, f"{user_id}@x.test", user_id, role, 0)
    t.workspaces["ws-a"] = Workspace("ws-a", "acc-a", "A", 0)
    t.workspaces["ws-b"] = Workspace("ws-b", "acc-b", "B", 0)
    for user_id, member_role in (("bob", WorkspaceRole.EDITOR), ("vic", WorkspaceRole.VIEWER)):
        t.memberships[("ws-a", user_id)] = Membership("ws-a", user_id, "acc-a", member_role, 0)
    return t


@pytest.fixture
def tenancy() -> InMemoryTenancy:
    return tenancy_with_demo()


@pytest.fixture
def access(tenancy) -> AccessService:
    return AccessService(TOKENS, tenancy)


ACCOUNTS = {"root": "acc-ops", "ann": "acc-a", "bob": "acc-a", "vic": "acc-a", "carl": "acc-a", "olga": "acc-b"}


def token(user_id: str) -> str:
    return TOKENS.issue(user_id, ACCOUNTS.get(user_id, "acc-a"), [Role.MEMBER])


def actor(access: AccessService, user_id: str) -> Actor:
    return access.authenticate(token(user_id))


def test_the_stored_role_counts_not_the_token_claims(access, tenancy):
    forged = TOKENS.issue("bob", "acc-a", [Role.PLATFORM_ADMIN])  # a token claiming more than bob is
    assert not access.authenticate(forged).is_platform_admin
    del tenancy.users["bob"]
    with pytest.raises(Unauthorized) as refused:
        access.authenticate(forged)
    assert refused.value.code == "user_unknown"


@pytest.mark.parametrize(("user", "account", "outcome"), [
    ("root", "acc-a", None), ("ann", "acc-a", None), ("bob", "acc-a", Forbidden), ("olga", "acc-a", NotFound),
])
def test_account_administration(access, user, account, outcome):
    if outcome is None:
        access.require_account_admin(actor(access, user), account)
    else:
        with pytest.raises(outcome):
            access.require_account_admin(actor(access, user), account)


@pytest.mark.parametrize(("user", "workspace", "need", "outcome"), [
    ("bob", "ws-a", WorkspaceRole.EDITOR, WorkspaceRole.EDITOR),
    ("vic", "ws-a", WorkspaceRole.VIEWER, WorkspaceRole.VIEWER),
    ("vic", "ws-a", WorkspaceRole.EDITOR, Forbidden),      # a viewer attempting an editor's action
    ("bob", "ws-a", WorkspaceRole.OWNER, Forbidden),
    ("carl", "ws-a", WorkspaceRole.VIEWER, NotFound),      # same account, not a member
    ("olga", "ws-a", WorkspaceRole.VIEWER, NotFound),      # another tenant: existence not disclosed
    ("bob", "ws-b", WorkspaceRole.VIEWER, NotFound),
    ("bob", "ws-missing", WorkspaceRole.VIEWER, NotFound),
    ("ann", "ws-a", WorkspaceRole.OWNER, WorkspaceRole.OWNER),  # account admins act as owners
    ("root", "ws-b", WorkspaceRole.OWNER, WorkspaceRole.OWNER),
])
def test_workspace_access(access, user, workspace, need, outcome):
    if isinstance(outcome, WorkspaceRole):
        assert access.workspace(actor(access, user), workspace, need).role is outcome
    else:
        with pytest.raises(outcome):
            access.workspace(actor(access, user), workspace, need)


def test_a_token_does_not_outlive_its_user(access, tenancy):
    import dataclasses
    import time

    token = TOKENS.issue("bob", "acc-a", [Role.MEMBER])
    assert access.authenticate(token).user_id == "bob"
    # The user is deleted and the id taken again (in another account, or later in the same one).
    tenancy.users["bob"] = dataclasses.replace(tenancy.users["bob"], account_id="acc-b")
    with pytest.raises(Unauthorized) as moved:
        access.authenticate(token)
    assert moved.value.code == "token_mismatch"
    tenancy.users["bob"] = dataclasses.replace(tenancy.users["bob"], account_id="acc-a",
                                               created_at=int(time.time()) + 5)
    with pytest.raises(Unauthorized):
        access.authenticate(token)


def test_a_token_does_not_pass_for_a_new_user_given_the_same_id_in_the_same_second(access, tenancy):
    import dataclasses

    bob = tenancy.users["bob"]
    token = TOKENS.issue("bob", "acc-a", [Role.MEMBER], epoch=bob.token_epoch)
    assert access.authenticate(token).user_id == "bob"
    # Deleted and created again with the same id, account and creation second: only the epoch differs.
    tenancy.users["bob"] = dataclasses.replace(bob, token_epoch="fresh-epoch")
    with pytest.raises(Unauthorized) as reused:
        access.authenticate(token)
    assert reused.value.code == "token_mismatch"
    fresh = TOKENS.issue("bob", "acc-a", [Role.MEMBER], epoch="fresh-epoch")
    assert access.authenticate(fresh).user_id == "bob"
    # A token that names no epoch (issued before epochs, or by an identity provider) is judged as before.
    assert access.authenticate(TOKENS.issue("bob", "acc-a", [Role.MEMBER])).user_id == "bob"


def test_access_service_consults_the_tenancy_on_every_check(access, tenancy):
    bob = actor(access, "bob")
    access.workspace(bob, "ws-a")
    del tenancy.memberships[("ws-a", "bob")]
    with pytest.raises(NotFound):
        access.workspace(bob, "ws-a")
