"""In-memory twins of the project's ports, for unit tests."""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.ports import ConnectionGone


class FakeNotifier:
    def __init__(self, gone: set[str] | None = None) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.closed: list[str] = []
        self.gone = gone or set()

    def send(self, connection_id: str, data: bytes) -> None:
        if connection_id in self.gone:
            raise ConnectionGone(connection_id)
        self.sent.append((connection_id, data))

    def close(self, connection_id: str) -> None:
        self.closed.append(connection_id)


class InMemoryConnectionStore:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, str]] = {}

    def put(self, connection_id: str, user_id: str, attributes: Mapping[str, str]) -> None:
        self.rows[connection_id] = {"user_id": user_id, **attributes}

    def delete(self, connection_id: str) -> None:
        self.rows.pop(connection_id, None)


class InMemoryUploadLog:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str, str], tuple[int, str]] = {}

    def record(self, bucket: str, key: str, version_id: str, size: int, etag: str) -> bool:
        if (bucket, key, version_id) in self.items:
            return False
        self.items[(bucket, key, version_id)] = (size, etag)
        return True
