"""The member routes: who am I, my workspaces, members, documents and their manifests, processing, uploads.

Answers are the API's JSON as dicts (their shapes: GET /openapi.json); uploads with progress are uploads.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kalexo_client.rest import Rest, segment


def _ws(workspace: str) -> str:
    return f"/workspaces/{segment(workspace)}"


def _doc(workspace: str, document: str) -> str:
    return f"{_ws(workspace)}/documents/{segment(document)}"


class MemberApi(Rest):
    def me(self) -> dict[str, Any]:
        return dict(self.get("/me"))

    def my_workspaces(self, limit: int | None = None) -> list[dict[str, Any]]:
        return self.collect("/me/workspaces", limit=limit)

    def workspace(self, workspace: str) -> dict[str, Any]:
        return dict(self.get(_ws(workspace)))

    def members(self, workspace: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Members with their role and whether they are online now."""
        return self.collect(f"{_ws(workspace)}/members", limit=limit)

    # Documents

    def documents(self, workspace: str, limit: int | None = None) -> list[dict[str, Any]]:
        return self.collect(f"{_ws(workspace)}/documents", limit=limit)

    def document(self, workspace: str, document: str) -> dict[str, Any]:
        """A document and its manifest: every finished page with its `dzi`, `iiif`, `thumbnail` and `text` URLs
        (their grants expire: read it again when tiles stop loading)."""
        return dict(self.get(_doc(workspace, document)))

    def manifest_url(self, workspace: str, document: str) -> str:
        """Where the document's manifest is read (the document route itself)."""
        return self.url(_doc(workspace, document))

    def remove_document(self, workspace: str, document: str) -> None:
        self.request("DELETE", _doc(workspace, document))

    def page_text(self, workspace: str, document: str, page: int) -> str:
        return str(self.page_text_answer(workspace, document, page)["text"])

    def page_text_answer(self, workspace: str, document: str, page: int) -> dict[str, Any]:
        """The text route's whole answer; a page past the document's last is 404 `no_such_page`."""
        return dict(self.get(f"{_doc(workspace, document)}/pages/{int(page)}/text"))

    def reprocess_document(self, workspace: str, document: str,
                           options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Owners: process again, optionally with new tile options (dpi, tile_size, format, quality, max_side,
        max_pixels)."""
        return dict(self.post(f"{_doc(workspace, document)}/reprocess", {"options": dict(options)} if options else {}))

    def retry_document(self, workspace: str, document: str) -> dict[str, Any]:
        return dict(self.post(f"{_doc(workspace, document)}/retry"))

    def reprocess_workspace(self, workspace: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return dict(self.post(f"{_ws(workspace)}/reprocess", {"options": dict(options)} if options else {}))

    def jobs(self, workspace: str, limit: int | None = None) -> list[dict[str, Any]]:
        return self.collect(f"{_ws(workspace)}/jobs", limit=limit)

    # Uploads (the grant and the multipart bookkeeping; the bytes go to S3, see uploads.py)

    def request_upload(self, workspace: str, filename: str, size: int, content_type: str,
                       document_id: str | None = None) -> dict[str, Any]:
        """A grant: `method` PUT (`url`, `headers`) or multipart (`multipart`: `upload_token`, `part_size`,
        `part_count`, `parts` [{`part_number`, `size`, `url`}]). Refused with 403 `storage_quota_exceeded`
        when the plan is full."""
        body: dict[str, Any] = {"filename": filename, "size": size, "content_type": content_type}
        if document_id is not None:
            body["document_id"] = document_id
        return dict(self.post(f"{_ws(workspace)}/uploads", body))

    def upload_status(self, workspace: str, document: str, upload_token: str) -> dict[str, Any]:
        """Which parts arrived (`uploaded`) and fresh URLs for the rest (`missing`); renews the reservation."""
        return dict(self.post(f"{_doc(workspace, document)}/upload/status", {"upload_token": upload_token}))

    def upload_complete(self, workspace: str, document: str, upload_token: str) -> dict[str, Any]:
        return dict(self.post(f"{_doc(workspace, document)}/upload/complete", {"upload_token": upload_token}))

    def upload_abort(self, workspace: str, document: str, upload_token: str) -> None:
        self.post(f"{_doc(workspace, document)}/upload/abort", {"upload_token": upload_token})
