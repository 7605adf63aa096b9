"""The source cache shared by processes (two workers on one /tmp): the same version downloaded by both at
once, and one evicting while the other downloads, end with both holding the file."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from chalicelib.adapters.s3_sources import S3SourceStore


class SlowS3:
    """head_object and download_file as boto3's, writing slowly so downloads overlap."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.started = threading.Barrier(2)

    def head_object(self, **_: Any) -> dict[str, Any]:
        return {"ContentLength": len(self.body)}

    def download_file(self, bucket: str, key: str, path: str, ExtraArgs: dict[str, Any]) -> None:
        self.started.wait(timeout=10)  # both processes are downloading now
        with open(path, "wb") as file:
            for i in range(0, len(self.body), 1000):
                file.write(self.body[i:i + 1000])
                time.sleep(0.001)


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
