"""What the server told a kalexo_client WorkspaceClient, read off its wire tap: for end-to-end tests that check
every intermediate answer against the final log, not only the replica's end state.

Plug a `WireRecord` in as `wire_tap=`; afterwards it lists each fresh join's state (the welcome and its state
pages, joined), each history page and each resume with the sequence it asked after, the size of every message
received, the acks that said `duplicate`, and the ops that arrived live (`op` messages). The client runs the
protocol (docs/protocol.md, "The client algorithm"); this only watches it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from kalexo_client import Op, WorkspaceClient

from chalicelib.domain.ops import Op as ServerOp
from chalicelib.domain.sync import WorkspaceState

State = tuple[int, list[dict[str, Any]]]  # (seq, every item) of one fresh join
Page = tuple[int, list[int]]  # (the sequence asked after, the sequences answered) of a history page or resume


@dataclass
class WireRecord:
    sent: dict[Any, dict[str, Any]] = field(default_factory=dict)  # requests, by their id
    received: list[tuple[dict[str, Any], int, float]] = field(default_factory=list)  # (message, bytes, monotonic)

    def __call__(self, direction: str, text: str) -> None:
        message = json.loads(text)
        if direction == "sent":
            if "id" in message:
                self.sent[message["id"]] = message
        else:
            self.received.append((message, len(text.encode()), time.monotonic()))

    def _request(self, message: dict[str, Any]) -> dict[str, Any]:
        return self.sent.get(message.get("id"), {})

    @property
    def frames(self) -> list[int]:
        return [size for _, size, _ in self.received]

    @property
    def duplicates(self) -> int:
        """Acks that said the op was stored before (a resend, or a write the server retried inside)."""
        return sum(1 for m, _, _ in self.received if m.get("action") == "ack" and m.get("duplicate"))

    @property
    def live(self) -> list[tuple[int, float]]:
        """(seq, monotonic time received) of every op that arrived as an `op` message."""
        return [(m["op"]["seq"], at) for m, _, at in self.received if m.get("action") == "op"]

    def welcomes(self) -> list[dict[str, Any]]:
        return [m for m, _, _ in self.received if m.get("action") == "welcome"]

    def states(self) -> list[State]:
        """Each fresh join's whole state: the welcome's first page and the state pages read for its `seq` (a
        join whose paging a dropped connection cut short is left out: it was never applied)."""
        out: list[State] = []
        current: tuple[int, list[dict[str, Any]]] | None = None
        for message, _, _ in self.received:
            action, more = message.get("action"), None
            if action == "welcome" and "state" in message:
                state = message["state"]
                current, more = (state["seq"], list(state["items"])), state["more"]
            elif action == "state" and current is not None and message.get("seq") == current[0]:
                current[1].extend(message["items"])
                more = message["more"]
            if current is not None and more is False:
                out.append(current)
                current = None
        return out

    def pages(self) -> list[Page]:
        """Every history page and every resume's welcome, each with the sequence its request asked after."""
        out: list[Page] = []
        for message, _, _ in self.received:
            request = self._request(message)
            if message.get("action") == "history" and request.get("action") == "history":
                out.append((request["after"], [o["seq"] for o in message["ops"]]))
            elif message.get("action") == "welcome" and "state" not in message and "since" in request:
                out.append((request["since"], [o["seq"] for o in message["ops"]]))
        return out


def replay(ops: list[Op], upto: int) -> list[dict[str, Any]]:
    """The items after the first `upto` ops of the log, as a welcome lists them (the server's own rules)."""
    state = WorkspaceState()
    for op in ops[:upto]:
        state.apply(ServerOp.from_dict(op.to_wire()))
    return list(state.view()["items"])


async def whole_log(client: WorkspaceClient) -> list[Op]:
    return await client.read_log(0)
