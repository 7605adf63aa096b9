"""The health report: every probe run in parallel, so /health costs one round trip, not the sum of them."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from chalicelib.domain.health import HealthReport

if TYPE_CHECKING:
    from chalicelib.ports import HealthProbe


class HealthService:
    """Probes run at most once per `max_age_s` per function: /health is public, and a flood of requests
    must not become a flood of AWS calls."""

    def __init__(self, stage: str, probes: Sequence[HealthProbe], max_age_s: float = 5.0) -> None:
        self._stage = stage
        self._probes = list(probes)
        self._max_age = max_age_s
        self._last: tuple[float, HealthReport] | None = None
        self._lock = threading.Lock()

    def report(self) -> HealthReport:
        with self._lock:
            if self._last and time.monotonic() - self._last[0] < self._max_age:
                return self._last[1]
            with ThreadPoolExecutor(max_workers=min(8, max(1, len(self._probes)))) as pool:
                components = tuple(pool.map(lambda probe: probe.check(), self._probes))
            report = HealthReport(stage=self._stage, components=components)
            self._last = (time.monotonic(), report)
            return report
