"""The tenancy store against DynamoDB (the emulator): quotas, unique emails and safe deletes hold as
conditions inside transactions. DynamoDB serializes concurrent transactions; the emulator does not, so
concurrency itself is not something these tests can show."""

from __future__ import annotations

import uuid

import pytest

from chalicelib.adapters.dynamo_tenancy import DynamoTenancyStore
from chalicelib.domain.errors import Conflict, NotFound, QuotaExceeded
from chalicelib.domain.principal import Role
from chalicelib.domain.tenancy import Account, User, Workspace


@pytest.fixture
def store(clients, stack) -> DynamoTenancyStore:
    return DynamoTenancyStore(clients["dynamodb"], stack.outputs["MainTableName"])


def new_account(store: DynamoTenancyStore) -> str:
    account_id = f"acc-{uuid.uuid4().hex[:8]}"
    store.create_account(Account(account_id, "Test", "free", 0))
    return account_id


def user(account_id: str, n: int | str) -> User:
    return User(f"u-{account_id}-{n}", account_id, f"u{n}@{account_id}.test", f"User {n}", Role.MEMBER, 0)


def test_users_are_unique_by_email_and_bounded_by_quota(store):
    account = new_account(store)
    for n in range(3):
        store.create_user(user(account, n), max_users=3)
    with pytest.raises(QuotaExceeded):
        store.create_user(user(account, 3), max_users=3)
    clash = User("someone-else", account, "u0@" + account + ".test", "Clash", Role.MEMBER, 0)
    with pytest.raises(Conflict) as conflict:
        store.create_user(clash, max_users=None)
    assert conflict.value.code == "email_taken"
    assert store.account_counts(account) == {"users": 3, "workspaces": 0}
    with pytest.raises(NotFound):
        store.create_user(user("acc-missing", 1), max_users=None)


def test_email_change_moves_the_claim(store):
    account = new_account(store)
    first, second = user(account, "a"), user(account, "b")
    store.create_user(first, None)
    store.create_user(second, None)
    moved = User(first.user_id, account, "fresh@" + account + ".test", first.name, first.role, 0)
    store.update_user(first, moved)
    assert store.get_user(first.user_id).email == moved.email
    # The old address is free again, the new one is taken.
    store.create_user(User("third", account, first.email, "Third", Role.MEMBER, 0), None)
    with pytest.raises(Conflict):
        store.update_user(second, User(second.user_id, account, moved.email, "B", Role.MEMBER, 0))


def test_accounts_delete_only_when_empty_and_deleting_cascades(store):
    account = new_account(store)
    member = user(account, 1)
    store.create_user(member, None)
    workspace = Workspace(f"ws-{uuid.uuid4().hex[:8]}", account, "W", 0)
    store.create_workspace(workspace, max_workspaces=1)
    with pytest.raises(QuotaExceeded):
        store.create_workspace(Workspace("ws-two-" + account, account, "W2", 0), max_workspaces=1)
    from chalicelib.domain.tenancy import Membership, WorkspaceRole

    store.put_membership(Membership(workspace.workspace_id, member.user_id, account, WorkspaceRole.OWNER, 0))
    with pytest.raises(Conflict) as conflict:
        store.delete_account(account)
    assert conflict.value.code == "account_not_empty"
    assert store.delete_user(member) == [workspace.workspace_id]
    assert store.get_membership(workspace.workspace_id, member.user_id) is None
    assert store.delete_workspace(workspace) == []
    store.delete_account(account)
    assert store.get_account(account) is None
    with pytest.raises(NotFound):
        store.delete_account(account)


def test_free_form_settings_and_json_numbers_round_trip(store):
    """Found by schemathesis: settings keys that look like DynamoDB types, and JSON floats (3907.0)."""
    account = new_account(store)
    settings = {"L": [], "M": {"S": "x"}, "scale": 1.25, "grid": [1, 2.5, {"N": None}], "": True}
    workspace = Workspace(f"ws-{uuid.uuid4().hex[:8]}", account, "Odd", 0, settings)
    store.create_workspace(workspace, None)
    assert store.get_workspace(workspace.workspace_id).settings == settings
    changed = Workspace(workspace.workspace_id, account, "Odd", 0, {"L": [{"M": 1.5}]})
    store.update_workspace(changed)
    assert store.get_workspace(workspace.workspace_id).settings == {"L": [{"M": 1.5}]}
    fetched = store.get_account(account)
    store.update_account(Account(account, fetched.name, "free", 0, {"max_storage_bytes": 3907.0}))  # type: ignore[dict-item]
    assert store.get_account(account).quota_overrides == {"max_storage_bytes": 3907}


def test_rate_limit_counts_per_caller_and_minute(clients, stack):
    from chalicelib.adapters.dynamo_rate_limit import DynamoRateLimiter

    limiter = DynamoRateLimiter(clients["dynamodb"], stack.outputs["MainTableName"], per_minute=3)
    caller, other = f"u-{uuid.uuid4().hex[:6]}", f"u-{uuid.uuid4().hex[:6]}"
    at = 1_800_000_010.0  # 10 s into a minute
    assert [limiter.allow(caller, at) for _ in range(3)] == [None, None, None]
    assert limiter.allow(caller, at) == 50  # seconds to the next window
    assert limiter.allow(other, at) is None  # callers do not share a budget
    assert limiter.allow(caller, at + 60) is None  # the next minute starts afresh


def test_a_change_by_an_administrator_demoted_meanwhile_is_refused_whole(store):
    """The race two admins demoting each other make: each passed the service's check before either wrote."""
    from chalicelib.domain.errors import Forbidden
    from chalicelib.domain.tenancy import Membership, WorkspaceRole

    account = new_account(store)
    ines = User(f"ines-{account}", account, f"ines@{account}.test", "Ines", Role.ACCOUNT_ADMIN, 0)
    marc = User(f"marc-{account}", account, f"marc@{account}.test", "Marc", Role.ACCOUNT_ADMIN, 0)
    for admin in (ines, marc):
        store.create_user(admin, None)
    workspace = Workspace(f"ws-{uuid.uuid4().hex[:8]}", account, "W", 0)
    store.create_workspace(workspace, None)
    store.put_membership(Membership(workspace.workspace_id, ines.user_id, account, WorkspaceRole.OWNER, 0))
    demoted = User(marc.user_id, account, marc.email, "Marc", Role.MEMBER, 0)
    store.update_user(marc, demoted, by_admin=ines.user_id)
    for refused in (lambda: store.update_user(ines, User(ines.user_id, account, ines.email, "Ines", Role.MEMBER, 0),
                                              by_admin=marc.user_id),
                    lambda: store.update_user(ines, User(ines.user_id, account, "new@x.test", "I", Role.MEMBER, 0),
                                              by_admin=marc.user_id),
                    lambda: store.delete_user(ines, by_admin=marc.user_id)):
        with pytest.raises(Forbidden) as caught:
            refused()
        assert caught.value.code == "role_changed"
    kept = store.get_user(ines.user_id)
    assert (kept.role, kept.email) == (Role.ACCOUNT_ADMIN, ines.email)  # nothing of the refused changes landed
    assert store.get_membership(workspace.workspace_id, ines.user_id) is not None
    store.update_user(kept, User(ines.user_id, account, ines.email, "Ines B", Role.ACCOUNT_ADMIN, 0),
                      by_admin=ines.user_id)  # an administrator still: allowed
    assert store.get_user(ines.user_id).name == "Ines B"


def test_a_membership_change_by_an_owner_demoted_meanwhile_is_refused(store):
    """Two owners demoting (or removing) each other at once: the second write's grant no longer holds."""
    from chalicelib.domain.errors import Forbidden
    from chalicelib.domain.tenancy import Membership, WorkspaceRole, WriteGrant

    account = new_account(store)
    workspace = Workspace(f"ws-{uuid.uuid4().hex[:8]}", account, "W", 0)
    store.create_workspace(workspace, None)
    ws = workspace.workspace_id
    for name in ("ana", "ben"):
        store.put_membership(Membership(ws, f"{name}-{account}", account, WorkspaceRole.OWNER, 0))

    def grant(name: str) -> WriteGrant:
        return WriteGrant(f"{name}-{account}", ws, account, "member", (WorkspaceRole.OWNER,))

    store.put_membership(Membership(ws, f"ben-{account}", account, WorkspaceRole.EDITOR, 0), grant("ana"))
    for refused in (lambda: store.put_membership(Membership(ws, f"ana-{account}", account, WorkspaceRole.EDITOR, 0),
                                                 grant("ben")),
                    lambda: store.delete_membership(ws, f"ana-{account}", grant("ben"))):
        with pytest.raises(Forbidden) as caught:
            refused()
        assert caught.value.code == "role_changed"
    assert store.get_membership(ws, f"ana-{account}").role is WorkspaceRole.OWNER  # nothing landed
    assert store.delete_membership(ws, f"ben-{account}", grant("ana")) is True
    assert store.delete_membership(ws, f"ben-{account}", grant("ana")) is False  # gone already: no such member
