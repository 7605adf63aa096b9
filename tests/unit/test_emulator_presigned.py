"""The emulator checks presigned URLs as S3 does (local/emulator_presigned.py): boto3 signs a grant's PUT for
one size and type, and a request that carries other ones, a changed key, or comes after the URL expired is
refused, while the request the grant describes passes."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config

from local.emulator_presigned import checked, refused

ENDPOINT = "http://127.0.0.1:4566"


@pytest.fixture(scope="module")
def s3() -> Any:
    return boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id="local",
                        aws_secret_access_key="local", config=Config(signature_version="s3v4",
                                                                     s3={"addressing_style": "path"}))


def environ(url: str, method: str = "PUT", **headers: str) -> dict[str, Any]:
    parts = urlsplit(url)
    env: dict[str, Any] = {"REQUEST_METHOD": method, "QUERY_STRING": parts.query, "PATH_INFO": parts.path,
                           "REQUEST_URI": f"{parts.path}?{parts.query}", "HTTP_HOST": parts.netloc}
    for name, value in headers.items():
        key = name.upper()
        env[key if key in ("CONTENT_LENGTH", "CONTENT_TYPE") else f"HTTP_{key}"] = value
    return env


def put_url(s3: Any, size: int = 100, content_type: str = "application/pdf", expires: int = 900) -> str:
    return str(s3.generate_presigned_url("put_object", ExpiresIn=expires, Params={
        "Bucket": "docs", "Key": "ws-1/doc-1/source", "ContentType": content_type, "ContentLength": size}))


def refusal(url: str, now: float | None = None, method: str = "PUT", **headers: str) -> str | None:
    env = environ(url, method, **headers)
    found = refused(env, env["QUERY_STRING"], time.time() if now is None else now)
    return None if found is None else found[0]


def test_the_request_a_grant_describes_passes(s3: Any) -> None:
    assert refusal(put_url(s3), content_length="100", content_type="application/pdf") is None
    get = s3.generate_presigned_url("get_object", Params={"Bucket": "docs", "Key": "ws-1/doc-1/source"})
    assert refusal(get, method="GET") is None


def test_more_bytes_or_another_type_than_signed_are_refused(s3: Any) -> None:
    url = put_url(s3)
    assert refusal(url, content_length="5000000", content_type="application/pdf") == "SignatureDoesNotMatch"
    assert refusal(url, content_length="100", content_type="text/html") == "SignatureDoesNotMatch"
    assert refusal(url, content_type="application/pdf") == "SignatureDoesNotMatch"  # no length at all


def test_another_key_method_or_credentials_are_refused(s3: Any) -> None:
    url = put_url(s3)
    assert refusal(url.replace("doc-1", "doc-2"), content_length="100",
                   content_type="application/pdf") == "SignatureDoesNotMatch"
    assert refusal(url, method="POST", content_length="100", content_type="application/pdf") == "SignatureDoesNotMatch"
    assert refusal(url.replace("X-Amz-Credential=local", "X-Amz-Credential=someone"), content_length="100",
                   content_type="application/pdf") == "InvalidAccessKeyId"


def test_an_expired_url_is_refused_even_with_the_right_body(s3: Any) -> None:
    url = put_url(s3, expires=60)
    assert refusal(url, now=time.time() + 30, content_length="100", content_type="application/pdf") is None
    assert refusal(url, now=time.time() + 120, content_length="100", content_type="application/pdf") == "AccessDenied"


def test_the_middleware_answers_403_in_s3s_shape_and_passes_the_rest_on(s3: Any) -> None:
    calls: list[str] = []

    def app(env: dict[str, Any], start: Any) -> list[bytes]:
        calls.append(env["REQUEST_METHOD"])
        start("200 OK", [])
        return [b""]

    statuses: list[str] = []
    wrapped = checked(app)
    body = b"".join(wrapped(environ(put_url(s3), content_length="7", content_type="application/pdf"),
                            lambda status, headers: statuses.append(status)))
    assert statuses == ["403 Forbidden"] and b"<Code>SignatureDoesNotMatch</Code>" in body and calls == []
    wrapped(environ(put_url(s3), content_length="100", content_type="application/pdf"), lambda s, h: statuses.append(s))
    wrapped(environ(f"{ENDPOINT}/docs?list-type=2", method="GET"), lambda s, h: statuses.append(s))  # header-signed
    assert statuses[1:] == ["200 OK", "200 OK"] and calls == ["PUT", "GET"]
