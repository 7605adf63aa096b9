"""Following the event log: live events once each, and what a dropped connection missed read back over REST."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fake_router import FakeRouter
from kalexo_client import Backoff, KalexoApi, follow_events


class RecordedLog(KalexoApi):
    """GET /admin/events as the server would answer it: every event recorded, newest first."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9", "unused")
        self.recorded: list[dict[str, Any]] = []
        self.asked: list[dict[str, Any]] = []

    def events(self, *, limit: int | None = 25, **filters: Any) -> list[dict[str, Any]]:
        self.asked.append(filters)
        since = filters.get("since_ms", 0)
        return sorted((e for e in self.recorded if e["at_ms"] >= since), key=lambda e: -e["at_ms"])[:limit]


START_MS = int(time.time() * 1000)


def event(number: int) -> dict[str, Any]:
    return {"event_id": f"e{number}", "type": "user.created", "at_ms": START_MS + number, "user_id": f"u{number}"}


def test_a_reconnect_reads_back_what_it_missed_and_nothing_twice() -> None:
    async def scenario() -> None:
        router, log = FakeRouter(), RecordedLog()
        url = await router.start()
        subscribed = asyncio.Queue[str]()
        got: list[str] = []
        lost: list[str] = []
        try:
            follower = follow_events(url, "admin", api=log, on_subscribed=subscribed.put_nowait,
                                     on_lost=lost.append, backoff=Backoff(first=0.01, cap=0.05))

            async def follow() -> None:
                async for item in follower:
                    got.append(item["event_id"])
                    if len(got) == 4:
                        return

            task = asyncio.create_task(follow())
            assert await asyncio.wait_for(subscribed.get(), 30) == "acc-test"
            for number in (1, 2):
                log.recorded.append(event(number))
                await router.publish(event(number))
            while len(got) < 2:
                await asyncio.sleep(0.01)  # the follower runs on this loop: let it read
            router.cut_all()
            log.recorded += [event(3), event(4)]  # recorded while nobody listened
            await asyncio.wait_for(task, 30)
            assert got == ["e1", "e2", "e3", "e4"]  # e2 came back from REST too, and was not repeated
            assert len(lost) == 1 and subscribed.qsize() == 1  # told of the drop, then of the new subscription
            assert log.asked[0]["since_ms"] == event(2)["at_ms"]
        finally:
            await router.stop()

    asyncio.run(asyncio.wait_for(scenario(), 60))
