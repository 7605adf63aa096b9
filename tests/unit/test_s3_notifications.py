import json

import pytest

from chalicelib.domain.s3_notifications import MalformedNotification, parse_notification


def record(key: str, event: str = "ObjectCreated:Put", version: str | None = "v1") -> dict:
    obj = {"key": key, "size": 12, "eTag": "abc", "sequencer": "01"}
    if version:
        obj["versionId"] = version
    return {"eventName": event, "eventTime": "2026-11-26T08:00:00Z",
            "s3": {"bucket": {"name": "docs"}, "object": obj}}


def test_every_record_is_read_and_keys_are_url_decoded():
    body = json.dumps({"Records": [record("workspaces/w1/My+Drawing%281%29.pdf"),
                                   record("workspaces%2Fw2%2Fa.png", version=None)]})
    created = parse_notification(body)
    assert [c.key for c in created] == ["workspaces/w1/My Drawing(1).pdf", "workspaces/w2/a.png"]
    assert created[0].version_id == "v1"
    assert created[1].version_id == "null"
    assert created[0].size == 12


def test_test_event_yields_nothing():
    assert parse_notification(json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})) == []


def test_other_event_types_are_skipped():
    body = json.dumps({"Records": [record("a", event="ObjectRemoved:Delete"), record("b")]})
    assert [c.key for c in parse_notification(body)] == ["b"]


@pytest.mark.parametrize("body", ["not json", "[]", json.dumps({"Records": "x"}), json.dumps({}),
                                  json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {}}]})])
def test_malformed_messages_are_refused(body):
    with pytest.raises(MalformedNotification):
        parse_notification(body)
