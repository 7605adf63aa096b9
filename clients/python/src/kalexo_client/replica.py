"""The local replica of a workspace's shared state: items, `applied` and the ops received past a gap.

Pure and synchronous: the websocket client (client.py) decides what to feed it; this decides what to apply.
The rules are docs/protocol.md's "Items: the rules", applied totally (an update of an absent item changes
nothing, a create replaces), so two replicas fed the same log in any arrival order end with the same items.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from kalexo_client.models import Item, Op

CHAT_KEPT = 500  # recent chat ops kept for display; the log itself stays on the server


class Replica:
    def __init__(self) -> None:
        self.items: dict[str, Item] = {}
        self.applied = 0  # every op up to this sequence is applied, none after it
        self.pending: dict[int, Op] = {}  # received past a gap, by sequence
        self.chat: deque[Op] = deque(maxlen=CHAT_KEPT)
        self.loaded = False  # holds a state (a join's welcome was handled at least once)

    def load_state(self, seq: int, items: Iterable[Mapping[str, Any]]) -> None:
        """Replace everything with a welcome's state (all of its pages) as of `seq`."""
        self.items = {}
        self.chat.clear()  # chat and anything derived from the old log goes with it (a reset)
        for raw in items:
            item = Item.from_wire(raw)
            self.items[item.item_id] = item
        self.applied = seq
        # Whatever waited past a gap belongs to the log before this state (after a reset, to another log): ops
        # after `seq` come again, live or through history.
        self.pending = {}
        self.loaded = True

    def receive(self, op: Op) -> list[Op]:
        """Take one op from anywhere (op, ack, history, welcome); apply every op that is now next in sequence.
        Returns the ops applied, in order (none when `op` was already had, or is past a gap)."""
        if op.seq <= self.applied or op.seq in self.pending:
            return []
        self.pending[op.seq] = op
        done: list[Op] = []
        while (nxt := self.pending.pop(self.applied + 1, None)) is not None:
            self._apply(nxt)
            self.applied = nxt.seq
            done.append(nxt)
        return done

    @property
    def has_gap(self) -> bool:
        """Ops are waiting for earlier ones: ask `history` after `applied`."""
        return bool(self.pending)

    def _apply(self, op: Op) -> None:
        data = op.data
        item_id = data.get("item_id")
        if op.kind == "chat":
            self.chat.append(op)
        elif not isinstance(item_id, str):
            return  # an op kind this client does not know: it changes no item it knows of
        elif op.kind == "item.create":
            fields = {k: v for k, v in dict(data.get("fields") or {}).items() if v is not None}
            self.items[item_id] = Item(item_id, str(data.get("kind", "")), fields, op.seq)
        elif op.kind == "item.update":
            item = self.items.get(item_id)
            if item is None:
                return
            for key, value in dict(data.get("fields") or {}).items():
                if value is None:
                    item.fields.pop(key, None)
                else:
                    item.fields[key] = value
            item.version = op.seq
        elif op.kind == "item.delete":
            self.items.pop(item_id, None)

    def snapshot(self) -> list[dict[str, Any]]:
        """The items as the server's state lists them (in item_id order), to compare with it."""
        return [self.items[key].to_wire() for key in sorted(self.items)]
