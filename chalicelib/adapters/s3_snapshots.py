"""Workspace snapshots in the documents bucket, under snapshots/<workspace>/<seq>.json: versioned and
encrypted like the documents, and outside the workspaces/ prefix that notifies the upload queue."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


# The only keys this adapter touches: the websocket function's role may write nothing else of the bucket.
KEY_PREFIX = "snapshots/"


class S3Snapshots:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    @staticmethod
    def _key(workspace_id: str, seq: int) -> str:
        return f"{KEY_PREFIX}{workspace_id}/{seq:012d}.json"

    def put(self, workspace_id: str, seq: int, snapshot: dict[str, Any]) -> None:
        self._client.put_object(Bucket=self._bucket, Key=self._key(workspace_id, seq), ContentType="application/json",
                                Body=json.dumps(snapshot, separators=(",", ":")).encode())

    def get(self, workspace_id: str, seq: int) -> dict[str, Any]:
        body = self._client.get_object(Bucket=self._bucket, Key=self._key(workspace_id, seq))["Body"].read()
        data: dict[str, Any] = json.loads(body)
        return data

    def at_or_before(self, workspace_id: str, seq: int) -> int:
        """The newest snapshot at or before `seq` (0: none), for rebuilding the workspace as it was."""
        best = 0
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=f"{KEY_PREFIX}{workspace_id}/"):
            for obj in page.get("Contents", []):
                found = int(obj["Key"].rsplit("/", 1)[-1].split(".")[0])
                if best < found <= seq:
                    best = found
        return best
