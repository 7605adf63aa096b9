"""Domain errors: each carries the HTTP status and code the API answers with, so every route maps them the
same way to {"error": {"code": ..., "message": ...}}."""

from __future__ import annotations


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class BadRequest(ApiError):
    status, code = 400, "bad_request"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class Forbidden(ApiError):
    status, code = 403, "forbidden"


class NotFound(ApiError):
    """Also the answer for another tenant's resources: their existence is not disclosed."""

    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class NotAcceptable(ApiError):
    status, code = 406, "not_acceptable"


class PayloadTooLarge(ApiError):
    status, code = 413, "payload_too_large"


class QuotaExceeded(ApiError):
    status, code = 403, "quota_exceeded"


class TooManyRequests(ApiError):
    status, code = 429, "too_many_requests"

    def __init__(self, message: str, code: str | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after  # seconds, sent as Retry-After
