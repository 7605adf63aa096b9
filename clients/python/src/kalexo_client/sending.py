"""The sending half of the client's receiver (docs/protocol.md, "The client algorithm", step 6): one task per
connection sends the outbox's ops in order, as the outbox paces them, and ops to be sent again wait here.

A mixin of `receive.Receiver`, which owns the state named below; its own module only to keep files short.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from kalexo_client.link import Link
from kalexo_client.outbox import Entry, Outbox

RETRY_IN = re.compile(r"retry in (\d+)\s*ms")


def rate_limit_delay(error: dict[str, Any]) -> float:
    """Seconds to wait before sending a `rate_limited` message again: the error's `retry_after_ms`; from a
    server older than that field, the delay its message text names; failing both, a second."""
    after = error.get("retry_after_ms")
    if isinstance(after, int | float) and not isinstance(after, bool) and 0 <= after <= 60_000:
        return after / 1000
    match = RETRY_IN.search(str(error.get("message", "")))
    return int(match.group(1)) / 1000 if match else 1.0


class Sending:
    _outbox: Outbox
    _link: Link | None
    _sending: bool  # the outbox was sent on this connection: new ops go out at once
    _pump_wake: asyncio.Event  # the outbox changed: the sending task looks again

    def _on_gateway_error(self) -> None:
        """API Gateway could not hand some message to the function: every op sent on this connection and not
        answered is sent again (requests of the link already failed with Retry)."""
        link = self._link
        for entry in self._outbox:
            if link is not None and entry.sent_on == link.number:
                self._resend_later(entry, 0.1)

    async def _pump(self, link: Link) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._pump_wake.clear()
            wake: float | None = None
            if self._sending and self._link is link:
                due = self._outbox.next_due(link.number, loop.time())
                if isinstance(due, Entry):
                    await self._send_entry(link, due)
                    if self._outbox.pace:
                        await asyncio.sleep(self._outbox.pace)
                    continue
                wake = due
            try:
                async with asyncio.timeout_at(wake):
                    await self._pump_wake.wait()
            except TimeoutError:
                pass

    async def _send_entry(self, link: Link, entry: Entry) -> None:
        entry.sent_on = link.number
        await link.send(entry.message)

    def _resend_later(self, entry: Entry, delay: float) -> None:
        entry.retries += 1
        entry.sent_on = None
        entry.not_before = asyncio.get_running_loop().time() + delay
        self._pump_wake.set()
