"""Progress pushed to a workspace's members from outside websocket handlers: SQS workers (ingest, tiling)
configure it from settings (KALEXO_WEBSOCKET_ENDPOINT), never from an incoming event.

Updates for one subject (a document) in one state are coalesced to at most one per `min_interval_s` in this
function instance; a change of state (`progress["status"]`: analysing, tiling, ...), a report marked as one
(`change`) and the ones marked final always go out, and a report marked `change` does not hold back the update
after it (the first page's, just after the `tiling` report that starts the job).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from chalicelib.domain.documents import PROGRESS_EVERY_MS
from chalicelib.domain.envelopes import server_message
from chalicelib.services.fanout import Delivery, Fanout

if TYPE_CHECKING:
    from chalicelib.ports import ConnectionStore


class ProgressPublisher:
    def __init__(self, fanout: Fanout, connections: ConnectionStore,
                 min_interval_s: float = PROGRESS_EVERY_MS / 1000) -> None:
        self._fanout = fanout
        self._connections = connections
        self._min_interval = min_interval_s
        self._last: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def publish(self, workspace_id: str, subject: str, progress: dict[str, Any],
                final: bool = False, change: bool = False) -> Delivery | None:
        """Send `{"action": "progress", "workspace", "subject", "progress", "final"}`; None when coalesced."""
        if not self.due(workspace_id, subject, progress, final, change):
            return None
        return self.send(workspace_id, subject, progress, final)

    def send(self, workspace_id: str, subject: str, progress: dict[str, Any], final: bool = False) -> Delivery:
        """Send it whatever was sent before: for a report `due` allowed."""
        message = server_message("progress", workspace=workspace_id, subject=subject, progress=progress, final=final)
        return self._fanout.send(self._connections.in_workspace(workspace_id), message)

    def due(self, workspace_id: str, subject: str, progress: dict[str, Any], final: bool = False,
            change: bool = False) -> bool:
        """Whether the report goes out now (False: coalesced), noted as sent if so. A caller that sends it by
        other means (a change of status rides on its op: DocumentNews) asks this first."""
        now = time.monotonic()
        key = (workspace_id, subject, str(progress.get("status", "")))
        with self._lock:
            last = self._last.get(key)
            if not (final or change) and last is not None and now - last < self._min_interval:
                return False
            if final:  # the subject's reports end here: nothing of it is kept
                for done in [k for k in self._last if k[:2] == key[:2]]:
                    del self._last[done]
            elif change:
                self._last.pop(key, None)
            else:
                self._last[key] = now
        return True
