"""The connect attempts of a client's connection loop: how long each may take, the pause before the next, and
when a client that has never synced gives up.

Before the first sync a URL that is wrong or down would otherwise be retried in silence for ever (start()
never returned); once synced, an outage is waited out with backoff however long it lasts, since the replica
and the unanswered ops are worth keeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kalexo_client.events import Backoff


def connect_url(url: str, token: str, workspace: str) -> str:
    """The websocket URL with the token and the workspace in its query (never show it: wire.redact)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), ("token", token), ("workspace", workspace)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


@dataclass
class Attempts:
    backoff: Backoff
    open_timeout: float
    deadline: float | None  # seconds from `started` (before the first sync only)
    limit: int | None  # failed attempts (before the first sync only)
    started: float  # loop time
    attempt: int = 0  # since the last connection that synced: the backoff's step
    failures: int = 0

    def timeout(self, now: float, synced: bool) -> float:
        """How long this attempt's opening handshake may take: never past the deadline."""
        if synced or self.deadline is None:
            return self.open_timeout
        return max(0.1, min(self.open_timeout, self.started + self.deadline - now))

    def failed(self, now: float, synced: bool) -> bool:
        """Count a failed attempt; True when the client should give up."""
        self.failures += 1
        if synced:
            return False
        return (self.limit is not None and self.failures >= self.limit) or (
            self.deadline is not None and now - self.started >= self.deadline)

    def pause(self, asked: float | None, now: float, synced: bool) -> float:
        """Seconds before the next attempt: what the server asked for, or the backoff's; before the first sync
        never past the deadline, so the last attempt is made at it."""
        pause = asked if asked is not None else self.backoff.delay(self.attempt)
        self.attempt += 1
        if synced or self.deadline is None:
            return pause
        return min(pause, max(0.0, self.started + self.deadline - now))
