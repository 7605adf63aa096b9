"""Documents over REST: members list them and read manifests and page text; owners (and account admins)
reprocess, retry and see jobs; platform admins list jobs by state across the platform."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Request

from chalicelib.container import get_container
from chalicelib.domain.errors import BadRequest
from chalicelib.routes import schemas as s
from chalicelib.routes.api import PAGING, ApiCall, Param, api

bp = Blueprint(__name__)
TAG = "documents"
DOC = "/workspaces/{workspace_id}/documents/{document_id}"


def base_url(request: Request) -> str:
    """Where this API is reached from the caller's side: the configured public URL, or the request's own
    host, with API Gateway's stage prefix when the default execute-api domain carries one."""
    configured = get_container().settings.public_api_url
    if configured:
        return configured.rstrip("/")
    event = request.to_original_event()
    proto = request.headers.get("x-forwarded-proto", "http")
    host = request.headers.get("host", "localhost")
    full = str((request.context or {}).get("path") or "")
    own = str(event.get("path") or "")
    prefix = full[: -len(own)] if own and full.endswith(own) else ""
    return f"{proto}://{host}{prefix}"


def tiles_url(request: Request) -> str:
    """Where tiles, DZI and IIIF documents are fetched: the caching distribution in front of this API when the
    stage has one (KALEXO_TILES_URL; the grant in the path keys its cache), else this API itself."""
    configured = get_container().settings.tiles_url
    return configured.rstrip("/") if configured else base_url(request)


@api(bp, "GET", "/workspaces/{workspace_id}/documents", "A workspace's documents, newest first", TAG,
     query=PAGING, response=s.page_of(s.DOCUMENT))
def list_documents(call: ApiCall) -> Any:
    page = get_container().documents.list(call.actor, call.path["workspace_id"], call.limit, call.start())
    return call.page([d.to_dict() for d in page.items], page.next_key)


@api(bp, "GET", DOC, "A document and its manifest: DZI, IIIF and thumbnail URLs of every finished page", TAG,
     response=s.DOCUMENT)
def get_document(call: ApiCall) -> Any:
    return get_container().documents.manifest(call.actor, call.path["workspace_id"], call.path["document_id"],
                                              base_url(bp.current_request), tiles_url(bp.current_request))


@api(bp, "DELETE", DOC, "Remove a document from the workspace (owners, and the member who uploaded it)", TAG,
     status=204)
def remove_document(call: ApiCall) -> Any:
    get_container().documents.remove(call.actor, call.path["workspace_id"], call.path["document_id"])


@api(bp, "GET", DOC + "/pages/{page}/text", "The text of one finished page, for search", TAG, response=s.PAGE_TEXT)
def page_text(call: ApiCall) -> Any:
    page = _page_number(call.path["page"])
    text = get_container().documents.text(call.actor, call.path["workspace_id"], call.path["document_id"], page)
    return {"document_id": call.path["document_id"], "page": page, "text": text}


@api(bp, "POST", DOC + "/reprocess", "Process a document again, optionally with new tile settings (owners)", TAG,
     status=202, body=s.REPROCESS, response=s.REPROCESSING)
def reprocess_document(call: ApiCall) -> Any:
    return get_container().documents.reprocess(call.actor, call.path["workspace_id"], call.path["document_id"],
                                               call.body.get("options"))


@api(bp, "POST", DOC + "/retry", "Process a failed document again with its settings (owners)", TAG, status=202,
     response=s.REPROCESSING)
def retry_document(call: ApiCall) -> Any:
    return get_container().documents.retry(call.actor, call.path["workspace_id"], call.path["document_id"])


@api(bp, "POST", "/workspaces/{workspace_id}/reprocess", "Process every document of a workspace again (owners)",
     TAG, status=202, body=s.REPROCESS, response=s.WORKSPACE_REPROCESSING)
def reprocess_workspace(call: ApiCall) -> Any:
    return get_container().documents.reprocess_workspace(call.actor, call.path["workspace_id"],
                                                         call.body.get("options"))


@api(bp, "GET", "/workspaces/{workspace_id}/jobs", "A workspace's processing jobs, newest first (owners)", TAG,
     query=PAGING, response=s.page_of(s.JOB))
def workspace_jobs(call: ApiCall) -> Any:
    page = get_container().documents.jobs(call.actor, call.path["workspace_id"], call.limit, call.start())
    return call.page([j.answer() for j in page.items], page.next_key)


@api(bp, "GET", "/admin/jobs", "Processing jobs in one state across the platform (platform admins)", TAG,
     query=(Param("state", "tiling, ready, failed or superseded (default: failed)", max_length=20), *PAGING),
     response=s.page_of(s.JOB))
def jobs_by_state(call: ApiCall) -> Any:
    page = get_container().documents.jobs_in_state(call.actor, str(call.query.get("state", "failed")), call.limit,
                                                   call.start())
    return call.page([j.answer() for j in page.items], page.next_key)


def _page_number(text: str) -> int:
    """In its one spelling, as the tile routes take theirs: `01` is not page 1."""
    if not (text.isascii() and text.isdigit()) or len(text) > 5:
        raise BadRequest("page must be a page number (a whole number, at most 5 digits)", code="bad_page")
    if text != str(int(text)):
        raise BadRequest("page must be written without leading zeros", code="bad_page")
    return int(text)
