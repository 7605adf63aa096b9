"""How every REST route is declared: `@api(bp, "GET", "/path", ...)` registers the route with Chalice and its
operation with the OpenAPI document, validates query and body, authenticates the caller, and maps every
error to the one error shape. Route functions receive an ApiCall and return a JSON-able value."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from chalice.app import Blueprint, MultiDict, Response

from chalicelib.container import get_container
from chalicelib.domain import strict_json
from chalicelib.domain.errors import ApiError, BadRequest, PayloadTooLarge
from chalicelib.routes.errors import error_response

if TYPE_CHECKING:
    from chalicelib.services.access import Actor

MAX_BODY_BYTES = 64 * 1024


# The route layer's records are NamedTuples and a plain class, not dataclasses: every function imports this layer,
# and creating a frozen dataclass (compiling its methods) costs about 0.6 ms at each cold start, a NamedTuple a
# fifth of that.
class Param(NamedTuple):
    """One query parameter of a REST operation, and its schema."""
    name: str
    description: str
    type: str = "string"  # "string" or "integer"
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 200

    def schema(self) -> dict[str, Any]:
        if self.type == "integer":
            bounds = {k: v for k, v in (("minimum", self.minimum), ("maximum", self.maximum)) if v is not None}
            return {"type": "integer", **bounds}
        return {"type": "string", "minLength": 1, "maxLength": self.max_length}


PAGING = (Param("limit", "page size (default 25)", "integer", 1, 100),
          Param("cursor", "next_cursor from the previous page", max_length=2000))


class Operation(NamedTuple):
    """One REST operation as registered: route, OpenAPI summary, schemas, status and whether it authenticates."""
    method: str
    path: str
    summary: str
    tag: str
    status: int
    auth: bool
    query: tuple[Param, ...]
    body: dict[str, Any] | None
    response: dict[str, Any] | None
    name: str


OPERATIONS: list[Operation] = []


class ApiCall:
    """What a REST route function receives: the caller, path and query parameters, and the validated body."""

    __slots__ = ("actor", "body", "path", "query", "route")

    def __init__(self, actor: Actor, path: dict[str, str], query: dict[str, Any], body: dict[str, Any] | None = None,
                 route: str = "") -> None:
        self.actor = actor
        self.path = path
        self.query = query
        self.body = body if body is not None else {}
        self.route = route

    @property
    def limit(self) -> int:
        return int(self.query.get("limit") or 25)

    @property
    def cursor_scope(self) -> str:
        """What a cursor is valid for: this route, these parameters, this caller."""
        filters = sorted((k, str(v)) for k, v in self.query.items() if k not in ("cursor", "limit"))
        return json.dumps([self.route, sorted(self.path.items()), filters, self.actor.user_id])

    def start(self) -> dict[str, Any] | None:
        return get_container().cursors.decode(self.query.get("cursor"), self.cursor_scope)

    def page(self, items: list[Any], next_key: dict[str, Any] | None) -> dict[str, Any]:
        return {"items": items, "next_cursor": get_container().cursors.encode(next_key, self.cursor_scope)}


def _query(op: Operation, raw: MultiDict | dict[str, str] | None) -> dict[str, Any]:
    raw = raw or {}
    known = {p.name: p for p in op.query}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)}", code="bad_query")
    # Chalice keeps a repeated parameter's last value: `type=upload.&type=document.` would filter by one of them
    # without a word. Every parameter here takes one value, so a repeat is refused.
    repeated = sorted(name for name in raw if isinstance(raw, MultiDict) and len(raw.getlist(name)) > 1)
    if repeated:
        raise BadRequest(f"query parameter(s) given more than once: {', '.join(repeated)}; give each once",
                         code="bad_query")
    values: dict[str, Any] = {}
    for name, text in raw.items():
        param = known[name]
        if param.type == "integer":
            try:
                value: Any = int(text)
            except ValueError as exc:
                raise BadRequest(f"{name} must be an integer", code="bad_query") from exc
            if (param.minimum is not None and value < param.minimum) or (
                    param.maximum is not None and value > param.maximum):
                raise BadRequest(f"{name} must be between {param.minimum} and {param.maximum}", code="bad_query")
        else:
            value = text
            if not 0 < len(value) <= param.max_length:
                raise BadRequest(f"{name} must be 1 to {param.max_length} characters", code="bad_query")
        values[name] = value
    return values


def _body(op: Operation, raw: str | bytes | None) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = raw.encode()
    # Refused on every route, those that read no body too: a GET carrying megabytes is no client's mistake.
    if raw is not None and len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request bodies are limited to {MAX_BODY_BYTES} bytes")
    if op.body is None:
        return {}
    try:
        # No body and a body of only whitespace (`curl -d ' '`) are the same absent body, answered alike.
        body = strict_json.loads((raw or b"").strip() or b"null")  # no NaN or Infinity, bounded nesting
    except strict_json.JsonRefused as exc:
        raise BadRequest(f"the body is not JSON this API accepts: {exc}", code="bad_json") from exc
    from fastjsonschema import JsonSchemaValueException  # loaded by the first request with a body, not at import

    try:
        _validator(op)(body)
    except JsonSchemaValueException as exc:
        raise BadRequest(_said_plainly(exc), code=_code_of(exc)) from exc
    _whole_numbers(op.body, body, "")
    return dict(body)


def _code_of(exc: Any) -> str:
    """`bad_body`, or the code the refused value's schema names (a role or plan the API does not have)."""
    definition = exc.definition if isinstance(exc.definition, dict) else {}
    return str(definition.get("x-error-code") or "bad_body")


def _said_plainly(exc: Any) -> str:
    """The schema's refusal in the words a person reads in a client (an outside tester saw "size: data.size must
    be bigger than or equal to 1" shown as is): the field by its name, the limit as a limit."""
    where = ".".join(str(p) for p in exc.path[1:]) or "the body"
    rule, limit = exc.rule, exc.rule_definition
    if rule == "pattern" and isinstance(exc.definition, dict) and exc.definition.get("description"):
        return f"{where} must be {exc.definition['description']}"  # the pattern's own words, not its regex
    plain = {"minimum": f"must be at least {limit}", "maximum": f"must be at most {limit}",
             "exclusiveMinimum": f"must be more than {limit}", "exclusiveMaximum": f"must be less than {limit}",
             "minLength": "must not be empty" if limit == 1 else f"must be at least {limit} characters long",
             "maxLength": f"must be at most {limit} characters long",
             "minItems": f"must list at least {limit}", "maxItems": f"must list at most {limit}"}
    if rule in plain:
        return f"{where} {plain[rule]}"
    if rule == "enum" and isinstance(limit, list):
        return f"{where} must be one of: {', '.join(str(v) for v in limit)}"
    if rule == "type":
        kinds = limit if isinstance(limit, list) else [limit]
        return f"{where} must be {' or '.join(_A.get(str(k), str(k)) for k in kinds)}"
    if rule == "required" and isinstance(exc.value, dict):
        return f"{where} must have {', '.join(k for k in limit if k not in exc.value)}"
    if rule == "additionalProperties" and isinstance(exc.value, dict) and isinstance(exc.definition, dict):
        extra = sorted(set(exc.value) - set(exc.definition.get("properties", {})))
        return f"{where} has fields this request does not take: {', '.join(extra)}"
    return str(exc.message).replace("data.", "", 1).replace("data ", f"{where} ", 1)


_A = {"integer": "an integer", "string": "a string", "object": "an object", "array": "a list", "number": "a number",
      "boolean": "true or false", "null": "null"}


def _whole_numbers(schema: Any, value: Any, where: str) -> None:
    """JSON Schema takes 1000.0 and 1e30 for an integer (their values are whole), and they would be stored as
    floats: 1e30 echoed as 1e+30, read back as 31 digits, past the 2^53 every integer sent as one is held to.
    Where the schema says integer, the number must be written as one."""
    if not isinstance(schema, dict):
        return
    kinds = schema.get("type")
    integer = kinds == "integer" or (isinstance(kinds, list) and "integer" in kinds and "number" not in kinds)
    if integer and isinstance(value, float):
        raise BadRequest(f"{where or 'body'} must be an integer written without a fraction or exponent "
                         f"(got {value!r})", code="bad_body")
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key, item in value.items():
            _whole_numbers(properties.get(key, schema.get("additionalProperties")), item,
                           f"{where}.{key}" if where else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _whole_numbers(schema.get("items"), item, f"{where}[{index}]")


_VALIDATORS: dict[str, Callable[[Any], Any]] = {}


def _validator(op: Operation) -> Callable[[Any], Any]:
    """Compiled once per operation, on first use. Powertools' validate() (the same library underneath)
    compiles the schema on every call: about 2 ms a request."""
    key = f"{op.method} {op.path}"
    if key not in _VALIDATORS:
        import fastjsonschema

        _VALIDATORS[key] = fastjsonschema.compile(op.body or True)
    return _VALIDATORS[key]


def bearer_token(headers: Any) -> str | None:
    header = headers.get("authorization", "") or ""
    return header[7:].strip() or None if header.lower().startswith("bearer ") else None


def _refuse_unauthenticated(container: Any, request: Any, error: ApiError) -> Response:
    """401, recorded in the event log (collapsed); past a budget per source address, shared with websocket
    connects, 429 and nothing recorded (services/auth_failures.py)."""
    source_ip = (request.context or {}).get("identity", {}).get("sourceIp", "")
    refusal = container.auth_failures.refuse(error, source_ip, "rest", path=request.path)
    response = error_response(refusal.status, refusal.code, refusal.message)
    if refusal.retry_after is not None:
        response.headers["Retry-After"] = str(refusal.retry_after)
    return response


def api(bp: Blueprint, method: str, path: str, summary: str, tag: str, *, status: int = 200, auth: bool = True,
        query: tuple[Param, ...] = (), body: dict[str, Any] | None = None,
        response: dict[str, Any] | None = None) -> Callable[[Callable[[ApiCall], Any]], Callable[[ApiCall], Any]]:
    def decorator(fn: Callable[[ApiCall], Any]) -> Callable[[ApiCall], Any]:
        op = Operation(method, path, summary, tag, status, auth, query, body, response, fn.__name__)
        OPERATIONS.append(op)

        def view(**path_params: str) -> Response:
            request = bp.current_request
            container = get_container()
            try:
                token = bearer_token(request.headers)
                actor = container.access.authenticate(token) if auth else None
                if actor is not None and container.rate_limiter is not None:
                    retry_after = container.rate_limiter.allow(actor.user_id)
                    if retry_after is not None:
                        response = error_response(429, "too_many_requests",
                                                  f"too many requests; retry in {retry_after} s")
                        response.headers["Retry-After"] = str(retry_after)
                        return response
                call = ApiCall(actor, path_params, _query(op, request.query_params),  # type: ignore[arg-type]
                               _body(op, request.raw_body), f"{method} {path}")
                result = fn(call)
            except ApiError as exc:
                if exc.status == 401:
                    return _refuse_unauthenticated(container, request, exc)
                return error_response(exc.status, exc.code, exc.message)
            if status == 204:
                return Response(status_code=204, body="")
            # Written strictly (no NaN or Infinity), as the websocket API writes.
            return Response(status_code=status, body=strict_json.dumps(result),
                            headers={"Content-Type": "application/json"})

        view.__name__ = fn.__name__
        # These content types reach the view, which parses the body as JSON whatever the header says and
        # answers in the API's own error shape. Not application/octet-stream: it is a binary type, and
        # `chalice deploy` refuses a route that mixes binary and text types (tests/unit/test_chalice_validation.py).
        bp.route(path, methods=[method], cors=True,
                 content_types=["application/json", "text/plain", "application/x-www-form-urlencoded"])(view)
        return fn

    return decorator
