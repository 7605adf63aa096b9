"""A client of the router that follows docs/protocol.md's client algorithm, for the end-to-end tests: replica
(items, applied), pending ops, an outbox with op ids sent again after errors and drops, state pages, history
for gaps. It records every welcome, state page and history page it is given, so tests can check each one.

Synchronous (websockets.sync): one thread per client."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from chalicelib.domain.ops import Op
from chalicelib.domain.sync import WorkspaceState

RETRY = {"rate_limited", "busy", "internal_error", "access_changed"}
REFUSED = {"item_exists", "item_not_found", "item_too_large", "op_too_large", "bad_op", "forbidden", "role_too_low",
           "not_found", "workspace_full"}


@dataclass
class Seen:
    """What the server answered, as received: each for a later check against the final log."""

    states: list[tuple[int, list[dict[str, Any]]]] = field(default_factory=list)  # (seq, all items) per welcome
    pages: list[tuple[int, list[int]]] = field(default_factory=list)  # (after, seqs) per history page or resume
    frames: list[int] = field(default_factory=list)  # byte size of every message received


class SyncClient:
    def __init__(self, ws_url: str, token: str, workspace: str) -> None:
        self.url, self.token, self.workspace = ws_url, token, workspace
        self.state = WorkspaceState()
        self.joined = False  # a replica exists (applied is meaningful)
        self.pending: dict[int, Op] = {}
        self.seen = Seen()
        self.acked: dict[str, int] = {}  # op id -> seq
        self.refused: dict[str, str] = {}  # op id -> error code
        self.duplicates = 0  # acks that said the op was stored before (a resend, or a write retried inside)
        self.ws: ClientConnection | None = None
        self.heartbeat_ms = 18_000
        self.last_beat = 0.0
        self.live: list[tuple[int, float]] = []  # (seq, monotonic time) of every op that arrived as `op`
        self.presence_seen: list[dict[str, Any]] = []

    # -- connection --------------------------------------------------------------------------------------
    def connect(self, attempts: int = 40) -> dict[str, Any]:
        for attempt in range(attempts):
            try:
                self.ws = connect(f"{self.url}/?token={self.token}", max_size=None, open_timeout=30).__enter__()
                return self.join()
            except (ConnectionClosed, OSError, TimeoutError):
                time.sleep(min(2.0, 0.1 * 2**attempt))
        raise AssertionError("could not connect and join")

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None

    def resume(self) -> None:
        """Reconnect if needed, and catch up to the log's end."""
        for _ in range(20):
            try:
                if self.ws is None:
                    self.connect()
                self.catch_up()
                return
            except ConnectionClosed:
                self.close()
        raise AssertionError("could not resume")

    def join(self) -> dict[str, Any]:
        message: dict[str, Any] = {"action": "join", "workspace": self.workspace}
        if self.joined:
            message["since"] = self.state.seq
        welcome = self.read(message)
        assert welcome["action"] == "welcome", welcome
        self.heartbeat_ms = welcome["heartbeat_ms"]
        if "state" in welcome:
            items, page = list(welcome["state"]["items"]), welcome["state"]
            while page["more"]:
                page = self.read({"action": "state", "workspace": self.workspace, "seq": welcome["state"]["seq"],
                                  "after": page["next"]})
                assert page["action"] == "state" and page["seq"] == welcome["state"]["seq"], page
                items += page["items"]
            self.seen.states.append((welcome["state"]["seq"], items))
            self.state = WorkspaceState.from_snapshot({"v": 2, "seq": welcome["state"]["seq"], "items": {
                i["item_id"]: {"kind": i["kind"], "fields": i["fields"], "created_seq": i["version"],
                               "version": i["version"]} for i in items}})
            self.pending = {s: o for s, o in self.pending.items() if s > self.state.seq}
            self.joined = True
        else:
            self.seen.pages.append((message["since"], [o["seq"] for o in welcome["ops"]]))
            self.receive(welcome["ops"])
            if welcome["more"]:
                self.catch_up()
        self.receive([])
        return welcome

    # -- messages ----------------------------------------------------------------------------------------
    def request(self, message: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        """Send and wait for the reply with this id; ops and others meanwhile go to the replica."""
        assert self.ws is not None
        message = {**message, "id": message.get("id") or uuid.uuid4().hex[:10]}
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            raw = self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            self.seen.frames.append(len(raw.encode() if isinstance(raw, str) else raw))
            reply = json.loads(raw)
            if reply.get("id") == message["id"]:
                return reply
            if reply.get("message") == "Internal server error":  # API Gateway's answer for a failed function
                return {"action": "error", "error": {"code": "internal_error", "message": "gateway"}}
            self.handle(reply)

    def read(self, message: dict[str, Any]) -> dict[str, Any]:
        """A request that changes nothing, asked again while the answer says to (a function instance killed
        under it, a busy moment)."""
        for _ in range(30):
            reply = self.request(message)
            if reply.get("action") != "error" or reply["error"]["code"] not in RETRY:
                return reply
            time.sleep(0.2)
        raise AssertionError(f"no answer to {message}: {reply}")

    def handle(self, message: dict[str, Any]) -> None:
        if message.get("action") == "op":
            self.live.append((message["op"]["seq"], time.monotonic()))
            self.receive([message["op"]])
        elif message.get("action") == "presence":
            self.presence_seen.append(message)

    def poll(self, seconds: float) -> None:
        """Receive whatever arrives for a while (and heartbeat on time)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                if self.ws is None:
                    self.connect()  # a resume from where it was
                self.beat_if_due()
                raw = self.ws.recv(timeout=min(left, 0.2))
            except TimeoutError:
                continue
            except ConnectionClosed:  # the gateway ends connections (2 h on AWS, seconds in the test stack)
                self.close()
                continue
            self.seen.frames.append(len(raw.encode() if isinstance(raw, str) else raw))
            self.handle(json.loads(raw))

    def beat_if_due(self) -> None:
        if time.monotonic() - self.last_beat >= self.heartbeat_ms / 1000:
            self.last_beat = time.monotonic()
            pong = self.read({"action": "ping", "workspace": self.workspace})
            assert pong["action"] == "pong", pong
            if pong["latest_seq"] > self.state.seq:
                self.catch_up()

    # -- ops, in sequence order --------------------------------------------------------------------------
    def receive(self, ops: list[dict[str, Any]]) -> None:
        for raw in ops:
            if raw["seq"] > self.state.seq:
                self.pending[raw["seq"]] = Op.from_dict(raw)
        if not self.joined:
            return
        while self.state.seq + 1 in self.pending:
            self.state.apply(self.pending.pop(self.state.seq + 1))

    def catch_up(self) -> None:
        while True:
            after = self.state.seq
            page = self.read({"action": "history", "workspace": self.workspace, "after": after, "limit": 200})
            assert page["action"] == "history", page
            self.seen.pages.append((after, [o["seq"] for o in page["ops"]]))
            self.receive(page["ops"])
            if not page["more"] and self.state.seq >= page["latest_seq"]:
                return

    # -- writing -----------------------------------------------------------------------------------------
    def write(self, message: dict[str, Any], op_id: str | None = None, attempts: int = 30) -> dict[str, Any]:
        """Send an op until it is acknowledged or refused, with the same op id each time (reconnecting if the
        connection drops); the final answer."""
        op_id = op_id or uuid.uuid4().hex[:16]
        reply: dict[str, Any] = {}
        for _ in range(attempts):
            try:
                if self.ws is None:
                    self.connect()
                reply = self.request({**message, "workspace": self.workspace, "op_id": op_id})
            except (ConnectionClosed, TimeoutError):
                self.close()
                continue
            if reply["action"] == "ack":
                self.acked[op_id] = reply["seq"]
                self.duplicates += bool(reply.get("duplicate"))
                self.receive([reply["op"]])
                return reply
            code = reply["error"]["code"]
            if code in REFUSED:
                self.refused[op_id] = code
                return reply
            assert code in RETRY, reply
            time.sleep(0.2)
        raise AssertionError(f"op {op_id} never answered: {reply}")


def replay(ops: list[dict[str, Any]], upto: int) -> list[dict[str, Any]]:
    """The items after the first `upto` ops of the log, as a welcome lists them."""
    state = WorkspaceState()
    for raw in ops[:upto]:
        state.apply(Op.from_dict(raw))
    return state.view()["items"]


def whole_log(client: SyncClient) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = []
    while True:
        page = client.read({"action": "history", "workspace": client.workspace, "after": len(ops), "limit": 200})
        ops += page["ops"]
        if not page["more"]:
            return ops
