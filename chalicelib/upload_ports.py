"""The ports of uploads and storage quotas: where received object versions are recorded, the ledger of
reservations that storage quotas are, and discarding an upload that was refused."""

from __future__ import annotations

from enum import Enum
from typing import Protocol


class Receipt(Enum):
    """What became of one object version the documents bucket announced."""

    RECORDED = "recorded"  # counted (and its reservation settled)
    DUPLICATE = "duplicate"  # counted before: a redelivery
    REFUSED = "refused"  # no reservation to settle (a grant used twice, or expired): to be discarded
    REFUSED_BEFORE = "refused_before"  # refused before: a redelivery, discarded again if it came back
    RETRY = "retry"  # internal to the adapter: a racing version took the reservation it chose


class UploadGone(Exception):
    """The multipart upload named is no longer open (completed or aborted): S3's NoSuchUpload."""


class PartsRefused(Exception):
    """The store refused to assemble the parts (too small, missing or out of order); `code` says which."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class UploadLog(Protocol):
    """Where object-created notifications for the documents bucket are recorded."""

    def record(self, bucket: str, key: str, version_id: str, size: int, etag: str,
               account_id: str | None = None, reserved: bool = False) -> Receipt:
        """Record one object version, metering its bytes for the account in the same write; `reserved`
        versions (document sources) must settle a reservation made by their grant, or are refused."""

    def accepted(self, bucket: str, key: str, version_id: str) -> bool:
        """The version was recorded and not refused."""

    def uploader(self, bucket: str, key: str, version_id: str) -> str | None:
        """The user whose upload grant the version settled (None: no grant, or a grant that named nobody)."""


class StorageLedger(Protocol):
    """Storage quotas as reservations: a grant reserves room, receiving the upload settles it."""

    def totals(self, account_id: str) -> dict[str, int]: ...

    def reserve(self, account_id: str, key: str, upload_id: str, size: int, limit: int | None,
                expires_at: int, granted_to: str = "") -> bool:
        """False when the plan (`limit` bytes, None for no limit) has no room left for `size`."""

    def revoke(self, account_id: str, granted_to: str, key_prefix: str = "") -> list[str]:
        """Release the open reservations granted to a user (under `key_prefix`: one workspace's sources), so
        their uploads are refused when they arrive; the keys they were for."""

    def holds(self, account_id: str, key: str, upload_id: str) -> bool: ...

    def held(self, account_id: str, key: str) -> int:
        """How many grants for `key` still hold a reservation."""

    def extend(self, account_id: str, key: str, upload_id: str, expires_at: int) -> bool: ...

    def release(self, account_id: str, key: str, upload_id: str, size: int) -> bool: ...

    def release_expired(self, account_id: str, now: int | None = None) -> int: ...

    def open_until(self, account_id: str) -> int | None:
        """When the last open reservation lapses if its upload never arrives (epoch s); None: none open."""

    def give_back(self, account_id: str, key: str) -> int:
        """Every received version of `key` stops counting (its document was removed), each version once; its
        open reservations are released."""


class VersionDiscarder(Protocol):
    def discard(self, key: str, version_id: str) -> str | None:
        """Delete one version of a document's source for good (an upload that was refused); returns the
        version that is current now, None when there is none."""
