"""The admin routes: accounts, users, tokens, workspaces, members, usage, recovery, the event log, jobs.

Who may call what is the API's business (platform admins everything, account admins their own account,
workspace owners their members); a call outside that answers 403, or 404 for another tenant's resources.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kalexo_client.rest import Rest, segment


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class AdminApi(Rest):
    # Accounts (creating, listing, deleting and changing plans: platform admins)

    def create_account(self, name: str, plan: str | None = None, account_id: str | None = None) -> dict[str, Any]:
        return dict(self.post("/admin/accounts", _drop_none({"name": name, "plan": plan, "account_id": account_id})))

    def accounts(self, limit: int | None = None) -> list[dict[str, Any]]:
        return self.collect("/admin/accounts", limit=limit)

    def account(self, account_id: str) -> dict[str, Any]:
        return dict(self.get(f"/admin/accounts/{segment(account_id)}"))

    def update_account(self, account_id: str, *, name: str | None = None, plan: str | None = None,
                       quota_overrides: Mapping[str, int | None] | None = None) -> dict[str, Any]:
        body = _drop_none({"name": name, "plan": plan})
        if quota_overrides is not None:
            body["quota_overrides"] = dict(quota_overrides)
        return dict(self.request("PATCH", f"/admin/accounts/{segment(account_id)}", body=body))

    def delete_account(self, account_id: str) -> None:
        self.request("DELETE", f"/admin/accounts/{segment(account_id)}")

    def usage(self, account_id: str, period: str | None = None) -> dict[str, Any]:
        """This month's usage (or `period`, YYYY-MM) with the account's quotas."""
        return dict(self.get(f"/admin/accounts/{segment(account_id)}/usage", period=period))

    # Users and their tokens

    def create_user(self, account_id: str, email: str, name: str, role: str | None = None, *,
                    avatar_url: str | None = None, user_id: str | None = None) -> dict[str, Any]:
        body = _drop_none({"email": email, "name": name, "role": role, "avatar_url": avatar_url, "user_id": user_id})
        return dict(self.post(f"/admin/accounts/{segment(account_id)}/users", body))

    def users(self, account_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        return self.collect(f"/admin/accounts/{segment(account_id)}/users", limit=limit)

    def user(self, user_id: str) -> dict[str, Any]:
        return dict(self.get(f"/admin/users/{segment(user_id)}"))

    def update_user(self, user_id: str, **changes: Any) -> dict[str, Any]:
        """Change `email`, `name`, `role` or `avatar_url`."""
        return dict(self.request("PATCH", f"/admin/users/{segment(user_id)}", body=_drop_none(changes)))

    def delete_user(self, user_id: str) -> None:
        """Access ends at once and the user's open websockets close."""
        self.request("DELETE", f"/admin/users/{segment(user_id)}")

    def issue_token(self, user_id: str, ttl_seconds: int | None = None) -> dict[str, Any]:
        """`{"token", "expires_in"}`: a bearer token for that user."""
        return dict(self.post(f"/admin/users/{segment(user_id)}/tokens", _drop_none({"ttl_seconds": ttl_seconds})))

    # Workspaces and members

    def create_workspace(self, account_id: str, name: str, *, owner_id: str | None = None,
                         settings: Mapping[str, Any] | None = None, workspace_id: str | None = None) -> dict[str, Any]:
        body = _drop_none({"name": name, "owner_id": owner_id, "workspace_id": workspace_id,
                           "settings": dict(settings) if settings is not None else None})
        return dict(self.post(f"/admin/accounts/{segment(account_id)}/workspaces", body))

    def workspaces(self, account_id: str, limit: int | None = None) -> list[dict[str, Any]]:
        return self.collect(f"/admin/accounts/{segment(account_id)}/workspaces", limit=limit)

    def update_workspace(self, workspace_id: str, *, name: str | None = None,
                         settings: Mapping[str, Any] | None = None) -> dict[str, Any]:
        body = _drop_none({"name": name, "settings": dict(settings) if settings is not None else None})
        return dict(self.request("PATCH", f"/admin/workspaces/{segment(workspace_id)}", body=body))

    def delete_workspace(self, workspace_id: str) -> None:
        self.request("DELETE", f"/admin/workspaces/{segment(workspace_id)}")

    def set_member(self, workspace_id: str, user_id: str, role: str) -> dict[str, Any]:
        """Add a member, or change their role (owner, editor, viewer)."""
        path = f"/admin/workspaces/{segment(workspace_id)}/members/{segment(user_id)}"
        return dict(self.request("PUT", path, body={"role": role}))

    def remove_member(self, workspace_id: str, user_id: str) -> None:
        self.request("DELETE", f"/admin/workspaces/{segment(workspace_id)}/members/{segment(user_id)}")

    # Recovery (owners and account admins)

    def state(self, workspace_id: str, *, seq: int | None = None, at_ms: int | None = None) -> dict[str, Any]:
        """The shared state after op `seq` or at `at_ms` (the latest without either): `{workspace, seq, items}`."""
        return dict(self.get(f"/admin/workspaces/{segment(workspace_id)}/state", seq=seq, at_ms=at_ms))

    def restore(self, workspace_id: str, *, seq: int | None = None, at_ms: int | None = None) -> dict[str, Any]:
        """Append the ops that make today's notes and tasks those of `state(seq=...)`: `{restored_to, from_seq,
        ops}` (the sequences written; the restore can itself be undone)."""
        return dict(self.post(f"/admin/workspaces/{segment(workspace_id)}/restore",
                              _drop_none({"seq": seq, "at_ms": at_ms})))

    # The event log and processing jobs

    def events(self, *, limit: int | None = 25, **filters: Any) -> list[dict[str, Any]]:
        """Newest first. Filters: `since_ms`, `until_ms`, `type` (a type, or a prefix ending in '.'),
        `account_id`, `workspace_id`, `user_id`."""
        return self.collect("/admin/events", _drop_none(filters), limit=limit)

    def events_page(self, *, limit: int | None = 25, cursor: str | None = None, **filters: Any) -> dict[str, Any]:
        """One page of `events` as the API answers it: `items` and `next_cursor` (None on the last page); pass
        that as `cursor` for the next. `limit` 1 to 100."""
        return self.page("/admin/events", _drop_none(filters), limit=limit, cursor=cursor)

    def admin_jobs(self, state: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Jobs in one state (tiling, ready, failed, superseded) across the platform."""
        return self.collect("/admin/jobs", {"state": state}, limit=limit)
