"""Uploading a file: ask for a grant, send the bytes straight to S3 with progress, finish a multipart upload.

A single grant is one presigned PUT with the grant's headers (its Content-Type and Content-Length are signed).
A multipart grant (files over the stack's threshold, 100 MiB by default) lists one presigned URL per part; the
parts go up one by one, and a part that fails is retried from `upload/status`, which says which parts S3 holds
and gives fresh URLs for the others. `upload/complete` then checks the parts against the granted size. A
failure that retrying does not cure aborts the upload, which gives the grant's reserved storage back at once.
"""

from __future__ import annotations

import contextlib
import mimetypes
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import requests

from kalexo_client.errors import ApiError, Failed, ServerError

if TYPE_CHECKING:
    from kalexo_client.members import MemberApi

ProgressCallback = Callable[[int, int], None]  # (bytes sent, bytes in all)
PART_ROUNDS = 4  # rounds of status-and-retry before a multipart upload is given up


@dataclass(frozen=True)
class UploadResult:
    document_id: str
    size: int
    method: str  # PUT or multipart
    version_id: str | None  # S3's version (the document's `version_id` once processed, or in its `passed_over`)
    grant: Mapping[str, Any]


class _Progress:
    """Bytes confirmed (parts done) plus bytes of the part in flight, which a failed attempt gives back."""

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total, self.confirmed, self.current, self.callback = total, 0, 0, callback
        self.reported: int | None = None

    def advance(self, count: int) -> None:
        self.current += count
        self._report()

    def settle(self, ok: bool) -> None:
        self.confirmed += self.current if ok else 0
        self.current = 0
        self._report()

    def set_confirmed(self, count: int) -> None:
        self.confirmed, self.current = count, 0
        self._report()

    def _report(self) -> None:
        # Only changes: the last chunk, the read that finds the end and the settling all land on the total,
        # and a progress bar (or a caller counting calls) should see it once.
        value = min(self.total, self.confirmed + self.current)
        if self.callback is not None and value != self.reported:
            self.reported = value
            self.callback(value, self.total)


class _Slice:
    """`length` bytes of a file from `offset`, read as requests sends them (so progress follows the socket).
    It has a length and no __iter__, so requests sends a Content-Length, never chunked encoding."""

    def __init__(self, file: IO[bytes], offset: int, length: int, progress: _Progress) -> None:
        file.seek(offset)
        self._file, self._left, self._progress = file, length, progress
        self._length = length
        self.unreadable: OSError | None = None  # requests reports a read error as the connection's

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        try:
            chunk = self._file.read(size)
        except OSError as exc:
            self.unreadable = exc
            raise
        self._left -= len(chunk)
        self._progress.advance(len(chunk))
        return chunk


def _s3_error(response: requests.Response) -> Exception:
    text = response.text
    code = re.search(r"<Code>([^<]*)</Code>", text)
    message = re.search(r"<Message>([^<]*)</Message>", text)
    if response.status_code >= 500:
        return ServerError(response.status_code, f"storage: {text[:200]}")
    return ApiError(response.status_code, code.group(1) if code else f"http_{response.status_code}",
                    message.group(1) if message else text[:200])


def _put(session: requests.Session, url: str, headers: Mapping[str, str], path: Path, offset: int, length: int,
         progress: _Progress, timeout: float) -> requests.Response:
    try:
        file = path.open("rb")
    except OSError as exc:
        raise Failed(f"reading {path}: {exc.strerror or exc}") from exc
    with file:
        body = _Slice(file, offset, length, progress)
        try:
            response = session.put(url, data=body, headers=dict(headers), timeout=timeout)
        except requests.RequestException as exc:
            progress.settle(ok=False)
            if body.unreadable is not None:  # the file, not the network
                raise Failed(f"reading {path}: {body.unreadable.strerror or body.unreadable}") from exc
            raise Failed(f"upload to storage: {exc}") from exc
    if response.status_code >= 300:
        progress.settle(ok=False)
        raise _s3_error(response)
    progress.settle(ok=True)
    return response


def upload_file(api: MemberApi, workspace: str, path: Path, *, content_type: str | None = None,
                document_id: str | None = None, progress: ProgressCallback | None = None,
                timeout: float = 600.0) -> UploadResult:
    size = path.stat().st_size
    if size == 0:
        raise ValueError(f"{path} is empty: there is nothing to upload")
    content_type = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    grant = api.request_upload(workspace, path.name, size, content_type, document_id)
    counter = _Progress(size, progress)
    storage = requests.Session()  # presigned URLs carry their own credentials: never the bearer token
    if grant.get("method") == "multipart":
        version = _multipart(api, storage, workspace, grant, path, counter, timeout)
        return UploadResult(grant["document_id"], size, "multipart", version, grant)
    headers = {"Content-Type": content_type, "Content-Length": str(size), **dict(grant.get("headers") or {})}
    response = _put(storage, grant["url"], headers, path, 0, size, counter, timeout)
    return UploadResult(grant["document_id"], size, "PUT", response.headers.get("x-amz-version-id"), grant)


def _multipart(api: MemberApi, storage: requests.Session, workspace: str, grant: Mapping[str, Any], path: Path,
               counter: _Progress, timeout: float) -> str | None:
    """The S3 version the parts became (as `complete` names it)."""
    plan = grant["multipart"]
    document, token, part_size = grant["document_id"], plan["upload_token"], int(plan["part_size"])
    todo: list[dict[str, Any]] = list(plan["parts"])
    try:
        for _ in range(PART_ROUNDS):
            failure: Exception | None = None
            for part in todo:
                number, length = int(part["part_number"]), int(part["size"])
                try:  # moto stores an empty part for a form content type: say what the bytes are
                    _put(storage, part["url"], {"Content-Length": str(length), "Content-Type":
                         "application/octet-stream"}, path, (number - 1) * part_size, length, counter, timeout)
                except (Failed, ApiError) as exc:
                    failure = exc
            if failure is None:
                break
            status = api.upload_status(workspace, document, token)  # what arrived, fresh URLs for the rest
            todo = list(status["missing"])
            counter.set_confirmed(sum(min(part_size, counter.total - (n - 1) * part_size)
                                      for n in status["uploaded"]))
            if not todo:
                break
        else:
            raise Failed(f"parts of {path.name} would not upload: {failure}")
        version = api.upload_complete(workspace, document, token).get("version_id")
    except BaseException:
        with contextlib.suppress(Exception):  # the first failure is the one to report
            api.upload_abort(workspace, document, token)  # gives the reserved storage back at once
        raise
    return str(version) if version else None
