import json

import pytest

from chalicelib.domain.envelopes import (
    MAX_MESSAGE_BYTES,
    ProtocolError,
    error_message,
    parse_client_message,
    server_message,
)


def test_parses_action_id_and_payload_and_the_id_keeps_its_type():
    message = parse_client_message(json.dumps({"action": "chat", "id": 7, "text": "hi"}))
    assert (message.action, message.request_id, message.payload) == ("chat", 7, {"text": "hi"})
    assert json.loads(server_message("ack", message.request_id))["id"] == 7
    assert parse_client_message(json.dumps({"action": "chat", "id": "7"})).request_id == "7"


@pytest.mark.parametrize(("raw", "code"), [
    (None, "empty_message"), ("", "empty_message"), ("{not json", "bad_json"), ("[1]", "bad_envelope"),
    (json.dumps({"id": "1"}), "bad_envelope"), (json.dumps({"action": ""}), "bad_envelope"),
    (json.dumps({"action": "x", "id": {"a": 1}}), "bad_envelope"),
    (json.dumps({"action": "x", "id": True}), "bad_envelope"),
    (json.dumps({"action": "x", "id": "i" * 65}), "bad_envelope"),
    (json.dumps({"action": "x", "id": 2**53}), "bad_json"),  # past 2^53 - 1: a browser would round it
    ('{"action": "x", "n": 1e400}', "bad_json"), ('{"action": "x", "action": "y"}', "bad_json"),
    ('{"action": "x", "t": "\\ud800"}', "bad_json"),
    (b"\xff\xfe", "bad_json"),
    ('{"action": "x", "v": NaN}', "bad_json"), ('{"action": "x", "v": -Infinity}', "bad_json"),
    ('{"action": "x", "v": ' + "[" * 33 + "]" * 33 + "}", "bad_json"),
    ('{"action": "x", "v": ' + "[" * 30000 + "]" * 30000 + "}", "bad_json"),
])
def test_refusals_carry_codes(raw, code):
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(raw)
    assert caught.value.code == code


def test_missing_action_keeps_the_request_id_for_the_reply():
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(json.dumps({"id": "r9"}))
    assert json.loads(error_message(caught.value))["id"] == "r9"


def test_oversized_message_is_refused_before_parsing():
    raw = json.dumps({"action": "chat", "text": "x" * MAX_MESSAGE_BYTES})
    with pytest.raises(ProtocolError) as caught:
        parse_client_message(raw)
    assert caught.value.code == "message_too_large"


def test_server_message_echoes_request_id_only_when_given():
    assert json.loads(server_message("pong", "a1")) == {"action": "pong", "id": "a1"}
    assert "id" not in json.loads(server_message("pong"))


def test_the_server_never_writes_nan():
    with pytest.raises(ValueError):
        server_message("op", value=float("nan"))
