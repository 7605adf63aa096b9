"""The workspace op log's ports: where ops and snapshots are stored (DynamoDB and S3 in production,
chalicelib/adapters/dynamo_oplog.py and s3_snapshots.py; in-memory twins in tests/fakes.py).

The log's one guarantee lives in `append`: op N is stored only if op N-1 is stored and N is free, in one
atomic write. So the log never has a hole, and no reader sees N+1 without N, whatever fails or stalls.
"""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.domain.ops import Op
from chalicelib.domain.tenancy import WriteGrant


class SeqTaken(Exception):
    """Another writer stored an op at that sequence first (or the write collided with one): catch up, retry.
    `winner` is the op stored there, when the store says (so the writer need not read it again)."""

    def __init__(self, winner: Op | None = None) -> None:
        super().__init__("sequence taken")
        self.winner = winner


class DuplicateOp(Exception):
    """The author's op id was stored before: `seq` is where."""

    def __init__(self, seq: int) -> None:
        super().__init__(f"already stored at {seq}")
        self.seq = seq


class GrantRevoked(Exception):
    """The author's access no longer allows the op (removed, demoted or deleted)."""


class LogDiverged(Exception):
    """The op before the one being written is not in the log: the writer's view is not the log's."""


class AudienceChanged(Exception):
    """Someone joined the workspace since the writer read who is in it: read again, so they get the op too."""


class OpLog(Protocol):
    def append(self, workspace_id: str, op: Op, claim: str | None, grant: WriteGrant | None,
               audience: int | None = None) -> None:
        """Store `op` at `op.seq` if op.seq - 1 is stored, op.seq is free, `claim` (the author's op id; None:
        the op has none, nothing is claimed) was never stored, `grant` still holds, and (when given) the
        workspace's audience version is still `audience`, all in one write. Raises SeqTaken, DuplicateOp,
        GrantRevoked, AudienceChanged or LogDiverged; anything else is a failure of the store."""

    def audience(self, workspace_id: str) -> int:
        """How many times the workspace's connections have changed (joins, leaves, sweeps): a writer that read
        who is in it at version V and stores an op at V has sent it to exactly those in it when it was stored."""

    def note_audience_change(self, workspace_id: str) -> None:
        """A connection was bound to the workspace (after the bind, before it reads the state) or let go of
        (after the unbind)."""

    def after(self, workspace_id: str, after_seq: int, limit: int) -> list[Op]:
        """Ops above `after_seq`, in sequence order, at most `limit`."""

    def get(self, workspace_id: str, seq: int) -> Op | None: ...

    def claimed(self, workspace_id: str, claim: str) -> int | None:
        """The sequence an op id was stored at, if it was."""

    def latest(self, workspace_id: str) -> int: ...

    def snapshot_seq(self, workspace_id: str) -> int:
        """The sequence of the newest snapshot joins start from (0: none)."""

    def mark_snapshot(self, workspace_id: str, seq: int) -> None:
        """Point at a newer snapshot; never back at an older one."""


class Snapshots(Protocol):
    def put(self, workspace_id: str, seq: int, snapshot: dict[str, Any]) -> None: ...

    def get(self, workspace_id: str, seq: int) -> dict[str, Any]: ...

    def at_or_before(self, workspace_id: str, seq: int) -> int:
        """The newest snapshot at or before `seq` (0: none)."""
