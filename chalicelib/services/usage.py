"""Usage and quotas: what an account used in a month, against what its plan allows."""

from __future__ import annotations

import re
import time
from typing import Any

from chalicelib.adapters.dynamo_usage import DynamoUsageMeter, period_of
from chalicelib.domain.errors import BadRequest
from chalicelib.services.access import Actor
from chalicelib.services.directory import DirectoryService

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class UsageService:
    def __init__(self, meter: DynamoUsageMeter, directory: DirectoryService) -> None:
        self._meter = meter
        self._directory = directory

    def report(self, actor: Actor, account_id: str, period: str | None) -> dict[str, Any]:
        account = self._directory.get_account(actor, account_id)
        period = period or period_of(time.time())
        if not _PERIOD.match(period):
            raise BadRequest("period must be a month, YYYY-MM", code="bad_period")
        return {"account_id": account.account_id, "period": period, "usage": self._meter.read(account_id, period),
                "stored": self._meter.totals(account_id), "quotas": account.quotas.to_dict(),
                "counts": self._directory.account_counts(actor, account_id)}
