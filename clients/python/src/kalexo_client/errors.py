"""What can go wrong, split the way a caller acts on it: refused (do not retry as is) or failed (may retry)."""

from __future__ import annotations


class KalexoError(Exception):
    """Every error this package raises."""


class Refused(KalexoError):
    """The service said no: a 4xx answer, or an op or join refused with an error code. Retrying as is will not help."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{code}: {message}" if status is None else f"{code}: {message} (HTTP {status})")
        self.code = code
        self.message = message
        self.status = status


class ApiError(Refused):
    """A REST answer with an error body (`{"error": {"code", "message"}}`); `status` is its HTTP status."""

    def __init__(self, status: int, code: str, message: str, retry_after: float | None = None) -> None:
        super().__init__(code, message, status)
        self.retry_after = retry_after


class OpRefused(Refused):
    """An op the server refused (`item_exists`, `role_too_low`, `bad_op`, ...): it was not stored."""

    def __init__(self, code: str, message: str, op_id: str) -> None:
        super().__init__(code, message)
        self.op_id = op_id


class Failed(KalexoError):
    """The service could not be reached or failed (network, 5xx, timeouts): the same request may work later."""


class ServerError(Failed):
    """A 5xx answer (or an answer that is not the API's JSON)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class ClientClosed(KalexoError):
    """The websocket client was closed (by `close()`, or because the server refused it for good)."""


class LocalRefusal(Refused, ValueError):
    """A message this client refuses to send, before it reaches the server: `op_too_large` (over the gateway's
    32 KB frame) or `bad_value` (NaN or Infinity). Also a ValueError, as it was before it had a code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)
