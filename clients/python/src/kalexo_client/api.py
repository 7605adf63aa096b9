"""KalexoApi: every REST helper in one object (member routes, admin routes, uploads)."""

from __future__ import annotations

from pathlib import Path

from kalexo_client.admin import AdminApi
from kalexo_client.members import MemberApi
from kalexo_client.uploads import ProgressCallback, UploadResult, upload_file


class KalexoApi(MemberApi, AdminApi):
    """`KalexoApi("https://api.example.com", token)`: the REST API with that bearer token."""

    def upload(self, workspace: str, path: str | Path, *, content_type: str | None = None,
               document_id: str | None = None, progress: ProgressCallback | None = None) -> UploadResult:
        """Upload a file (a new document, or a new version of `document_id`): a presigned PUT, or the parts of a
        multipart grant and its completion; `progress(sent, total)` as the bytes go."""
        return upload_file(self, workspace, Path(path), content_type=content_type, document_id=document_id,
                           progress=progress)
