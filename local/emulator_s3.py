"""S3 writes to one key in the order S3 makes them, in the emulator.

moto changes a key's list of versions by reading it and writing it back (put, delete, a multipart's
completion), unguarded, while waitress serves requests on many threads: two PUTs of one key at the same moment
could lose a version, and each version's `last_modified` is taken before the list is written. moto's GET
returns the last version in that list, but its ListObjectVersions marks as `IsLatest` the version with the
newest `last_modified`, so the two could disagree: an outside tester raced two new versions of a document and
saw the one GET returns (which the app processes, as S3's current version) listed as not the latest, 4 times in
5. S3 itself orders a key's versions one way for every API. Here writes that change a key's versions run one at
a time, and a version's `last_modified` is never older than the one it follows, so GET, HEAD and the listing
name the same latest version, and notifications go out in that order too.

Local tooling only (the emulator process): nothing of the app changes."""

from __future__ import annotations

import datetime
import functools
import threading
from typing import Any

_WRITES = threading.RLock()  # re-entrant: a multipart completion or a copy may put an object itself
_CHANGING_VERSIONS = ("put_object", "delete_object", "delete_objects", "complete_multipart_upload", "copy_object")


def install() -> None:
    from moto.s3.models import S3Backend

    if getattr(S3Backend, "_kalexo_ordered", False):  # once per process (tests install it more than once)
        return
    S3Backend._kalexo_ordered = True  # type: ignore[attr-defined]
    for name in _CHANGING_VERSIONS:
        original = getattr(S3Backend, name, None)
        if original is not None:
            setattr(S3Backend, name, _one_at_a_time(original))
    S3Backend.put_object = _never_older(S3Backend.put_object)  # type: ignore[method-assign]


def _one_at_a_time(method: Any) -> Any:
    @functools.wraps(method)
    def serialized(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _WRITES:
            return method(self, *args, **kwargs)

    return serialized


def _never_older(put_object: Any) -> Any:
    @functools.wraps(put_object)
    def put(self: Any, bucket_name: str, key_name: str, *args: Any, **kwargs: Any) -> Any:
        with _WRITES:
            new_key = put_object(self, bucket_name, key_name, *args, **kwargs)
            versions = self.get_bucket(bucket_name).keys.getlist(key_name, [])
            if len(versions) >= 2 and versions[-1] is new_key:
                before = getattr(versions[-2], "last_modified", None)
                if before is not None and new_key.last_modified <= before:
                    new_key.last_modified = before + datetime.timedelta(milliseconds=1)
            return new_key

    return put
