"""Presigned S3 uploads into the documents bucket. Content type and length are part of the signature, so
the client must send exactly what was granted."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3Presigner:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put_url(self, key: str, content_type: str, size: int, expires_in: int) -> str:
        return self._client.generate_presigned_url(
            "put_object", ExpiresIn=expires_in,
            Params={"Bucket": self._bucket, "Key": key, "ContentType": content_type, "ContentLength": size})
