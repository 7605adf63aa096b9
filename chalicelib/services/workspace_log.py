"""The op log as the services use it: append an op after checking it against the exact state it follows, read
ops, and know a workspace's state now or at any earlier sequence.

Appending is optimistic: catch up with the log, check the op against that state, and store it at the next
sequence only if nobody else took it meanwhile (log_ports.OpLog.append). A writer that loses the race catches
up and tries again, so every stored op was valid where it stands, and concurrent writers never wait on a lock.

Each function instance keeps the latest state of the workspaces it served (bounded), so a warm instance
catches up with one query that usually returns nothing, and a join needs no replay.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.domain import ops as op_rules
from chalicelib.domain.ops import Op, OpError
from chalicelib.domain.sync import WorkspaceState, attributed
from chalicelib.domain.tenancy import WriteGrant
from chalicelib.log_ports import DuplicateOp, GrantRevoked, LogDiverged, OpLog, SeqTaken, Snapshots
from chalicelib.observability import logger

SNAPSHOT_EVERY = 200  # ops between snapshots: catching up from one replays fewer than this
CATCH_UP_PAGE = 500
MAX_ATTEMPTS = 200  # lost races before a writer gives up with `busy` (each lost race means another op stored)
CONTENDED_S = 1.0  # after a lost race, this instance reads the log before every write for this long
# How long a state this instance wrote last is taken as current without reading the log. Past it, another
# instance has likely written (a worker's previous document, a member's message minutes ago): a write from a
# stale state is a cancelled transaction (4 to 10 write units, billed), a read first one read unit.
TRUSTED_S = 2.0
BACKOFF_S = 0.003  # about one write's round trip (jitter, not a growing backoff: that starves the losers)

Make = Callable[[WorkspaceState], dict[str, Any] | None]


@dataclass(frozen=True)
class _Write:
    """One op being written: what to make it from, and what its store must check."""

    workspace_id: str
    kind: str
    by: str
    make: Make
    op_id: str | None
    grant: WriteGrant | None
    audience: int | None
    claim: str | None  # the author's op id, claimed with the op; None without one
    restoring: bool = False  # items written back as they were, their authors included (domain/sync.attributed)


@dataclass(frozen=True)
class Appended:
    """An op appended to the log, or the one stored before when it was a duplicate."""
    op: Op
    duplicate: bool  # the op id was stored before: `op` is the original


class WorkspaceLog:
    def __init__(self, oplog: OpLog, snapshots: Snapshots, max_workspaces: int = 32,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._oplog = oplog
        self._clock = clock
        self._snapshots = snapshots
        self._max = max_workspaces
        self._states: OrderedDict[str, WorkspaceState] = OrderedDict()
        self._past: OrderedDict[tuple[str, int], WorkspaceState] = OrderedDict()  # for paged state reads
        self._last_written: dict[str, tuple[int, float]] = {}  # workspace -> (last seq this instance stored, when)
        self._lost_at: dict[str, float] = {}  # workspace -> when this instance last lost a race there
        # One instance runs one invocation at a time on Lambda; the local REST server runs requests in threads.
        self._locks = [threading.Lock() for _ in range(16)]

    # -- writing -------------------------------------------------------------------------------------------
    def append(self, workspace_id: str, kind: str, by: str, data: dict[str, Any], op_id: str | None = None,
               grant: WriteGrant | None = None, audience: int | None = None, restoring: bool = False) -> Appended:
        """Store the op as the log's next; OpError when it is refused (by the state, the grant, or a busy log),
        AudienceChanged when `audience` (the version of who is in the workspace the caller will send it to) is
        not the workspace's any more. `restoring`: an owner's restore, which puts items back as they were (a
        note's author is its author's, not the restorer's)."""
        appended = self.append_if(workspace_id, kind, by, lambda _: data, op_id, grant, audience, restoring)
        assert appended is not None
        return appended

    def append_if(self, workspace_id: str, kind: str, by: str, make: Make, op_id: str | None = None,
                  grant: WriteGrant | None = None, audience: int | None = None,
                  restoring: bool = False) -> Appended | None:
        """Like append, with the op's data made from the state it will follow (a document's placement is), or
        nothing appended when `make` returns None (the change is there already)."""
        # Only an op id is claimed (a retried request is recognised). An op without one (the system's, made from
        # the state by `make`, so a redelivery appends nothing) has nothing a claim could recognise: no claim item.
        write = _Write(workspace_id, kind, by, make, op_id, grant, audience, f"{by}#{op_id}" if op_id else None,
                       restoring)
        with self._lock(workspace_id):
            # When this instance wrote the last op it knows of, moments ago (one person typing), its state is
            # tried as it is, without reading the log first: if an op was stored since, the write fails (the
            # sequence is taken) and names that op, which is applied and the write tried again; if it succeeds,
            # nothing was stored since, so the check below was against the exact state the op follows. Otherwise
            # it catches up first: one read brings every op the others stored. An op is refused, or found to have
            # nothing to do, only by a state read from the log for this op (a state kept from before may lack
            # what it refers to).
            state = self._states.get(workspace_id)
            now = self._clock()
            contended = now - self._lost_at.get(workspace_id, -60.0) < CONTENDED_S
            seq, at = self._last_written.get(workspace_id, (-1, -60.0))
            if state is not None and (contended or seq != state.seq or now - at >= TRUSTED_S):
                state = None  # while writers race, a winner must not keep the edge of a state it need not read
            behind, fresh = 0, False
            for attempt in range(MAX_ATTEMPTS):
                if state is None or behind >= 2:
                    state, behind, fresh = self._catch_up(workspace_id), 0, True
                try:
                    op = self._next_op(state, write)
                except OpError:
                    if fresh:
                        raise
                    state = None  # refused by a state that may be behind the log: read it, then decide
                    continue
                if op is None and not fresh:
                    state = None  # "nothing to do" by a kept state may be a change stored since: read, then decide
                    continue
                if not isinstance(op, Op):
                    return op  # nothing to do, or the op id's original
                try:
                    self._oplog.append(workspace_id, op, write.claim, grant, audience)
                except DuplicateOp as duplicate:
                    return self._duplicate(workspace_id, duplicate.seq)
                except GrantRevoked as exc:
                    raise OpError("access_changed", "your access to this workspace changed") from exc
                except SeqTaken as lost:
                    behind, fresh = behind + 1, False
                    self._lost_at[workspace_id] = self._clock()
                    state = self._lost(state, lost, attempt)
                    continue
                except LogDiverged:
                    logger.warning("the op log is behind this instance's view; reloading",
                                   extra={"workspace_id": workspace_id, "seq": op.seq})
                    self._states.pop(workspace_id, None)
                    state = None
                    continue
                self._stored(workspace_id, state, op)
                return Appended(op, duplicate=False)
        raise OpError("busy", "the workspace is too busy to take this op now; send it again (same op_id)")

    def _next_op(self, state: WorkspaceState, write: _Write) -> Op | Appended | None:
        """The op to store after `state`; None when there is nothing to do; the original when the state refuses
        it but its op id was stored already (a resend whose original changed the state)."""
        try:
            data = write.make(state)
            if data is None:
                return None
            shaped = op_rules.shape(write.kind, data)
            if_version = shaped.pop(op_rules.IF_VERSION, None)  # a condition of this write, not part of the op
            if not write.restoring:
                shaped = attributed(write.kind, shaped, write.by)
            state.check(write.kind, shaped, write.by, if_version)
        except OpError:
            found = self._oplog.claimed(write.workspace_id, write.claim) if write.claim else None
            if found is None:
                raise
            return self._duplicate(write.workspace_id, found)
        return Op(state.seq + 1, write.kind, write.by, int(time.time() * 1000), shaped, write.op_id)

    @staticmethod
    def _lost(state: WorkspaceState, lost: SeqTaken, attempt: int) -> WorkspaceState | None:
        """After a lost race: the state with the winning op applied, or None to catch up. The first loss is
        retried at once (the state is current again); after that the writer reads every op it missed in one
        query, and steps back a random moment so that writers that lost together do not all collide at the
        next sequence again."""
        if attempt >= 1:
            time.sleep(random.uniform(0, BACKOFF_S))  # noqa: S311 (jitter)
        if lost.winner is not None and lost.winner.seq == state.seq + 1:
            state.apply(lost.winner)  # the op that won this sequence: no need to read it again
            return state
        return None

    def _stored(self, workspace_id: str, state: WorkspaceState, op: Op) -> None:
        state.apply(op)
        self._last_written[workspace_id] = (op.seq, self._clock())
        if op.seq % SNAPSHOT_EVERY == 0:
            self._snapshots.put(workspace_id, op.seq, state.to_snapshot())
            self._oplog.mark_snapshot(workspace_id, op.seq)

    def _duplicate(self, workspace_id: str, seq: int) -> Appended:
        original = self._oplog.get(workspace_id, seq)
        if original is None:  # the claim is written with its op: one without the other is not possible
            raise RuntimeError(f"op id claimed at {seq} but no op there in {workspace_id}")
        return Appended(original, duplicate=True)

    # -- reading -------------------------------------------------------------------------------------------
    def page_of_state(self, workspace_id: str, seq: int | None, after_item: str | None,
                      budget_bytes: int) -> tuple[int, list[dict[str, Any]], str | None]:
        """One page of the workspace's items as of `seq` (None: now): (seq, items, next item id or None)."""
        with self._lock(workspace_id):
            state = self._catch_up(workspace_id)
            if seq is not None and seq != state.seq:
                state = self._past_state(workspace_id, seq)
            items, next_item = state.page(after_item, budget_bytes)
            return state.seq, items, next_item

    def current(self, workspace_id: str) -> WorkspaceState:
        """The state now, as a copy the caller may keep."""
        with self._lock(workspace_id):
            return WorkspaceState.from_snapshot(self._catch_up(workspace_id).to_snapshot())

    def latest(self, workspace_id: str) -> int:
        return self._oplog.latest(workspace_id)

    def audience(self, workspace_id: str) -> int:
        return self._oplog.audience(workspace_id)

    def note_audience_change(self, workspace_id: str) -> None:
        self._oplog.note_audience_change(workspace_id)

    def after(self, workspace_id: str, after_seq: int, limit: int) -> list[Op]:
        return self._oplog.after(workspace_id, after_seq, limit)

    def at(self, workspace_id: str, seq: int) -> WorkspaceState:
        """The workspace as it was after op `seq`: the newest snapshot at or before it, plus the log."""
        start = self._snapshots.at_or_before(workspace_id, seq)
        state = WorkspaceState.from_snapshot(self._snapshots.get(workspace_id, start)) if start else WorkspaceState()
        return self._replay(workspace_id, state, until=seq)

    # -- the instance's states -----------------------------------------------------------------------------
    def _lock(self, workspace_id: str) -> threading.Lock:
        return self._locks[hash(workspace_id) % len(self._locks)]

    def _catch_up(self, workspace_id: str) -> WorkspaceState:
        state = self._states.get(workspace_id)
        if state is None:
            snapshot = self._oplog.snapshot_seq(workspace_id)
            state = WorkspaceState.from_snapshot(self._snapshots.get(workspace_id, snapshot)) if snapshot \
                else WorkspaceState()
        state = self._replay(workspace_id, state, until=None)
        self._states[workspace_id] = state
        self._states.move_to_end(workspace_id)
        while len(self._states) > self._max:
            evicted, _ = self._states.popitem(last=False)
            self._last_written.pop(evicted, None)
            self._lost_at.pop(evicted, None)
        return state

    def _replay(self, workspace_id: str, state: WorkspaceState, until: int | None) -> WorkspaceState:
        while until is None or state.seq < until:
            ops = self._oplog.after(workspace_id, state.seq, CATCH_UP_PAGE)
            for op in ops:
                if until is not None and op.seq > until:
                    return state
                state.apply(op)
            if len(ops) < CATCH_UP_PAGE:
                break
            newer = self._oplog.snapshot_seq(workspace_id) if until is None else 0
            if newer > state.seq + SNAPSHOT_EVERY:  # far behind: start again from the newest snapshot
                state = WorkspaceState.from_snapshot(self._snapshots.get(workspace_id, newer))
        return state

    def _past_state(self, workspace_id: str, seq: int) -> WorkspaceState:
        key = (workspace_id, seq)
        state = self._past.get(key)
        if state is None:
            state = self._past[key] = self.at(workspace_id, seq)
            while len(self._past) > 4:
                self._past.popitem(last=False)
        return state
