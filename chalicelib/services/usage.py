"""Usage and quotas: what an account used in a month, against what its plan allows (and, for a job's start,
the room left under its monthly pages: `MonthlyPages`).

Storage is shown as the plan counts it: bytes stored plus bytes reserved by uploads granted and not yet
received (their sum is what the quota is checked against); reservations that expired are given back first.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import BadRequest
from chalicelib.services.access import Actor
from chalicelib.services.directory import DirectoryService
from chalicelib.tenancy_ports import MonthlyUsage
from chalicelib.upload_ports import StorageLedger

if TYPE_CHECKING:
    from chalicelib.ports import TenancyReader

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def current_period() -> str:
    return time.strftime("%Y-%m", time.gmtime())


class UsageService:
    def __init__(self, meter: MonthlyUsage, ledger: StorageLedger, directory: DirectoryService) -> None:
        self._meter = meter
        self._ledger = ledger
        self._directory = directory

    def report(self, actor: Actor, account_id: str, period: str | None) -> dict[str, Any]:
        account = self._directory.get_account(actor, account_id)
        period = period or current_period()
        if not _PERIOD.match(period):
            raise BadRequest("period must be a month, YYYY-MM", code="bad_period")
        self._ledger.release_expired(account.account_id)
        return {"account_id": account.account_id, "period": period, "usage": self._meter.read(account_id, period),
                "stored": self._ledger.totals(account_id), "quotas": account.quotas.to_dict(),
                "counts": self._directory.account_counts(actor, account_id)}


class MonthlyPages:
    """The account's monthly page limit (None when unlimited), and the room left under it: pages admitted
    this month, tiled or not, count. The admission itself is what holds the limit under races
    (DocumentRecords.start_job); this answers the document's reason before the job is built."""

    def __init__(self, read_usage: Any, tenancy: TenancyReader) -> None:
        self._read = read_usage
        self._tenancy = tenancy

    def limit(self, account_id: str) -> int | None:
        account = self._tenancy.account(account_id)
        return account.quotas.max_pages_per_month if account else None

    def room(self, account_id: str) -> int | None:
        return self.room_under(account_id, self.limit(account_id))

    def room_under(self, account_id: str, limit: int | None) -> int | None:
        """The room under a `limit` the caller has just read."""
        if limit is None:
            return None
        month = self._read(account_id)
        used = max(int(month.get("pages_admitted", 0)), int(month.get("pages_processed", 0)))
        return max(0, limit - used)
