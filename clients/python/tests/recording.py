"""What a client told its listener, in order: the one recorder the algorithm and end-to-end tests share."""

from __future__ import annotations

from kalexo_client import Event, Op, OpApplied, Synced


class Recorder:
    """A listener (`on_event`) that keeps every event, and the ops applied among them."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def ops(self) -> list[Op]:
        return [e.op for e in self.events if isinstance(e, OpApplied)]

    def seqs(self) -> list[int]:
        return [op.seq for op in self.ops()]

    def synced(self) -> list[Synced]:
        return [e for e in self.events if isinstance(e, Synced)]
