"""The connect attempts of a client's connection loop: how long each may take, the pause before the next, and
when a client that has never synced gives up.

Before the first sync a URL that is wrong or down would otherwise be retried in silence for ever (start()
never returned); once synced, an outage is waited out with backoff however long it lasts, since the replica
and the unanswered ops are worth keeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from websockets.exceptions import InvalidStatus

from kalexo_client.errors import Refused
from kalexo_client.events import Backoff
from kalexo_client.rest import error_of_body

TokenSource = str | Callable[[], str]


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


def judge_refused_upgrade(exc: InvalidStatus, token: TokenSource, used: str | None,
                          backoff: float) -> tuple[Refused | None, float | None]:
    """A refused upgrade is for good (401, 403, 404: the refusal to fail with) or for now (429, 5xx: the delay
    the server asked for, else `backoff`). A token function may have a better token than the one refused: for
    an expired one, or for a 401 when it now gives another (a local stack started afresh signs with a new key:
    `invalid_token`), so the client tries again."""
    response = exc.response
    code, message = error_of_body(response.body or b"", response.status_code)
    refresh = callable(token) and (code == "token_expired" or (response.status_code == 401 and token() != used))
    if response.status_code in (401, 403, 404) and not refresh:
        return Refused(code, message, response.status_code), None
    retry_after = response.headers.get("Retry-After")
    return None, float(retry_after) if retry_after and retry_after.isdigit() else backoff
