"""Admin REST API: an account's workspaces and their members."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.container import get_container
from chalicelib.routes import schemas as s
from chalicelib.routes.api import PAGING, ApiCall, Param, api

bp = Blueprint(__name__)
TAG = "admin: workspaces and members"


@api(bp, "POST", "/admin/accounts/{account_id}/workspaces", "Create a workspace", TAG, status=201,
     body=s.NEW_WORKSPACE, response=s.WORKSPACE)
def create_workspace(call: ApiCall) -> Any:
    b = call.body
    return get_container().workspaces.create(call.actor, call.path["account_id"], b["name"], b.get("settings", {}),
                                             b.get("owner_id"), b.get("workspace_id")).to_dict()


@api(bp, "GET", "/admin/accounts/{account_id}/workspaces", "List an account's workspaces", TAG, query=PAGING,
     response=s.page_of(s.WORKSPACE))
def list_workspaces(call: ApiCall) -> Any:
    page = get_container().workspaces.list(call.actor, call.path["account_id"], call.limit, call.start())
    return call.page([w.to_dict() for w in page.items], page.next_key)


@api(bp, "PATCH", "/admin/workspaces/{workspace_id}", "Change a workspace (owners, account admins)", TAG,
     body=s.WORKSPACE_CHANGES, response=s.WORKSPACE)
def update_workspace(call: ApiCall) -> Any:
    return get_container().workspaces.update(call.actor, call.path["workspace_id"], call.body).to_dict()


@api(bp, "DELETE", "/admin/workspaces/{workspace_id}",
     "Delete a workspace and its memberships; 409 workspace_not_empty while it holds documents", TAG, status=204)
def delete_workspace(call: ApiCall) -> Any:
    get_container().workspaces.delete(call.actor, call.path["workspace_id"])


RECOVERY_POINT = (Param("seq", "after this op (default: the latest; not with at_ms)", "integer", 0, 2**53),
                  Param("at_ms", "as it was at this time (epoch milliseconds; not with seq)", "integer", 0, 2**53))


@api(bp, "GET", "/admin/workspaces/{workspace_id}/state", "A workspace's shared state as it was after an op or at "
     "a time (owners, account admins)", TAG, query=RECOVERY_POINT, response=s.WORKSPACE_STATE)
def workspace_state(call: ApiCall) -> Any:
    return get_container().recovery.view(call.actor, call.path["workspace_id"], call.query.get("seq"),
                                         call.query.get("at_ms"))


@api(bp, "POST", "/admin/workspaces/{workspace_id}/restore", "Restore a workspace's shared state as of an op or a "
     "time, by appending the ops that undo what came after (owners, account admins)", TAG, body=s.RESTORE,
     response=s.RESTORED)
def restore_workspace(call: ApiCall) -> Any:
    return get_container().recovery.restore(call.actor, call.path["workspace_id"], call.body.get("seq"),
                                            call.body.get("at_ms"))


@api(bp, "PUT", "/admin/workspaces/{workspace_id}/members/{user_id}", "Add a member or change their role", TAG,
     body=s.MEMBERSHIP, response=s.MEMBER)
def put_member(call: ApiCall) -> Any:
    return get_container().workspaces.set_member(call.actor, call.path["workspace_id"], call.path["user_id"],
                                                 call.body["role"]).to_dict()


@api(bp, "DELETE", "/admin/workspaces/{workspace_id}/members/{user_id}",
     "Remove a member: access ends at once, their open websockets in the workspace close", TAG, status=204)
def remove_member(call: ApiCall) -> Any:
    get_container().workspaces.remove_member(call.actor, call.path["workspace_id"], call.path["user_id"])
