"""Opening and closing websocket connections: who may connect, and the row that says they did."""

from __future__ import annotations

from chalicelib.auth.tokens import TokenService
from chalicelib.domain.principal import Principal
from chalicelib.ports import ConnectionStore


class ConnectionService:
    def __init__(self, tokens: TokenService, store: ConnectionStore) -> None:
        self._tokens = tokens
        self._store = store

    def connect(self, connection_id: str, token: str | None, source_ip: str) -> Principal:
        """Verify the token (AuthError refuses the upgrade), then record the connection."""
        principal = self._tokens.verify(token)
        self._store.put(connection_id, principal.user_id,
                        {"account_id": principal.account_id, "source_ip": source_ip})
        return principal

    def disconnect(self, connection_id: str) -> None:
        self._store.delete(connection_id)
