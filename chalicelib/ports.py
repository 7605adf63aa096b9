"""The outside things the services depend on, as small Protocols.

Adapters in chalicelib/adapters implement them for AWS; tests hand the services in-memory twins.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from chalicelib.domain.health import ComponentHealth


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

    def put(self, connection_id: str, user_id: str, attributes: Mapping[str, str]) -> None: ...

    def delete(self, connection_id: str) -> None: ...


class UploadLog(Protocol):
    """Where object-created notifications for the documents bucket are recorded."""

    def record(self, bucket: str, key: str, version_id: str, size: int, etag: str) -> bool:
        """Record one object version; False when it was already recorded (a redelivery)."""


class HealthProbe(Protocol):
    """Checks one component and reports its state; never raises."""

    name: str

    def check(self) -> ComponentHealth: ...
