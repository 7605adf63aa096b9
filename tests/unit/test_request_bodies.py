"""How the REST API reads a request before any route sees it (chalicelib/routes/api.py `_body`, `_query`).

A body: strict JSON, a size limit, the operation's schema; and no body the same as a body of only whitespace, so
`curl -d ' '` is told what `curl -X POST` is (the body must be an object), not that it is not JSON. An integer
field takes an integer as written: 1000.0 or 1e3 is refused (JSON Schema would take them as whole numbers).

A query string: only the operation's parameters, each once, integers within their bounds, strings within their
length. A parameter given twice is refused: Chalice keeps the last value, so `type=upload.&type=document.` would
otherwise filter by one of the two without a word."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.app import MultiDict

from chalicelib.domain.errors import BadRequest, PayloadTooLarge
from chalicelib.routes.api import MAX_BODY_BYTES, Operation, Param, _body, _query
from chalicelib.routes.schemas import PLAN, USER_ROLE, WORKSPACE_ROLE

SCHEMA: dict[str, Any] = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 10}},
                          "additionalProperties": False}
OP = Operation("PATCH", "/test/bodies", "a test operation", "test", 200, True, (), SCHEMA, None, "test_bodies")


def refusal(raw: bytes | str | None) -> tuple[str, str]:
    with pytest.raises(BadRequest) as caught:
        _body(OP, raw)
    return caught.value.code, str(caught.value)


def test_an_object_the_schema_allows_is_the_body() -> None:
    assert _body(OP, b' {"name": "plans"} \n') == {"name": "plans"}
    assert _body(OP, '{"name": "plans"}') == {"name": "plans"}


@pytest.mark.parametrize("blank", [b" ", b"\n", b" \t\r\n ", "  "])
def test_a_body_of_only_whitespace_is_answered_as_no_body(blank: bytes | str) -> None:
    absent = refusal(None)
    assert absent == refusal(b"")
    assert absent[0] == "bad_body"  # the schema's answer: the body must be an object
    assert refusal(blank) == absent


@pytest.mark.parametrize(("raw", "said"), [(b"NaN", "NaN"), (b'{"name": Infinity}', "Infinity"),
                                           (b"{", "Expecting"), (b" x ", "Expecting")])
def test_text_that_is_not_strict_json_is_bad_json(raw: bytes, said: str) -> None:
    code, message = refusal(raw)
    assert code == "bad_json" and said in message, message


def test_a_body_the_schema_refuses_is_bad_body() -> None:
    code, message = refusal(b'{"name": "a name far too long"}')
    assert code == "bad_body" and "name" in message, message


@pytest.mark.parametrize(("body", "said"), [
    ({"size": 0}, "size must be at least 1"), ({"size": 11}, "size must be at most 10"),
    ({"size": 1, "filename": ""}, "filename must not be empty"),
    ({"size": 1, "filename": "x" * 300}, "filename must be at most 255 characters long"),
    ({"size": 1, "role": "boss"}, "role must be one of: editor, viewer"),
    ({"size": "1"}, "size must be an integer"), ({}, "the body must have size"),
    ({"size": 1, "extra": 1}, "the body has fields this request does not take: extra")])
def test_a_refusal_names_the_field_and_its_limit_in_plain_words(body: dict[str, Any], said: str) -> None:
    """An outside tester saw "size: data.size must be bigger than or equal to 1" shown to a person as is."""
    op = Operation("POST", "/test/limits", "a test operation", "test", 200, True, (), {
        "type": "object", "required": ["size"], "additionalProperties": False, "properties": {
            "size": {"type": "integer", "minimum": 1, "maximum": 10},
            "filename": {"type": "string", "minLength": 1, "maxLength": 255},
            "role": {"enum": ["editor", "viewer"]}}}, None, "test_limits")
    with pytest.raises(BadRequest) as caught:
        _body(op, json.dumps(body))
    assert caught.value.code == "bad_body" and str(caught.value).endswith(said), str(caught.value)
    assert "data." not in str(caught.value) and "bigger than" not in str(caught.value)


def test_a_body_over_the_limit_is_413_before_it_is_parsed() -> None:
    with pytest.raises(PayloadTooLarge):
        _body(OP, b" " * (MAX_BODY_BYTES + 1))


def test_a_route_that_reads_no_body_refuses_one_over_the_limit_too() -> None:
    """A tester's GET carrying 100 KiB was answered as if it carried nothing; an empty or small one still is."""
    get = Operation("GET", "/test/reads", "a test operation", "test", 200, True, (), None, None, "test_reads")
    with pytest.raises(PayloadTooLarge):
        _body(get, b"x" * (MAX_BODY_BYTES + 1))
    assert _body(get, None) == {} and _body(get, b"") == {} and _body(get, b"ignored") == {}


QUERY_PARAMS = (Param("type", "a type", max_length=10), Param("limit", "how many", "integer", minimum=1, maximum=100))
QUERY_OP = Operation("GET", "/test/queries", "a test operation", "test", 200, True, QUERY_PARAMS, None, None,
                     "test_queries")


def query_refusal(raw: MultiDict | dict[str, str]) -> str:
    with pytest.raises(BadRequest) as caught:
        _query(QUERY_OP, raw)
    assert caught.value.code == "bad_query"
    return str(caught.value)


def test_each_parameter_once_is_read_and_typed() -> None:
    assert _query(QUERY_OP, MultiDict({"type": ["upload."], "limit": ["5"]})) == {"type": "upload.", "limit": 5}
    assert _query(QUERY_OP, None) == {}


def test_a_parameter_given_twice_is_refused_by_name() -> None:
    said = query_refusal(MultiDict({"type": ["upload.", "document."], "limit": ["5"]}))
    assert "type" in said and "limit" not in said
    assert "limit" in query_refusal(MultiDict({"limit": ["5", "5"]}))  # even the same value twice


@pytest.mark.parametrize(("raw", "said"), [({"surprise": "1"}, "surprise"), ({"limit": "0"}, "between"),
                                           ({"limit": "x"}, "integer"), ({"type": "a" * 11}, "1 to 10")])
def test_other_bad_queries_say_what_is_wrong(raw: dict[str, str], said: str) -> None:
    assert said in query_refusal(raw)


NUMBERS: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {
    "size": {"type": "integer", "minimum": 0}, "ratio": {"type": "number"},
    "limits": {"type": "object", "additionalProperties": {"type": ["integer", "null"]}},
    "pages": {"type": "array", "items": {"type": "integer"}}, "settings": {"type": "object"}}}
NUMBERS_OP = Operation("PATCH", "/test/numbers", "a test operation", "test", 200, True, (), NUMBERS, None,
                       "test_numbers")


@pytest.mark.parametrize(("raw", "where"), [
    (b'{"size": 1e3}', "size"), (b'{"size": 1000.0}', "size"), (b'{"size": 1e30}', "size"),
    (b'{"limits": {"pages": 5.0}}', "limits.pages"), (b'{"limits": {"pages": -0.0}}', "limits.pages"),
    (b'{"pages": [1, 2.0]}', "pages[1]")])
def test_an_integer_written_with_a_fraction_or_exponent_is_refused_by_where_it_is(raw: bytes, where: str) -> None:
    with pytest.raises(BadRequest) as caught:
        _body(NUMBERS_OP, raw)
    assert caught.value.code == "bad_body" and str(caught.value).startswith(f"{where} must be an integer")


def test_numbers_the_schema_does_not_call_integers_keep_how_they_were_written() -> None:
    body = _body(NUMBERS_OP, b'{"size": 1000, "ratio": 2.0, "settings": {"grid": 10.0}, "limits": {"p": 3}}')
    assert body == {"size": 1000, "ratio": 2.0, "settings": {"grid": 10.0}, "limits": {"p": 3}}
    assert isinstance(body["ratio"], float) and isinstance(body["settings"]["grid"], float)


@pytest.mark.parametrize(("schema", "value", "code"), [(PLAN, "gold", "bad_plan"), (USER_ROLE, "god", "bad_role"),
                                                       (WORKSPACE_ROLE, "superuser", "bad_role"),
                                                       (WORKSPACE_ROLE, 5, "bad_role"), (PLAN, "team", None)])
def test_a_role_or_plan_the_api_does_not_have_has_its_own_code(schema: dict[str, Any], value: Any,
                                                               code: str | None) -> None:
    """docs/errors.md names `bad_role` and `bad_plan`; an outside tester got `bad_body` for both."""
    op = Operation("PUT", f"/test/role/{code}/{value}", "a test operation", "test", 200, True, (), {
        "type": "object", "additionalProperties": False, "properties": {"value": schema}}, None,
        "test_role")  # its own path: validators are kept per method and path
    if code is None:
        assert _body(op, json.dumps({"value": value})) == {"value": value}
        return
    with pytest.raises(BadRequest) as caught:
        _body(op, json.dumps({"value": value}))
    assert caught.value.code == code, (caught.value.code, str(caught.value))
    assert "must be" in str(caught.value)
