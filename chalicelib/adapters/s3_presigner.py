"""Presigned S3 uploads into the documents bucket. Content type and length are part of the signature, so
the client must send exactly what was granted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.upload_ports import PartsRefused, UploadGone

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_PARTS_REFUSED = ("EntityTooSmall", "InvalidPart", "InvalidPartOrder")


@contextmanager
def _translated() -> Iterator[None]:
    """S3's refusals as the port's exceptions: services never see botocore."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchUpload":
            raise UploadGone(code) from exc
        if code in _PARTS_REFUSED:
            raise PartsRefused(code) from exc
        raise


class S3Presigner:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put_url(self, key: str, content_type: str, size: int, expires_in: int) -> str:
        return self._client.generate_presigned_url(
            "put_object", ExpiresIn=expires_in,
            Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type, "ContentLength": size})

    # Multipart uploads: large files go up in parts, each with its own presigned URL, and can resume.
    def start_multipart(self, key: str, content_type: str) -> str:
        return self._client.create_multipart_upload(Bucket=self._bucket, Key=key, ContentType=content_type)["UploadId"]

    def part_url(self, key: str, upload_id: str, part_number: int, expires_in: int, size: int) -> str:
        """Signed for exactly `size` bytes, so no part can be larger than planned."""
        return self._client.generate_presigned_url(
            "upload_part", ExpiresIn=expires_in,
            Params={"Bucket": self._bucket, "Key": key, "UploadId": upload_id, "PartNumber": part_number,
                    "ContentLength": size})

    def parts(self, key: str, upload_id: str) -> list[tuple[int, str, int]]:
        """(part number, ETag, size) of every part uploaded so far."""
        found: list[tuple[int, str, int]] = []
        marker = 0
        while True:
            with _translated():
                page = self._client.list_parts(Bucket=self._bucket, Key=key, UploadId=upload_id,
                                               PartNumberMarker=marker)
            found.extend((p["PartNumber"], p["ETag"], p["Size"]) for p in page.get("Parts", []))
            if not page.get("IsTruncated"):
                return found
            marker = int(page["NextPartNumberMarker"])

    def complete(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> str | None:
        with _translated():
            done = self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=key, UploadId=upload_id,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]})
        version = done.get("VersionId")
        return str(version) if version else None

    def abort(self, key: str, upload_id: str) -> None:
        with _translated():
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
