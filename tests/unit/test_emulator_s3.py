"""The emulator's S3 names one latest version per key for every API (local/emulator_s3.py): a tester raced two
new versions of a document and found moto listing as latest a version GET did not return."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local import emulator_s3


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        emulator_s3.install()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="docs")
        client.put_bucket_versioning(Bucket="docs", VersioningConfiguration={"Status": "Enabled"})
        yield client


def listed_latest(s3: Any, key: str) -> str:
    return next(v["VersionId"] for v in s3.list_object_versions(Bucket="docs", Prefix=key)["Versions"]
                if v["IsLatest"])


def test_a_version_written_last_is_listed_latest_though_its_clock_read_earlier(s3: Any,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Two PUTs racing: the second to be written took its time before the first did.
    times = iter([datetime.datetime(2026, 12, 2, 12, 0, 10), datetime.datetime(2026, 12, 2, 12, 0, 5)])
    monkeypatch.setattr("moto.s3.models.utcnow", lambda: next(times))
    s3.put_object(Bucket="docs", Key="k", Body=b"first")
    second = s3.put_object(Bucket="docs", Key="k", Body=b"second")["VersionId"]
    monkeypatch.undo()
    assert s3.head_object(Bucket="docs", Key="k")["VersionId"] == second
    assert listed_latest(s3, "k") == second


def test_racing_puts_keep_every_version(s3: Any) -> None:
    def put(n: int) -> None:
        s3.put_object(Bucket="docs", Key="race", Body=str(n).encode())

    threads = [threading.Thread(target=put, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    versions = s3.list_object_versions(Bucket="docs", Prefix="race")["Versions"]
    assert len(versions) == 16
    assert listed_latest(s3, "race") == s3.head_object(Bucket="docs", Key="race")["VersionId"]
