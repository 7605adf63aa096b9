"""The one error shape of the REST API: {"error": {"code": ..., "message": ...}} with the right status."""

from __future__ import annotations

from chalice.app import Response


def error_response(status: int, code: str, message: str) -> Response:
    return Response(status_code=status, body={"error": {"code": code, "message": message}},
                    headers={"Content-Type": "application/json"})
