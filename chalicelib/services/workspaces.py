"""Workspaces and their members: created by account administrators, membership managed by workspace owners
(and account administrators), read by members. Removing a member closes their open websockets there."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from chalicelib.domain.documents import TileOptions, sources_prefix
from chalicelib.domain.errors import BadRequest, Conflict, NotFound
from chalicelib.domain.events import Event
from chalicelib.domain.paging import Page
from chalicelib.domain.tenancy import Membership, Workspace, WorkspaceRole, WriteGrant, display_name, new_id
from chalicelib.services.access import AccessService, Actor
from chalicelib.services.directory import DirectoryService, require_server_chosen_id
from chalicelib.services.events import EventRecorder
from chalicelib.services.upload_grants import revoke_grants

if TYPE_CHECKING:
    from chalicelib.ports import ConnectionStore, DocumentRecords
    from chalicelib.tenancy_ports import CachedTenancyPort
    from chalicelib.upload_ports import StorageLedger


def _check_tiling(settings: dict[str, Any]) -> None:
    """Settings are the clients' own JSON but for `tiling`, which every upload to the workspace is tiled with:
    refused now, not found wrong at the next upload (which would fall back to the defaults)."""
    if "tiling" in settings:
        if not isinstance(settings["tiling"], dict):  # null too: from_dict reads None as "the defaults"
            raise BadRequest("settings.tiling: tile settings must be an object", code="bad_settings")
        try:
            TileOptions.from_dict(settings["tiling"])
        except (ValueError, TypeError) as exc:
            raise BadRequest(f"settings.tiling: {exc}", code="bad_settings") from exc


class WorkspaceService:
    def __init__(self, tenancy: CachedTenancyPort, access: AccessService, events: EventRecorder,
                 directory: DirectoryService, connections: ConnectionStore, documents: DocumentRecords,
                 ledger: StorageLedger) -> None:
        self._documents = documents
        self._ledger = ledger
        self._tenancy = tenancy
        self._store = tenancy.store
        self._access = access
        self._events = events
        self._directory = directory
        self._connections = connections

    def create(self, actor: Actor, account_id: str, name: str, settings: dict[str, Any],
               owner_id: str | None = None, workspace_id: str | None = None) -> Workspace:
        self._access.require_account_admin(actor, account_id)
        require_server_chosen_id(actor, "workspace_id", workspace_id)  # never "taken": another tenant's
        _check_tiling(settings)
        account = self._directory.get_account(actor, account_id)
        owner = self._same_account_user(owner_id, account_id) if owner_id else None
        workspace = Workspace(workspace_id or new_id("ws"), account_id, display_name(name), int(time.time()), settings)
        self._store.create_workspace(workspace, account.quotas.max_workspaces)
        self._tenancy.forget_workspace(workspace.workspace_id)
        self._events.record(Event("workspace.created", account_id, workspace.workspace_id, actor_id=actor.user_id,
                                  detail={"name": workspace.name}))
        if owner:
            self._put_member(actor, workspace, owner, WorkspaceRole.OWNER)
        return workspace

    def get(self, actor: Actor, workspace_id: str) -> tuple[Workspace, WorkspaceRole]:
        access = self._access.workspace(actor, workspace_id)
        return access.workspace, access.role

    def update(self, actor: Actor, workspace_id: str, changes: dict[str, Any]) -> Workspace:
        workspace = self._access.workspace(actor, workspace_id, need=WorkspaceRole.OWNER).workspace
        if "name" in changes:
            changes = {**changes, "name": display_name(changes["name"])}
        if "settings" in changes:
            _check_tiling(changes["settings"])
        updated = replace(workspace, **{k: v for k, v in changes.items() if k in ("name", "settings")})
        if updated == workspace:
            return workspace  # nothing changes, and the event log says only what happened
        self._store.update_workspace(updated)
        self._tenancy.forget_workspace(workspace_id)
        # The name as it is now; settings only as "changed": they are the clients' free-form JSON, up to 64 KiB.
        detail = {**({"name": updated.name} if updated.name != workspace.name else {}),
                  **({"settings_changed": True} if updated.settings != workspace.settings else {})}
        self._events.record(Event("workspace.updated", workspace.account_id, workspace_id, actor_id=actor.user_id,
                                  detail=detail))
        return updated

    def delete(self, actor: Actor, workspace_id: str) -> None:
        workspace = self._access.workspace(actor, workspace_id).workspace
        self._access.require_account_admin(actor, workspace.account_id)
        if self._holds_documents(workspace_id):
            # Their bytes count against the account's storage until each is removed, which needs the workspace.
            raise Conflict("the workspace still holds documents: remove them first "
                           "(DELETE /workspaces/{id}/documents/{document})", code="workspace_not_empty")
        members = self._store.delete_workspace(workspace)
        self._tenancy.forget_workspace(workspace_id)
        for user_id in members:
            self._tenancy.forget_membership(workspace_id, user_id)
        for user_id in {*members, *self._connections.online_users(workspace_id)}:  # admins bound to it too
            self._directory.close_connections(user_id, workspace_id)
        self._events.record(Event("workspace.deleted", workspace.account_id, workspace_id, actor_id=actor.user_id))

    def _holds_documents(self, workspace_id: str) -> bool:
        """Any document but an upload never made whose grant has run out (the API no longer lists those)."""
        now, start = time.time(), None
        for _ in range(50):
            page = self._documents.in_workspace(workspace_id, 100, start)
            if any(not document.abandoned(now) for document in page.items):
                return True
            if page.next_key is None:
                return False
            start = page.next_key
        return True  # thousands of abandoned uploads: not worth a longer look, and not a workspace to drop

    def list(self, actor: Actor, account_id: str, limit: int, start: dict[str, Any] | None) -> Page[Workspace]:
        self._access.require_account_admin(actor, account_id)
        return self._store.list_workspaces(account_id, limit, start)

    def mine(self, actor: Actor, limit: int, start: dict[str, Any] | None) -> Page[tuple[Workspace, WorkspaceRole]]:
        page = self._store.list_user_workspaces(actor.user_id, limit, start)
        found = [(self._tenancy.workspace(m.workspace_id), m.role) for m in page.items]
        return Page([(w, role) for w, role in found if w is not None and w.account_id == actor.account_id],
                    page.next_key)

    # -- members ----------------------------------------------------------------------------------------
    def set_member(self, actor: Actor, workspace_id: str, user_id: str, role: str) -> Membership:
        access = self._access.workspace(actor, workspace_id, need=WorkspaceRole.OWNER)
        workspace = access.workspace
        member_id = self._same_account_user(user_id, workspace.account_id)
        try:
            member_role = WorkspaceRole(role)
        except ValueError as exc:
            raise BadRequest(f"unknown workspace role {role!r}; roles: owner, editor, viewer",
                             code="bad_role") from exc
        if member_role is not WorkspaceRole.OWNER:
            self._keep_an_owner(workspace_id, member_id)
        # The caller must still be an owner (or an administrator) when the change lands: two owners demoting
        # each other at once each passed the check above, and without this both would win.
        return self._put_member(actor, workspace, member_id, member_role,
                                self._access.write_grant(actor, access, WorkspaceRole.OWNER))

    def _put_member(self, actor: Actor, workspace: Workspace, user_id: str, role: WorkspaceRole,
                    grant: WriteGrant | None = None) -> Membership:
        before = self._store.get_membership(workspace.workspace_id, user_id)
        if before is not None and before.role is role:
            return before  # nothing changes, and the event log says only what happened
        if role is WorkspaceRole.VIEWER:  # viewers do not upload: grants given before are revoked
            revoke_grants(self._ledger, self._documents, workspace.account_id, user_id,
                          sources_prefix(workspace.workspace_id))
        membership = Membership(workspace.workspace_id, user_id, workspace.account_id, role,
                                before.added_at if before else int(time.time()))
        self._store.put_membership(membership, grant)
        self._tenancy.forget_membership(workspace.workspace_id, user_id)
        kind = "membership.changed" if before else "membership.added"
        self._events.record(Event(kind, workspace.account_id, workspace.workspace_id, user_id, actor.user_id,
                                  {"role": role.value, "before": before.role.value if before else None}))
        return membership

    def remove_member(self, actor: Actor, workspace_id: str, user_id: str) -> None:
        access = self._access.workspace(actor, workspace_id, need=WorkspaceRole.OWNER)
        workspace = access.workspace
        self._keep_an_owner(workspace_id, user_id)
        if not self._store.delete_membership(workspace_id, user_id,
                                             self._access.write_grant(actor, access, WorkspaceRole.OWNER)):
            raise NotFound("no such member")
        closed = self._directory.close_connections(user_id, workspace_id)
        # Upload grants are bearer URLs: the ones given to the member are revoked, so what arrives is refused.
        revoke_grants(self._ledger, self._documents, workspace.account_id, user_id, sources_prefix(workspace_id))
        self._events.record(Event("membership.removed", workspace.account_id, workspace_id, user_id, actor.user_id,
                                  {"connections_closed": closed}))
        self._tenancy.forget_membership(workspace_id, user_id)  # last: a failed invalidation reports an error

    def _keep_an_owner(self, workspace_id: str, leaving: str) -> None:
        """Refuse to take the owner role from the last owner: nobody could then manage members, restore or
        reprocess, short of an account administrator. (Two owners demoting each other at once both pass this;
        the write's grant, that its caller is an owner still, lets only the first land.)"""
        current = self._store.get_membership(workspace_id, leaving)
        if current is None or current.role is not WorkspaceRole.OWNER:
            return
        start: dict[str, Any] | None = None
        while True:
            page = self._store.list_members(workspace_id, 100, start)
            if any(m.role is WorkspaceRole.OWNER and m.user_id != leaving for m in page.items):
                return
            start = page.next_key
            if start is None:
                raise Conflict("the workspace's last owner cannot leave or stop being owner: make another member "
                               "owner first", code="last_owner")

    def members(self, actor: Actor, workspace_id: str, limit: int,
                start: dict[str, Any] | None) -> tuple[Page[Membership], set[str]]:
        self._access.workspace(actor, workspace_id)
        return self._store.list_members(workspace_id, limit, start), self._connections.online_users(workspace_id)

    def _same_account_user(self, user_id: str, account_id: str) -> str:
        user = self._tenancy.user(user_id)
        if user is None or user.account_id != account_id:
            raise NotFound("no such user in this account")
        return user.user_id

