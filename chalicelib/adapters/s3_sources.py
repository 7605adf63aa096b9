"""Uploaded document versions, downloaded to the function's /tmp once per instance.

Every page task of a document needs the whole file (a PDF's pages share fonts and images), so a warm
instance that processes several pages of one document downloads it once. Versions are immutable, so the
version id is a safe cache key. Old files are evicted when the cache outgrows its budget (Lambda's /tmp is
512 MB by default, configurable to 10 GB).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


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
        name = hashlib.sha256(f"{self._bucket}/{key}@{version_id}".encode()).hexdigest()[:32]
        path = os.path.join(self._dir, name)
        with self._lock:
            if os.path.exists(path):
                os.utime(path)
                return path
            extra = {} if version_id == "null" else {"VersionId": version_id}
            partial = f"{path}.part"
            self._client.download_file(self._bucket, key, partial, ExtraArgs=extra)
            os.replace(partial, path)
            self._evict(keep=path)
        return path

    def _evict(self, keep: str) -> None:
        entries = [os.path.join(self._dir, n) for n in os.listdir(self._dir)]
        files = sorted((os.stat(p).st_atime, p) for p in entries if os.path.isfile(p) and p != keep)
        total = sum(os.path.getsize(p) for p in entries if os.path.isfile(p))
        for _, oldest in files:
            if total <= self._budget:
                break
            total -= os.path.getsize(oldest)
            os.remove(oldest)
