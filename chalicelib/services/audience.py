"""Who is in each workspace, as this function instance last read it: the list an op is sent to.

Reading the workspace's connections for every op was half of the emulator's work per op, and a list kept for a
while would miss a member who has just joined. So each list is read together with the workspace's audience
version (the count of changes to who is in it, log_ports.OpLog.audience), and the op is stored only if that
version still holds, in the same write (AudienceChanged otherwise: read again, store again). A join (or a
connect that names the workspace, or a connection put back after a sweep) binds the connection first and
counts itself second, so a list read at version V includes everyone counted in V, and anyone counted after
makes a write at V fail. Every op stored after a join is therefore sent to the joiner; every op before it is
in the joiner's state. A `leave` and a sweep unbind first and count second too, so no op stored after them is
sent to the connections they let go of (one stored before may still be on its way). A disconnect is not
counted: a connection that is gone answers 410, and the list read after `max_age_s` leaves it out.

The list is read consistently (adapters/dynamo_connections.py keeps a workspace's connections in the table
itself, not only in an index that may lag the write that bound one). One limit, healed by the protocol's own
catch-up (a client compares each pong's `latest_seq` with what it holds): a count that fails after every retry
(dynamo_audience.py) leaves warm instances sending to a connection that left, or not to one that came, until
their list's age runs out.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.services.workspace_log import WorkspaceLog

if TYPE_CHECKING:
    from chalicelib.ports import ConnectionStore


@dataclass(frozen=True)
class Audience:
    """A workspace's connections as last read, the version they were read at, when, and for how long."""
    version: int
    connections: list[str]
    read_at: float
    keep_s: float


class Audiences:
    def __init__(self, log: WorkspaceLog, connections: ConnectionStore, max_age_s: float = 30.0,
                 max_workspaces: int = 256) -> None:
        self._log = log
        self._connections = connections
        self._max_age = max_age_s
        self._max = max_workspaces
        self._known: OrderedDict[str, Audience] = OrderedDict()

    def of(self, workspace_id: str) -> Audience:
        known = self._known.get(workspace_id)
        if known is None or time.monotonic() - known.read_at > known.keep_s:
            version = self._log.audience(workspace_id)  # first: the list read after it holds everyone counted
            known = Audience(version, self._connections.in_workspace(workspace_id), time.monotonic(), self._max_age)
            self._known[workspace_id] = known
            while len(self._known) > self._max:
                self._known.popitem(last=False)
        self._known.move_to_end(workspace_id)
        return known

    def forget(self, workspace_id: str) -> None:
        """Read the list again at the next op (its version is kept, to tell a change from a re-read)."""
        known = self._known.get(workspace_id)
        if known is not None:
            self._known[workspace_id] = Audience(known.version, known.connections, known.read_at, -1.0)
