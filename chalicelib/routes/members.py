"""Member REST API: who am I, my workspaces, a workspace and who of its members is online."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.container import get_container
from chalicelib.routes import schemas as s
from chalicelib.routes.api import PAGING, ApiCall, api

bp = Blueprint(__name__)
TAG = "members"


@api(bp, "GET", "/me", "The signed-in user", TAG, response=s.USER)
def me(call: ApiCall) -> Any:
    return call.actor.user.to_dict()


@api(bp, "GET", "/me/workspaces", "The workspaces I belong to, with my role", TAG, query=PAGING,
     response=s.page_of(s.WORKSPACE))
def my_workspaces(call: ApiCall) -> Any:
    page = get_container().workspaces.mine(call.actor, call.limit, call.start())
    return call.page([{**w.to_dict(), "role": role.value} for w, role in page.items], page.next_key)


@api(bp, "GET", "/workspaces/{workspace_id}", "A workspace I can see, with my role", TAG, response=s.WORKSPACE)
def get_workspace(call: ApiCall) -> Any:
    workspace, role = get_container().workspaces.get(call.actor, call.path["workspace_id"])
    return {**workspace.to_dict(), "role": role.value}


@api(bp, "POST", "/workspaces/{workspace_id}/uploads",
     "Upload a document, or a new version of one (`document_id`): a presigned PUT, granted within the plan's "
     "storage quota (editors and owners)", TAG,
     status=201, body=s.UPLOAD_REQUEST, response=s.UPLOAD_GRANT)
def request_upload(call: ApiCall) -> Any:
    b = call.body
    return get_container().upload_grants.grant(call.actor, call.path["workspace_id"], b["filename"], b["size"],
                                               b["content_type"], b.get("document_id")).to_dict()


UPLOAD = "/workspaces/{workspace_id}/documents/{document_id}/upload"


@api(bp, "POST", UPLOAD + "/status", "A multipart upload's parts: which arrived, fresh URLs for the rest (resume)",
     TAG, body=s.UPLOAD_TOKEN, response=s.MULTIPART_STATUS)
def multipart_status(call: ApiCall) -> Any:
    return get_container().multipart_uploads.status(call.actor, call.path["workspace_id"], call.path["document_id"],
                                                    call.body["upload_token"])


@api(bp, "POST", UPLOAD + "/complete", "Finish a multipart upload once every part is there", TAG,
     body=s.UPLOAD_TOKEN, response=s.UPLOADED)
def multipart_complete(call: ApiCall) -> Any:
    return get_container().multipart_uploads.complete(call.actor, call.path["workspace_id"],
                                                      call.path["document_id"], call.body["upload_token"])


@api(bp, "POST", UPLOAD + "/abort", "Give up a multipart upload and discard its parts", TAG, status=204,
     body=s.UPLOAD_TOKEN)
def multipart_abort(call: ApiCall) -> Any:
    get_container().multipart_uploads.abort(call.actor, call.path["workspace_id"], call.path["document_id"],
                                            call.body["upload_token"])


@api(bp, "GET", "/workspaces/{workspace_id}/members", "A workspace's members and who is online", TAG,
     query=PAGING, response=s.page_of(s.MEMBER))
def workspace_members(call: ApiCall) -> Any:
    page, online = get_container().workspaces.members(call.actor, call.path["workspace_id"], call.limit,
                                                      call.start())
    return call.page([{**m.to_dict(), "online": m.user_id in online} for m in page.items], page.next_key)
