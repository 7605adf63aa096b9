"""An in-memory twin of the upload log and the storage ledger (ports UploadLog and StorageLedger), for unit and
contract tests."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.upload_ports import Receipt


class InMemoryUploadLog:
    """The upload log and the storage ledger in one (the DynamoDB twins share the account's totals item)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.reservations: dict[tuple[str, str, str], tuple[int, int, int]] = {}  # -> size, expires, created
        self.granted_to: dict[tuple[str, str, str], str] = {}
        self.stored: dict[str, int] = {}
        self.reserved: dict[str, int] = {}
        self.bytes_by_account = self.stored  # uploaded and kept, by account
        self._order = 0

    # UploadLog -------------------------------------------------------------------------------------------
    def record(self, bucket: str, key: str, version_id: str, size: int, etag: str,
               account_id: str | None = None, reserved: bool = False) -> Receipt:
        seen = self.items.get((bucket, key, version_id))
        if seen is not None:
            return Receipt.REFUSED_BEFORE if seen.get("refused") else Receipt.DUPLICATE
        version: dict[str, Any] = {"size": size, "etag": etag, "account_id": account_id}
        if account_id and reserved:
            fitting = [(held[0], held[2], k) for k, held in self.reservations.items()
                       if k[:2] == (account_id, key) and held[0] >= size]
            if not fitting:
                self.items[(bucket, key, version_id)] = {**version, "refused": "no_reservation"}
                return Receipt.REFUSED
            held_size, _, chosen = min(fitting)
            del self.reservations[chosen]
            self.reserved[account_id] -= held_size
            version["granted_to"] = self.granted_to.get(chosen) or None
        self.items[(bucket, key, version_id)] = version
        if account_id:
            self.stored[account_id] = self.stored.get(account_id, 0) + size
        return Receipt.RECORDED

    def accepted(self, bucket: str, key: str, version_id: str) -> bool:
        seen = self.items.get((bucket, key, version_id))
        return seen is not None and not seen.get("refused")

    def uploader(self, bucket: str, key: str, version_id: str) -> str | None:
        return (self.items.get((bucket, key, version_id)) or {}).get("granted_to")

    # StorageLedger ---------------------------------------------------------------------------------------
    def totals(self, account_id: str) -> dict[str, int]:
        stored, reserved = self.stored.get(account_id, 0), self.reserved.get(account_id, 0)
        return {"bytes_stored": stored, "bytes_reserved": reserved, "bytes_committed": stored + reserved}

    def reserve(self, account_id: str, key: str, upload_id: str, size: int, limit: int | None,
                expires_at: int, granted_to: str = "") -> bool:
        if limit is not None and self.totals(account_id)["bytes_committed"] + size > limit:
            return False
        self._order += 1
        self.reservations[(account_id, key, upload_id)] = (size, expires_at, self._order)
        self.granted_to[(account_id, key, upload_id)] = granted_to
        self.reserved[account_id] = self.reserved.get(account_id, 0) + size
        return True

    def holds(self, account_id: str, key: str, upload_id: str) -> bool:
        return (account_id, key, upload_id) in self.reservations

    def revoke(self, account_id: str, granted_to: str, key_prefix: str = "") -> list[str]:
        mine = [(k, held[0]) for k, held in self.reservations.items()
                if k[0] == account_id and k[1].startswith(key_prefix) and self.granted_to.get(k) == granted_to]
        return [k[1] for k, size in mine if self.release(*k, size)]

    def held(self, account_id: str, key: str) -> int:
        return sum(1 for a, k, _ in self.reservations if (a, k) == (account_id, key))

    def extend(self, account_id: str, key: str, upload_id: str, expires_at: int) -> bool:
        held = self.reservations.get((account_id, key, upload_id))
        if held is None:
            return False
        self.reservations[(account_id, key, upload_id)] = (held[0], expires_at, held[2])
        return True

    def release(self, account_id: str, key: str, upload_id: str, size: int) -> bool:
        if self.reservations.pop((account_id, key, upload_id), None) is None:
            return False
        self.reserved[account_id] -= size
        return True

    def release_expired(self, account_id: str, now: int | None = None) -> int:
        now = int(time.time()) if now is None else now
        expired = [(k, held[0]) for k, held in self.reservations.items() if k[0] == account_id and held[1] < now]
        return sum(self.release(*k, size) for k, size in expired)

    def open_until(self, account_id: str) -> int | None:
        ends = [held[1] for k, held in self.reservations.items() if k[0] == account_id]
        return max(ends) if ends else None

    def give_back(self, account_id: str, key: str) -> int:
        for held_key, held in list(self.reservations.items()):
            if held_key[:2] == (account_id, key):
                self.release(*held_key, held[0])
        given = 0
        for (_, item_key, _), version in self.items.items():
            if item_key == key and version["account_id"] == account_id and not version.get("refused") \
                    and not version.get("given_back"):
                version["given_back"] = True
                given += version["size"]
        self.stored[account_id] = self.stored.get(account_id, 0) - given
        return given
