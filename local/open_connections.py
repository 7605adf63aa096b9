"""The websocket connections the local gateway holds, kept on disk so that a restart can end them as API Gateway
would: with a $disconnect each. A stop (Ctrl-C, or a kill) closes every socket without one, while the stack's
data survives; a connection whose $disconnect never ran keeps its row, its presence, and the usage metered at
$disconnect (connection time, messages routed), which an outside tester found missing from the account's
month after a restart. The next start sends each left-over connection its $disconnect (1006), dated when the
gateway was last known to be running, so the time it is billed for stops there.

One small JSON file a connection (written as it opens, removed once its $disconnect has run), and a heartbeat
file whose modification time the gateway refreshes while it runs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from local.ws_events import ConnectionInfo

HEARTBEAT = ".alive"
HEARTBEAT_EVERY_S = 5.0


class OpenConnections:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def opened(self, info: ConnectionInfo) -> None:
        record = {"connection_id": info.connection_id, "source_ip": info.source_ip, "user_agent": info.user_agent,
                  "connected_at_ms": info.connected_at_ms}
        (self.folder / f"{info.connection_id}.json").write_text(json.dumps(record))

    def closed(self, connection_id: str) -> None:
        (self.folder / f"{connection_id}.json").unlink(missing_ok=True)

    def beat(self) -> None:
        """The gateway is running now (a kill -9 leaves the last beat as the moment it stopped)."""
        path = self.folder / HEARTBEAT
        path.touch()
        os.utime(path)

    def left_over(self) -> tuple[list[ConnectionInfo], int]:
        """The connections a previous run held when it stopped, and when it was last running (epoch ms)."""
        beat = self.folder / HEARTBEAT
        ended_ms = int((beat.stat().st_mtime if beat.exists() else time.time()) * 1000)
        found = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                record = json.loads(path.read_text())
                found.append(ConnectionInfo(str(record["connection_id"]), str(record.get("source_ip", "")),
                                            str(record.get("user_agent", "")), int(record["connected_at_ms"])))
            except (OSError, ValueError, KeyError, TypeError):
                path.unlink(missing_ok=True)  # half written when the gateway died: nothing to end
        return found, ended_ms
