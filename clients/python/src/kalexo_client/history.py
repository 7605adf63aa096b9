"""Reading the workspace's op log itself (`history`), page by page, beside the replica that the log feeds.

The replica is the workspace as of `applied`; some callers need the log: an audit, a replay, a test that checks
every answer against it. These requests go on the client's current connection (waiting for one) and never
change the replica, which follows the log through the client algorithm only.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from kalexo_client.errors import Refused
from kalexo_client.link import Retry
from kalexo_client.models import Op
from kalexo_client.receive import Receiver

PAGE_LIMIT = 200  # the server cuts pages by size too (under the gateway's message limit)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """The ops after `after`, contiguous from `after + 1`; `more` when the log goes on past them."""

    after: int
    ops: list[Op]
    more: bool
    latest_seq: int


class LogReader(Receiver):
    async def history(self, after: int = 0, limit: int = PAGE_LIMIT, *, timeout: float | None = 60.0) -> HistoryPage:
        """One page of the log after sequence `after`. Asked again, on this or the next connection, while the
        answer is a transient one (`busy`, a dropped connection); raises Refused when refused, TimeoutError
        after `timeout`."""
        async with asyncio.timeout(timeout):
            while True:
                await self.hub.wait_for(lambda: self.failure is not None or (
                    self._link is not None and self._sending), None)
                link = self._link
                if self.failure is not None or link is None:
                    raise self.failure or Refused("closed", "the client stopped")
                try:
                    page = await link.request({"action": "history", "workspace": self.workspace, "after": after,
                                               "limit": limit}, self._request_timeout)
                except (Retry, TimeoutError):
                    await asyncio.sleep(0.25)  # the connection is being replaced, or the server was busy
                    continue
                ops = [Op.from_wire(raw) for raw in page.get("ops") or []]
                return HistoryPage(after, ops, bool(page.get("more")), int(page.get("latest_seq", after + len(ops))))

    async def read_log(self, after: int = 0, *, timeout: float | None = 120.0) -> list[Op]:
        """Every op after `after` up to the log's end as of the last page read, in sequence order."""
        ops: list[Op] = []
        async with asyncio.timeout(timeout):
            while True:
                page = await self.history(after + len(ops), timeout=None)
                ops.extend(page.ops)
                if not page.more:
                    return ops
