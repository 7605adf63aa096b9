"""Usage and quotas: what an account used in a month, against what its plan allows.

Storage is shown as the plan counts it: bytes stored plus bytes reserved by uploads granted and not yet
received (their sum is what the quota is checked against); reservations that expired are given back first.
"""

from __future__ import annotations

import re
import time
from typing import Any

from chalicelib.domain.errors import BadRequest
from chalicelib.services.access import Actor
from chalicelib.services.directory import DirectoryService
from chalicelib.tenancy_ports import MonthlyUsage
from chalicelib.upload_ports import StorageLedger

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
