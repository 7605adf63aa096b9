"""How the REST API reads a request body before any route sees it (chalicelib/routes/api.py `_body`): strict JSON,
a size limit, the operation's schema; and no body the same as a body of only whitespace, so `curl -d ' '` is
told what `curl -X POST` is (the body must be an object), not that it is not JSON."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import BadRequest, PayloadTooLarge
from chalicelib.routes.api import MAX_BODY_BYTES, Operation, _body

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


def test_a_body_over_the_limit_is_413_before_it_is_parsed() -> None:
    with pytest.raises(PayloadTooLarge):
        _body(OP, b" " * (MAX_BODY_BYTES + 1))
