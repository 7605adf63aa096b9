"""Presigned URLs checked as S3 checks them: their signature (SigV4, query string) and their expiry.

moto accepts any presigned request: a PUT of more bytes than the grant signed (`Content-Length` is one of the
URL's signed headers), one of another `Content-Type`, or one after the URL expired, all arrive locally, while
S3 refuses them with 403 before a byte is stored. A tester's oversized PUT was accepted by the local stack and
its document then waited for its deadline, which cannot happen on AWS. So the emulator recomputes each
presigned request's signature from what the request carries (its method, path, query, the headers it names
as signed) with the local credentials, and answers as S3 does: `SignatureDoesNotMatch`, or `AccessDenied`
"Request has expired". Requests signed in headers (every boto3 call) are moto's to handle, as before.

Local tooling only (the emulator's WSGI stack): nothing of the app changes."""

from __future__ import annotations

import calendar
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import parse_qsl, quote

# The credentials every process of the local stack signs with (local/__main__.py, local/supervisor.py).
SECRETS = {"local": "local"}


def checked(app: Any) -> Any:
    def check(environ: dict[str, Any], start_response: Any) -> Any:
        raw_query = environ.get("QUERY_STRING", "")
        # A CORS preflight carries the URL but neither the method nor the headers signed: S3 answers it from
        # the bucket's CORS rules, unsigned (local/emulator.py does too).
        if "X-Amz-Signature=" not in raw_query or environ.get("REQUEST_METHOD") == "OPTIONS":
            return app(environ, start_response)
        refusal = refused(environ, raw_query, time.time())
        if refusal is None:
            return app(environ, start_response)
        code, message = refusal
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f'</Error>').encode()
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]

    return check


def refused(environ: dict[str, Any], raw_query: str, now: float) -> tuple[str, str] | None:
    """S3's error code and message for a presigned request it would refuse, or None."""
    params = parse_qsl(raw_query, keep_blank_values=True)
    query = dict(params)
    if query.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return None  # not SigV4 (boto3 signs S3 with v4 here): left to moto
    try:
        access_key, date, region, service, _ = query["X-Amz-Credential"].split("/")
        signed_at = calendar.timegm(time.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ"))
        expires = int(query["X-Amz-Expires"])
        names = query["X-Amz-SignedHeaders"].split(";")
    except (KeyError, ValueError):
        return "AuthorizationQueryParametersError", "Query-string authentication version 4 requires the " \
            "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and " \
            "X-Amz-Expires parameters."
    if access_key not in SECRETS:
        return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
    if now > signed_at + expires:
        return "AccessDenied", "Request has expired"
    headers = []
    for name in names:
        value = _header(environ, name)
        if value is None:
            return _MISMATCH
        headers.append(f"{name}:{' '.join(value.split())}\n")
    canonical_query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params) if k != "X-Amz-Signature")
    path = environ.get("REQUEST_URI", environ.get("PATH_INFO", "/")).split("?", 1)[0]
    canonical = "\n".join([environ["REQUEST_METHOD"], path, canonical_query, "".join(headers), ";".join(names),
                           "UNSIGNED-PAYLOAD"])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", query["X-Amz-Date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{SECRETS[access_key]}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return None if hmac.compare_digest(expected, query.get("X-Amz-Signature", "")) else _MISMATCH


_MISMATCH = ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you "
             "provided. Check your key and signing method.")


def _header(environ: dict[str, Any], name: str) -> str | None:
    if name == "host":
        return environ.get("HTTP_HOST")
    if name in ("content-length", "content-type"):
        value = environ.get(name.upper().replace("-", "_"))
        return str(value) if value not in (None, "") else None
    value = environ.get("HTTP_" + name.upper().replace("-", "_"))
    return None if value is None else str(value)


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")
