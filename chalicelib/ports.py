"""The outside things the services depend on, as small Protocols.

Adapters in chalicelib/adapters implement them for AWS; tests hand the services in-memory twins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from chalicelib.domain.events import Event
from chalicelib.domain.health import ComponentHealth
from chalicelib.domain.tenancy import Account, Membership, User, Workspace


class ConnectionGone(Exception):
    """The websocket connection no longer exists (API Gateway answered 410 GoneException)."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(connection_id)
        self.connection_id = connection_id


class ConnectionNotifier(Protocol):
    """Pushes data to one open websocket connection."""

    def send(self, connection_id: str, data: bytes) -> None:
        """Deliver data; raise ConnectionGone when the connection no longer exists."""

    def close(self, connection_id: str) -> None:
        """Close the connection from the server side; a connection already gone is not an error."""


class ConnectionStore(Protocol):
    """Rows for open websocket connections."""

    def put(self, connection_id: str, user_id: str, workspace_id: str | None,
            attributes: Mapping[str, str]) -> None: ...

    def delete(self, connection_id: str) -> None: ...

    def get(self, connection_id: str) -> dict[str, Any] | None: ...

    def of_user(self, user_id: str, workspace_id: str | None = None) -> list[str]: ...

    def online_users(self, workspace_id: str) -> set[str]: ...

    def bind(self, connection_id: str, user_id: str, workspace_id: str | None) -> None: ...

    def in_workspace(self, workspace_id: str) -> list[str]: ...

    def present(self, workspace_id: str) -> list[dict[str, Any]]: ...

    def stale(self, workspace_id: str) -> list[dict[str, Any]]: ...

    def touch(self, connection_id: str, presence: dict[str, Any] | None = None) -> bool: ...

    def subscribe_events(self, connection_id: str, scope: str) -> None: ...

    def unsubscribe_events(self, connection_id: str) -> None: ...

    def event_subscribers(self, scope: str) -> list[str]: ...


class UploadLog(Protocol):
    """Where object-created notifications for the documents bucket are recorded."""

    def record(self, bucket: str, key: str, version_id: str, size: int, etag: str,
               account_id: str | None = None) -> bool:
        """Record one object version, metering its bytes for the account in the same write; False when it
        was already recorded (a redelivery)."""


class TenancyReader(Protocol):
    """The lookups on every request's path (served through a cache in production)."""

    def user(self, user_id: str) -> User | None: ...

    def account(self, account_id: str) -> Account | None: ...

    def workspace(self, workspace_id: str) -> Workspace | None: ...

    def membership(self, workspace_id: str, user_id: str) -> Membership | None: ...


class EventSink(Protocol):
    """Where events are recorded; recording never fails the action it records."""

    def record(self, event: Event) -> None: ...


class UsageMeter(Protocol):
    """Per-account usage counters (atomic increments)."""

    def add(self, account_id: str, counters: dict[str, int], at: float | None = None) -> None: ...


class Cache(Protocol):
    """Short-lived values for hot lookups; misses and outages fall back to the source of truth."""

    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes, ttl_seconds: int) -> None: ...

    def delete(self, key: str) -> None: ...


class HealthProbe(Protocol):
    """Checks one component and reports its state; never raises."""

    name: str

    def check(self) -> ComponentHealth: ...
