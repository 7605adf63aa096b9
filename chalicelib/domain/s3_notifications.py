"""S3 event notifications as they arrive in an SQS message body.

Every record of a notification is read (Chalice's S3Event only reads the first), keys are URL-decoded
(S3 encodes them, spaces as '+'), and the s3:TestEvent that S3 sends to a newly configured queue yields nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus


class MalformedNotification(ValueError):
    """The message is not an S3 notification; retrying will not help, so it belongs in the DLQ."""


@dataclass(frozen=True)
class ObjectCreated:
    """One object version the documents bucket announced."""
    bucket: str
    key: str
    size: int
    etag: str
    version_id: str
    sequencer: str
    event_time: str


def parse_notification(body: str) -> list[ObjectCreated]:
    try:
        message = json.loads(body)
    except json.JSONDecodeError as exc:
        raise MalformedNotification(f"not JSON: {exc.msg}") from exc
    if not isinstance(message, dict):
        raise MalformedNotification("not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise MalformedNotification("no Records list")
    return [_object_created(record) for record in records if _is_object_created(record)]


def _is_object_created(record: Any) -> bool:
    return isinstance(record, dict) and str(record.get("eventName", "")).startswith("ObjectCreated:")


def _object_created(record: dict[str, Any]) -> ObjectCreated:
    try:
        s3 = record["s3"]
        obj = s3["object"]
        return ObjectCreated(
            bucket=str(s3["bucket"]["name"]),
            key=unquote_plus(str(obj["key"])),
            size=int(obj.get("size", 0)),
            etag=str(obj.get("eTag", "")),
            # Unversioned buckets send no versionId; "null" is what S3 itself calls that version.
            version_id=str(obj.get("versionId") or "null"),
            sequencer=str(obj.get("sequencer", "")),
            event_time=str(record.get("eventTime", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedNotification(f"record without bucket or object: {exc!r}") from exc
