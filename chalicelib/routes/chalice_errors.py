"""Chalice answers some requests itself (unsupported media type, unhandled exceptions, a method the path does
not have) with its own error body {"Code", "Message"}; this middleware rewrites those into the API's one error
shape, keeping their headers (a 405's `Allow`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chalice.app import Response

from chalicelib.routes.errors import error_response


def _snake(code: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", code).lower()


def error_shape_middleware(event: Any, get_response: Callable[[Any], Response]) -> Response:
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and {"Code", "Message"} <= set(body):
        shaped = error_response(response.status_code, _snake(str(body["Code"])), str(body["Message"]))
        shaped.headers = {**response.headers, **shaped.headers}
        return shaped
    return response
