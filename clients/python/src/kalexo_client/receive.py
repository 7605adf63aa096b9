"""What the client does with each message (docs/protocol.md, "The client algorithm", steps 2 and 4 to 7).

Everything here runs on the event loop's one thread: handlers are plain functions called by the link's reader,
and anything that has to wait (a rejoin, a resend after a delay) is a task of the current connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from kalexo_client.errors import OpRefused, Refused
from kalexo_client.events import EventHub
from kalexo_client.link import Link, Retry
from kalexo_client.models import (
    DOCUMENT_PREFIX,
    DocumentChanged,
    Item,
    Op,
    OpApplied,
    OpRejected,
    PresenceChanged,
    PresenceEntry,
    Progress,
    Synced,
)
from kalexo_client.outbox import Entry, Outbox
from kalexo_client.replica import Replica
from kalexo_client.sending import Sending, rate_limit_delay

log = logging.getLogger("kalexo_client")
RESEND = frozenset({"busy", "internal_error", "access_changed"})  # may or may not be stored: same op_id again
HISTORY_LIMIT = 200
GAP_GRACE = 0.25  # seconds a gap may stay open before history is asked (see _catch_up)


class Receiver(Sending):
    def __init__(self, workspace: str, hub: EventHub, request_timeout: float) -> None:
        self.workspace = workspace
        self.hub = hub
        self.replica = Replica()
        self.role: str | None = None
        self.heartbeat_ms = 18_000
        self.presence: dict[str, PresenceEntry] = {}  # by connection id
        self.connection_id: str | None = None  # this connection's, from the welcome (servers before: None)
        self.failure: BaseException | None = None
        self._request_timeout = request_timeout
        self._outbox = Outbox()
        self._mine: set[str] = set()  # op ids this client made that are not applied yet
        self._link: Link | None = None
        self._synced = False  # the welcome was handled: ops go to the replica (before: to _buffer)
        self._sending = False  # the outbox was sent on this connection: new ops go out at once
        self._buffer: list[Op] = []  # ops received before the welcome was handled
        self._latest_known = 0  # the highest sequence the server said exists
        self._history_wake = asyncio.Event()
        self._link_tasks: set[asyncio.Task[Any]] = set()
        self._presence_wanted: dict[str, Any] | None = None
        self._rejoining = False
        self._pump_wake = asyncio.Event()  # the outbox changed: the sending task looks again

    def _fail(self, error: BaseException) -> None:
        raise NotImplementedError

    @property
    def online(self) -> list[str]:
        """The users with a connection in the workspace, as presence says."""
        return sorted({entry.user for entry in self.presence.values()})

    # Joining (step 2)

    async def _join(self, link: Link, since: int | None) -> None:
        self._synced = self._sending = False
        message: dict[str, Any] = {"action": "join", "workspace": self.workspace}
        if since is not None:
            message["since"] = since
        welcome = await link.request(message, self._request_timeout)
        self.role = str(welcome.get("role", ""))
        self.heartbeat_ms = int(welcome.get("heartbeat_ms") or self.heartbeat_ms)
        self.connection_id = str(welcome["connection"]) if welcome.get("connection") else None
        await self._load_presence(link, welcome)
        fresh, reset = "state" in welcome, bool(welcome.get("reset"))
        if fresh:
            state = welcome["state"]
            seq, items = int(state["seq"]), list(state.get("items") or [])
            while state.get("more"):  # every page is of that same seq, whatever happened since
                state = await link.request({"action": "state", "workspace": self.workspace, "seq": seq,
                                            "after": state.get("next")}, self._request_timeout)
                items.extend(state.get("items") or [])
            self.replica.load_state(seq, items)
            self._latest_known = int(welcome.get("latest_seq", seq))
        else:
            self._latest_known = max(self._latest_known, int(welcome.get("latest_seq", 0)))
        self._synced = True
        for raw in [] if fresh else welcome.get("ops") or []:
            self._take(Op.from_wire(raw))
        buffered, self._buffer = self._buffer, []
        for op in buffered:
            self._take(op)
        self.hub.emit(Synced(self.workspace, self.replica.applied, self.role, fresh, reset))
        self._wake_if_behind()
        # Step 6 after a (re)connect: every op still unanswered, in order, with its op_id: the sending task
        # (_pump) sends them, and every later op, in the order they were made, paced by the outbox.
        self._sending = True
        self._pump_wake.set()
        if self._presence_wanted is not None and self._presence_wanted.get("status") != "active":
            await link.send({"action": "presence", "workspace": self.workspace, **self._presence_wanted})
        self._keep_own_presence()

    def _keep_own_presence(self) -> None:
        """The server does not echo this connection's announcements: its entry takes what was announced."""
        own = self.presence.get(self.connection_id or "")
        if own is not None and self._presence_wanted is not None:
            self.presence[own.connection] = PresenceEntry(own.connection, own.user, dict(self._presence_wanted))

    async def _load_presence(self, link: Link, page: dict[str, Any]) -> None:
        self.presence = {}
        while True:
            for raw in page.get("presence") or []:
                entry = PresenceEntry(str(raw.get("connection")), str(raw.get("user")), dict(raw.get("presence") or {}))
                self.presence[entry.connection] = entry
            if not page.get("presence_more"):
                return
            page = await link.request({"action": "presence.list", "workspace": self.workspace,
                                       "after": page.get("presence_next")}, self._request_timeout)

    async def _rejoin(self, link: Link) -> None:
        """Join again on the same connection, resuming from `applied` (a heartbeat's `not_joined`, or a pong
        behind the replica: the welcome says `reset` if the log really was reset)."""
        if self._rejoining:
            return
        self._rejoining = True
        try:
            await self._join(link, self.replica.applied if self.replica.loaded else None)
        except Refused as exc:
            self._fail(exc)
        except (Retry, TimeoutError):
            link.abort()
        finally:
            self._rejoining = False

    # Ops in (step 4)

    def _take(self, op: Op) -> None:
        self._latest_known = max(self._latest_known, op.seq)
        if not self._synced:
            self._buffer.append(op)
            return
        for applied in self.replica.receive(op):
            mine = applied.op_id is not None and applied.op_id in self._mine
            self._mine.discard(applied.op_id or "")
            self.hub.emit(OpApplied(applied, mine))
            item_id = applied.item_id
            if item_id is not None and item_id.startswith(DOCUMENT_PREFIX):
                item = self.replica.items.get(item_id)  # a copy: the replica's item changes with later ops
                copy = Item(item.item_id, item.kind, dict(item.fields), item.version) if item else None
                self.hub.emit(DocumentChanged(item_id[len(DOCUMENT_PREFIX):], copy, applied))
        self._wake_if_behind()
        self.hub.changed()

    def _wake_if_behind(self) -> None:
        if self.replica.has_gap or self._latest_known > self.replica.applied:
            self._history_wake.set()

    def _behind(self) -> bool:
        return self.replica.has_gap or self._latest_known > self.replica.applied

    async def _catch_up(self, link: Link) -> None:
        """Step 5: one history request at a time, after `applied`, until the gap is filled; but only once the
        gap has stayed open for GAP_GRACE. Ops that several function instances post in parallel reach clients
        out of order, and such a gap closes by itself within milliseconds. Asking at once, 50 clients at 10
        ops a second sent 135 history requests in 20 s, which held the function instances the writes needed:
        the first receipt's p50 went from 0.1 s to 13 s (`bench.router_load --fanout`; none are sent with
        the grace)."""
        while True:
            await self._history_wake.wait()
            self._history_wake.clear()
            try:
                await self.hub.wait_for(lambda: not self._behind(), GAP_GRACE)
                continue  # closed by itself
            except TimeoutError:
                pass
            while self._synced and self._behind():
                after = self.replica.applied
                try:
                    page = await link.request({"action": "history", "workspace": self.workspace, "after": after,
                                               "limit": HISTORY_LIMIT}, self._request_timeout)
                except (Retry, TimeoutError):
                    await asyncio.sleep(0.25)
                    continue
                except Refused as exc:
                    log.warning("history refused: %s", exc)
                    break
                for raw in page.get("ops") or []:
                    self._take(Op.from_wire(raw))
                if isinstance(page.get("latest_seq"), int):
                    self._latest_known = int(page["latest_seq"])
                if self.replica.applied == after:
                    break  # nothing to apply after all: wait for the next reason to ask

    # Messages (everything that is not the answer to a request of the link's)

    def _on_message(self, message: dict[str, Any]) -> None:
        action = message.get("action")
        if action is None:
            self._on_gateway_error()
        elif action == "op" and message.get("workspace") == self.workspace:
            self._take(Op.from_wire(message["op"]))
            if message.get("progress") is not None:  # a document's change of status rides on its op
                self._on_progress(message)
        elif action == "ack":
            self._on_ack(message)
        elif action == "error":
            self._on_error(message)
        elif action == "pong":
            self._on_pong(message)
        elif action == "presence" and message.get("workspace") == self.workspace:
            self._on_presence(message)
        elif action == "progress" and message.get("workspace") == self.workspace:
            self._on_progress(message)

    def _on_progress(self, message: dict[str, Any]) -> None:
        detail = dict(message.get("progress") or {})
        self.hub.emit(Progress(str(message.get("subject")), str(detail.get("status", "")),
                               bool(message.get("final")), detail))

    def _on_ack(self, message: dict[str, Any]) -> None:
        op = Op.from_wire(message["op"])
        op_id = message.get("id") if message.get("id") in self._outbox else op.op_id
        self._take(op)
        if isinstance(op_id, str):
            self._outbox.resolve(op_id, op)
            self._pump_wake.set()  # one fewer in flight

    def _on_error(self, message: dict[str, Any]) -> None:
        error = message.get("error") or {}
        code, text, ident = str(error.get("code", "")), str(error.get("message", "")), message.get("id")
        entry = self._outbox.get(ident)
        if entry is not None:
            if code == "rate_limited":
                self._outbox.rate_limited(entry, asyncio.get_running_loop().time(), rate_limit_delay(error))
                self._pump_wake.set()
                return
            self._on_op_error(entry, code, text)
        elif isinstance(ident, str) and ident.startswith("hb-") and self._link is not None:
            if code == "not_joined":  # a sweep took this connection out, or it never got in: join again
                self._spawn(self._rejoin(self._link))
            elif code == "not_found":
                self._fail(Refused(code, text))  # removed from the workspace
        elif code == "not_authenticated":
            self._fail(Refused(code, text))
        else:
            log.warning("the server answered %s: %s", code, text)

    def _on_op_error(self, entry: Entry, code: str, text: str) -> None:
        if code in RESEND:
            self._resend_later(entry, min(4.0, 0.1 * 2 ** min(entry.retries, 6)))
        elif code == "not_connected" and self._link is not None:
            entry.sent_on = None
            self._link.abort()
        elif code == "not_authenticated":
            self._fail(Refused(code, text))
        else:  # refused against the state as it is now (or malformed): not stored, dropped
            self._mine.discard(entry.op_id)
            self._outbox.reject(entry.op_id, OpRefused(code, text, entry.op_id))
            self._pump_wake.set()
            self.hub.emit(OpRejected(entry.op_id, entry.action, code, text))

    def _on_pong(self, message: dict[str, Any]) -> None:
        latest = message.get("latest_seq")
        if not isinstance(latest, int) or self._link is None or not self._synced:
            return
        if latest < self.replica.applied:
            # The log was reset, or the pong was read before ops that reached us first: a resume tells which.
            self._spawn(self._rejoin(self._link))
        elif latest > self._latest_known:
            self._latest_known = latest
            self._wake_if_behind()

    def _on_presence(self, message: dict[str, Any]) -> None:
        entry = PresenceEntry(str(message.get("connection")), str(message.get("user")),
                              dict(message.get("presence") or {}))
        if entry.presence.get("status") == "offline":
            self.presence.pop(entry.connection, None)
        else:
            self.presence[entry.connection] = entry
        self.hub.emit(PresenceChanged(entry.connection, entry.user, entry.presence))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._link_tasks.add(task)
        task.add_done_callback(self._link_tasks.discard)
