"""The source cache shared by processes (two workers on one /tmp): the same version downloaded by both at
once, and one evicting while the other downloads, end with both holding the file."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ResponseStreamingError

from chalicelib.adapters.s3_sources import RESUMES, S3SourceStore


class SlowBody:
    """A GET's streaming body, read slowly so downloads overlap."""

    def __init__(self, body: bytes) -> None:
        self.body, self.at = body, 0

    def read(self, size: int = -1) -> bytes:
        size = min(1000, size if size > 0 else 1000)
        chunk, self.at = self.body[self.at:self.at + size], self.at + size
        time.sleep(0.001)
        return chunk

    def close(self) -> None:
        pass


class SlowS3:
    """get_object as boto3's, its body read slowly; counts the requests."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.started = threading.Barrier(2)
        self.calls: list[str] = []

    def get_object(self, **params: Any) -> dict[str, Any]:
        self.calls.append("GET")
        self.started.wait(timeout=10)  # both processes are downloading now
        return {"ContentLength": len(self.body), "Body": SlowBody(self.body), "VersionId": "v1"}


def test_two_processes_download_the_same_version_at_once(tmp_path: Path) -> None:
    s3 = SlowS3(b"%PDF" * 5000)
    stores = [S3SourceStore(s3, "b", cache_dir=str(tmp_path)) for _ in range(2)]  # type: ignore[arg-type]
    results: list[Any] = [None, None]

    def fetch(i: int) -> None:
        try:
            results[i] = Path(stores[i].download("docs/a.pdf", "v1")).read_bytes()
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=fetch, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [s3.body, s3.body]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_eviction_skips_downloads_in_progress_and_files_already_gone(tmp_path: Path) -> None:
    store = S3SourceStore(SlowS3(b""), "b", cache_dir=str(tmp_path), budget_bytes=100)  # type: ignore[arg-type]
    (tmp_path / "old").write_bytes(b"x" * 80)
    (tmp_path / "other.123.part").write_bytes(b"y" * 80)  # another process's download
    store._make_room(50)
    assert not (tmp_path / "old").exists()
    assert (tmp_path / "other.123.part").exists()


class VersionedS3:
    """A versioned key whose latest version is v2; counts the requests by kind."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.closed = 0
        outer = self

        class Body(SlowBody):
            def close(self) -> None:
                outer.closed += 1
        self.body = Body

    def get_object(self, Bucket: str, Key: str, VersionId: str = "v2") -> dict[str, Any]:
        self.calls.append(f"GET {VersionId}")
        return {"ContentLength": 4, "Body": self.body(VersionId.encode().ljust(4)), "VersionId": VersionId}

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.calls.append("HEAD")
        return {"ContentLength": 4, "VersionId": "v2"}


def test_a_download_is_one_get_and_the_latest_versions_check_brings_its_bytes(tmp_path: Path) -> None:
    s3 = VersionedS3()
    store = S3SourceStore(s3, "b", cache_dir=str(tmp_path))  # type: ignore[arg-type]
    assert store.download_latest("docs/a.pdf", "v1") is None  # an older version's notification
    assert s3.calls == ["GET v2"] and s3.closed == 1  # its body was not read, only closed
    path = store.download_latest("docs/a.pdf", "v2")
    assert path is not None and Path(path).read_bytes() == b"v2  "
    assert store.download("docs/a.pdf", "v2") == path  # the analysis, then the tiler on this instance: cached
    assert s3.calls == ["GET v2", "GET v2"]
    assert Path(store.download("docs/a.pdf", "v1")).read_bytes() == b"v1  "  # an older version, by its id
    assert s3.calls[-1] == "GET v1" and len(s3.calls) == 3  # no HEAD before any GET
    assert store.download_latest("docs/a.pdf", "v1") is None and s3.calls[-1] == "HEAD"  # cached: still checked
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_a_cached_file_used_again_is_marked_by_its_access_time_only(tmp_path: Path) -> None:
    """Eviction goes by access time; the modification time is part of what identifies the file to the tiler's
    open document and to the converted-PDF cache (a new one on every page made them open or convert again)."""
    s3 = VersionedS3()
    store = S3SourceStore(s3, "b", cache_dir=str(tmp_path))  # type: ignore[arg-type]
    path = store.download("docs/a.pdf", "v2")
    past = time.time_ns() - 3600 * 10**9
    os.utime(path, ns=(past, past))
    assert store.download("docs/a.pdf", "v2") == path
    assert os.stat(path).st_mtime_ns == past and os.stat(path).st_atime_ns > past
    os.utime(path, ns=(past, past))
    assert store.download_latest("docs/a.pdf", "v2") == path
    assert os.stat(path).st_mtime_ns == past and os.stat(path).st_atime_ns > past
    assert s3.calls == ["GET v2", "HEAD"]  # both were cache hits


class CutBody:
    """A body that delivers `upto` bytes of `data` and then fails as a reset connection does."""

    def __init__(self, data: bytes, upto: int | None) -> None:
        self.data, self.upto, self.at, self.closed = data, upto, 0, False

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.at + size
        if self.upto is not None and end > self.upto:
            if self.at >= self.upto:
                raise ResponseStreamingError(error="connection reset")
            end = self.upto
        chunk, self.at = self.data[self.at:end], min(end, len(self.data))
        return chunk

    def close(self) -> None:
        self.closed = True


class CuttingS3:
    """Each GET's stream is cut after `cut` more bytes, `cuts` times; then streams to the end."""

    def __init__(self, data: bytes, cut: int, cuts: int, version: str = "v1") -> None:
        self.data, self.cut, self.cuts, self.version = data, cut, cuts, version
        self.gets: list[dict[str, Any]] = []
        self.bodies: list[CutBody] = []

    def get_object(self, **params: Any) -> dict[str, Any]:
        self.gets.append(params)
        start = int(params["Range"][len("bytes="):-1]) if "Range" in params else 0
        rest = self.data[start:]
        upto = self.cut if len(self.gets) <= self.cuts else None
        self.bodies.append(CutBody(rest, upto))
        return {"ContentLength": len(rest), "Body": self.bodies[-1], "VersionId": self.version, "ETag": '"e1"'}


def test_a_cut_stream_is_resumed_from_the_bytes_written(tmp_path: Path) -> None:
    data = bytes(range(256)) * 40_000  # 10 MB: cuts fall inside the 1 MB copy chunks
    s3 = CuttingS3(data, cut=3_500_000, cuts=2)
    path = S3SourceStore(s3, "b", cache_dir=str(tmp_path)).download("docs/a.pdf", "v1")  # type: ignore[arg-type]
    assert Path(path).read_bytes() == data
    assert [g.get("Range") for g in s3.gets] == [None, "bytes=3500000-", "bytes=7000000-"]
    assert all(g["VersionId"] == "v1" for g in s3.gets)  # the same version, never a newer upload
    assert all(body.closed for body in s3.bodies)


def test_an_unversioned_object_is_resumed_only_if_it_is_unchanged(tmp_path: Path) -> None:
    data = b"%PDF" * 500_000
    s3 = CuttingS3(data, cut=1_500_000, cuts=1, version="null")
    path = S3SourceStore(s3, "b", cache_dir=str(tmp_path)).download("docs/a.pdf", "null")  # type: ignore[arg-type]
    assert Path(path).read_bytes() == data
    assert s3.gets[1] == {"Bucket": "b", "Key": "docs/a.pdf", "Range": "bytes=1500000-", "IfMatch": '"e1"'}


def test_a_stream_cut_again_and_again_fails_and_leaves_nothing(tmp_path: Path) -> None:
    s3 = CuttingS3(b"x" * 3_000_000, cut=100_000, cuts=100)
    store = S3SourceStore(s3, "b", cache_dir=str(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(ResponseStreamingError):
        store.download("docs/a.pdf", "v1")
    assert len(s3.gets) == RESUMES + 1
    assert list(tmp_path.iterdir()) == []
