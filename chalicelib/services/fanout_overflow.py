"""Fan-out beyond one invocation: a workspace with more connections than one function should post to (API
Gateway ends a websocket integration after 29 s; a post costs about a millisecond of CPU) is delivered partly by
the function itself and partly by the fan-out queue's consumers, in chunks that run in parallel.

A chunk message carries the management endpoint, the connection ids and the bytes; SQS limits a message to
256 KB and API Gateway a websocket message to 128 KB, so 500 ids (about 10 KB) always fit. Chunks are not
ordered with respect to each other: a recipient that sees a sequence gap asks for the missing range, as it does
after any reconnect.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.observability import logger

if TYPE_CHECKING:
    from chalicelib.ports import TaskQueue
    from chalicelib.services.fanout import Delivery, Fanout

CHUNK = 500


class QueuedFanout:
    """The overflow side of `Fanout`: queues the connections past the inline limit."""

    def __init__(self, tasks: TaskQueue, endpoint: str, chunk: int = CHUNK) -> None:
        self._tasks = tasks
        self._endpoint = endpoint
        self._chunk = chunk

    def queue(self, connection_ids: list[str], data: bytes) -> None:
        payload = base64.b64encode(data).decode()
        self._tasks.send([json.dumps({"v": 1, "endpoint": self._endpoint, "data": payload,
                                      "ids": connection_ids[start:start + self._chunk]})
                          for start in range(0, len(connection_ids), self._chunk)])


class FanoutChunks:
    """The fan-out queue's consumer: delivers one chunk through a fan-out for the chunk's endpoint (which never
    overflows again, so a chunk cannot multiply)."""

    def __init__(self, fanout_for: Callable[[str], Fanout]) -> None:
        self._fanout_for = fanout_for

    def handle(self, body: str) -> Delivery | None:
        try:
            chunk = json.loads(body)
            endpoint, ids, data = str(chunk["endpoint"]), [str(i) for i in chunk["ids"]], chunk["data"]
            payload = base64.b64decode(data, validate=True)
        except (ValueError, KeyError, TypeError) as exc:
            logger.error("not a fan-out chunk; dropped", extra={"error": str(exc)})
            return None
        return self._fanout_for(endpoint).send(ids, payload)
