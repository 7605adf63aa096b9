"""405 Method Not Allowed with an `Allow` header (RFC 9110 15.5.6), and HEAD wherever GET is, the same on AWS
and locally.

API Gateway's REST API never invokes the function for a method a resource does not declare: it answers 403
`{"message": "Missing Authentication Token"}`. Chalice's local server does invoke it, and Chalice answers 405
with an `Allow` header. So every route's path also declares, for the methods its operations do not use, one
view that answers 405 and lists the methods the path has: API Gateway then routes those methods to the
function too, and both runtimes give the same answer. Methods outside this set (TRACE, CONNECT, ...) get API
Gateway's answer for an unknown path, 404 `not_found` (infra/gateway_responses.py; local/rest_server.py does
the same).
"""

from __future__ import annotations

from typing import Any

from chalice.app import Chalice, Response

from chalicelib.routes.errors import error_response

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
ANY_CONTENT = ["*/*"]  # the body is never read: a 415 must not come before the 405


def allowed_methods(entries: dict[str, Any]) -> list[str]:
    """What a path answers: its operations' methods, HEAD wherever GET is, and OPTIONS where CORS preflights
    are answered."""
    methods = sorted(set(entries) | ({"HEAD"} if "GET" in entries else set()))
    if any(entry.cors for entry in entries.values()) and "OPTIONS" not in methods:
        methods.append("OPTIONS")
    return methods


def _head_view(get_view: Any) -> Any:
    """HEAD where GET is (RFC 9110 9.3.2: a server that answers GET answers HEAD): the GET view runs, with the
    same checks of who asks, and its status and headers are sent without the body. Content-Length is left to
    the runtime (API Gateway sets it from the empty body; clients do not read it from a HEAD)."""

    def head(_get: Any = get_view, **path: str) -> Response:
        answer = _get(**path)
        if not isinstance(answer, Response):
            answer = Response(body=answer)
        headers = {k: v for k, v in (answer.headers or {}).items() if k.lower() != "content-length"}
        if isinstance(answer.body, dict) and "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        # Bytes for a binary answer (a tile): Chalice base64-encodes those and refuses a str.
        return Response(status_code=answer.status_code, body=b"" if isinstance(answer.body, bytes) else "",
                        headers=headers)

    return head


def answer_unsupported_methods(app: Chalice) -> None:
    """Call once every blueprint is registered."""
    for path, entries in list(app.routes.items()):
        allow = ", ".join(allowed_methods(entries))
        if "GET" in entries and "HEAD" not in entries:
            get = entries["GET"]
            # GET's CORS too: a page on another origin reads a HEAD's answer as it reads a GET's.
            app.route(path, methods=["HEAD"], cors=get.cors, content_types=ANY_CONTENT)(
                _head_view(get.view_function))
        missing = [m for m in METHODS if m not in app.routes[path]]
        if not missing:
            continue

        # Defaults, not a closure: the view holds no cells (tests/unit/test_policies.py follows those).
        def method_not_allowed(_allow: str = allow, _app: Chalice = app, **_path: str) -> Response:
            method = _app.current_request.method if _app.current_request else "HEAD"
            if method == "HEAD":  # no body: a HEAD answer's body would be read as the next answer
                return Response(status_code=405, body="", headers={"Allow": _allow})
            response = error_response(405, "method_not_allowed", f"{method} is not allowed here; allowed: {_allow}")
            response.headers["Allow"] = _allow
            return response

        # Without CORS: a browser's preflight keeps listing only the methods the path really has.
        app.route(path, methods=missing, cors=False, content_types=ANY_CONTENT)(method_not_allowed)
