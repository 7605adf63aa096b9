"""The health report: every probe run in parallel, so /health costs one round trip, not the sum of them."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from chalicelib.domain.health import HealthReport
from chalicelib.ports import HealthProbe


class HealthService:
    def __init__(self, stage: str, probes: Sequence[HealthProbe]) -> None:
        self._stage = stage
        self._probes = list(probes)

    def report(self) -> HealthReport:
        with ThreadPoolExecutor(max_workers=min(8, max(1, len(self._probes)))) as pool:
            components = tuple(pool.map(lambda probe: probe.check(), self._probes))
        return HealthReport(stage=self._stage, components=components)
