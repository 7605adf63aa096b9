"""Uploaded document versions, downloaded to the function's /tmp once per instance.

Every page task of a document needs the whole file (a PDF's pages share fonts and images), so a warm instance that
processes several pages of one document downloads it once. Versions are immutable, so the version id is a safe
cache key. A download is one GET, streamed to the file (boto3's managed download asked for the object's size first,
and split large objects into 8 MB ranged GETs: more requests, each billed). Room is made before a download: older
files are evicted until the new one fits the budget, which is at most what the disk has (Lambda's /tmp is 512 MB by
default, up to 10 GB).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, IncompleteReadError, ReadTimeoutError, ResponseStreamingError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


RESUMES = 4  # ranged GETs after a cut stream, before the task is failed (and retried whole)
STREAM_CUT = (IncompleteReadError, ResponseStreamingError, ReadTimeoutError)


def _touch(path: str) -> None:
    """Mark a cached file used (eviction goes by access time), leaving its modification time alone: that is part
    of what identifies the file to the tiler's open document and to the converted-PDF cache, which a new mtime
    on every page made open or convert it again."""
    os.utime(path, ns=(time.time_ns(), os.stat(path).st_mtime_ns))


class S3SourceStore:
    def __init__(self, client: S3Client, bucket: str, cache_dir: str | None = None,
                 budget_bytes: int = 2 * 1024**3) -> None:
        self._client = client
        self._bucket = bucket
        self._dir = cache_dir or os.path.join(tempfile.gettempdir(), "kalexo-sources")
        self._budget = budget_bytes
        self._lock = threading.Lock()
        os.makedirs(self._dir, exist_ok=True)

    def download(self, key: str, version_id: str) -> str:
        path = self._path(key, version_id)
        with self._lock:
            if os.path.exists(path):
                _touch(path)
                return path
            extra: dict[str, Any] = {} if version_id == "null" else {"VersionId": version_id}
            self._save(self._client.get_object(Bucket=self._bucket, Key=key, **extra), path, key)
        return path

    def download_latest(self, key: str, version_id: str) -> str | None:
        """That version's file if it is the key's latest now, else None (the body is then not read): one GET
        for both the check and the bytes, where a HEAD and then a download took three requests."""
        path = self._path(key, version_id)
        with self._lock:
            if os.path.exists(path):
                _touch(path)
                return path if self.latest_version(key) == version_id else None
            response = self._client.get_object(Bucket=self._bucket, Key=key)
            if str(response.get("VersionId") or "null") != version_id:
                response["Body"].close()
                return None
            self._save(response, path, key)
        return path

    def latest_version(self, key: str) -> str:
        """The version a plain GET of the key would return now."""
        return str(self._client.head_object(Bucket=self._bucket, Key=key).get("VersionId") or "null")

    def versions(self, key: str) -> list[str]:
        """The key's versions, newest first, as S3 lists them (delete markers left out)."""
        found: list[str] = []
        pages = self._client.get_paginator("list_object_versions").paginate(Bucket=self._bucket, Prefix=key)
        for page in pages:
            found += [str(v["VersionId"]) for v in page.get("Versions", []) if v["Key"] == key]
        return found

    def _path(self, key: str, version_id: str) -> str:
        return os.path.join(self._dir, hashlib.sha256(f"{self._bucket}/{key}@{version_id}".encode()).hexdigest()[:32])

    def _save(self, response: Any, path: str, key: str) -> None:
        """A GET's body into the cache, room made first from its length (no HEAD before it). A stream cut part
        way (a reset, a read timeout) is resumed from the bytes written, by a ranged GET of the same object (its
        version, or its ETag where the bucket keeps none), a few times, as the managed download retried its
        ranges; then the task fails, leaving nothing behind, and is retried whole."""
        size = int(response["ContentLength"])
        self._make_room(size)
        partial = f"{path}.{os.getpid()}.{threading.get_ident()}.part"  # a shared /tmp: never the same name
        same = ({"VersionId": response["VersionId"]} if response.get("VersionId") not in (None, "null") else
                {"IfMatch": response["ETag"]} if response.get("ETag") else {})
        body = response["Body"]
        try:
            with open(partial, "wb") as file:
                for resumed in range(RESUMES + 1):
                    try:
                        shutil.copyfileobj(body, file, 1024 * 1024)
                        break
                    except STREAM_CUT:
                        if resumed == RESUMES or not same:
                            raise
                    finally:
                        body.close()
                    body = self._client.get_object(Bucket=self._bucket, Key=key, Range=f"bytes={file.tell()}-",
                                                   **same)["Body"]
                if file.tell() != size:
                    raise IncompleteReadError(actual_bytes=file.tell(), expected_bytes=size)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(partial)
            raise
        os.replace(partial, path)

    def _make_room(self, size: int) -> None:
        files = []
        for name in os.listdir(self._dir):
            if name.endswith(".part"):
                continue  # another download in progress
            with contextlib.suppress(FileNotFoundError):  # another process evicted it meanwhile
                stat = os.stat(os.path.join(self._dir, name))
                files.append((stat.st_atime, stat.st_size, os.path.join(self._dir, name)))
        files.sort()
        used = sum(size for _, size, _ in files)
        budget = min(self._budget, used + shutil.disk_usage(self._dir).free - 16 * 1024**2)
        for _, file_size, oldest in files:
            if used + size <= budget:
                break
            used -= file_size
            with contextlib.suppress(FileNotFoundError):
                os.remove(oldest)


class S3SourceRemover:
    """Lets a removed document's source go: only the tiling worker builds it, so only its role may delete."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def forget(self, key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=key)  # versioned: a delete marker, nothing lost


class S3VersionDiscarder:
    """Deletes one refused upload's version for good; only the ingest function builds it."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def discard(self, key: str, version_id: str) -> str | None:
        # Deleting a version that is gone already succeeds: a redelivered refusal does the same again.
        self._client.delete_object(Bucket=self._bucket, Key=key, VersionId=version_id)
        try:
            return str(self._client.head_object(Bucket=self._bucket, Key=key).get("VersionId") or "null")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return None  # no version left (or a delete marker on top)
            raise
