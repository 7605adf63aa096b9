"""The health report: one entry per component, healthy only when every entry is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ComponentHealth:
    """The health of one component of the stage (a table, queue, bucket or endpoint)."""
    name: str
    kind: str
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    def to_dict(self, detailed: bool = True) -> dict[str, Any]:
        if not detailed:
            return {"kind": self.kind, "ok": self.ok}
        data: dict[str, Any] = {"name": self.name, "kind": self.kind, "ok": self.ok, **self.detail}
        if self.error:
            data["error"] = self.error
        return data


@dataclass(frozen=True)
class HealthReport:
    """Every component's health for one stage."""
    stage: str
    components: tuple[ComponentHealth, ...]

    @property
    def ok(self) -> bool:
        return all(component.ok for component in self.components)

    def to_dict(self, detailed: bool = True) -> dict[str, Any]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for component in self.components:
            grouped.setdefault(component.kind, []).append(component.to_dict(detailed))
        return {"status": "ok" if self.ok else "degraded", "stage": self.stage, "components": grouped}
